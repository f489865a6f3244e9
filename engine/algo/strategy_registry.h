// The built-in strategies, by name, with their parameters and the bundle a run generates for them
// when none is given.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "algo/algorithm.h"
#include "algo/strategy_params.h"
#include "data/market.h"

namespace tidemark::engine {

struct StrategyInfo {
  std::string name;
  std::string description;
  // The bundle `run` generates when given none.
  Frequency bundle_frequency = Frequency::Daily;
  uint32_t bundle_assets = 500;
  uint32_t bundle_days = 252;  // simulated sessions; the warm-up comes on top
  bool needs_minute_bars = false;
  std::vector<ParamSpec> params;
  // Sessions of history the strategy reads before its first simulated session.
  std::function<uint32_t(const StrategyParams&)> warmup;
  std::function<std::unique_ptr<Algorithm>(const StrategyParams&)> make;
};

const std::vector<StrategyInfo>& strategyRegistry();
// Throws EngineError listing the strategies when there is none by that name.
const StrategyInfo& findStrategy(std::string_view name);

// Each strategy's description, defined beside it in algo/strategies/.
StrategyInfo randomUniverseStrategy();
StrategyInfo momentumStrategy();
StrategyInfo meanReversionStrategy();
StrategyInfo buyAndHoldStrategy();

}  // namespace tidemark::engine
