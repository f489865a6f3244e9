#include "algo/strategy_registry.h"

#include <fmt/format.h>

#include "error.h"

namespace tidemark::engine {

const std::vector<StrategyInfo>& strategyRegistry() {
  static const std::vector<StrategyInfo> registry = {randomUniverseStrategy(), momentumStrategy(),
                                                     meanReversionStrategy(), buyAndHoldStrategy()};
  return registry;
}

const StrategyInfo& findStrategy(std::string_view name) {
  std::string names;
  for (const StrategyInfo& s : strategyRegistry()) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  throw EngineError(fmt::format("unknown strategy '{}' (one of: {})", name, names));
}

}  // namespace tidemark::engine
