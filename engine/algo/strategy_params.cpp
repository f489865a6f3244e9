#include "algo/strategy_params.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "error.h"

namespace tidemark::engine {

StrategyParams::StrategyParams(const std::vector<ParamSpec>& specs) {
  for (const ParamSpec& p : specs) values_.emplace(p.name, p.default_value);
}

void StrategyParams::set(std::string_view name, double value) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    std::string known;
    for (const auto& [n, v] : values_) known += (known.empty() ? "" : ", ") + n;
    throw EngineError(fmt::format("unknown strategy parameter '{}' (this strategy has: {})", name, known));
  }
  it->second = value;
}

double StrategyParams::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw EngineError(fmt::format("strategy parameter '{}' is not declared", name));
  return it->second;
}

uint32_t StrategyParams::count(std::string_view name, uint32_t min) const {
  double v = get(name);
  if (v != std::floor(v) || v < min || v > 1e7)
    throw EngineError(
        fmt::format("strategy parameter '{}' must be a whole number of at least {}, got {}", name, min, v));
  return static_cast<uint32_t>(v);
}

std::pair<std::string, double> parseParamAssignment(std::string_view text) {
  size_t eq = text.find('=');
  double value = 0;
  if (eq != std::string_view::npos && eq > 0) {
    std::string_view v = text.substr(eq + 1);
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec == std::errc() && end == v.data() + v.size() && std::isfinite(value))
      return {std::string(text.substr(0, eq)), value};
  }
  throw EngineError(fmt::format("bad parameter '{}' (expected NAME=NUMBER)", text));
}

}  // namespace tidemark::engine
