// What a strategy acts through (zipline's `context` plus its order functions): orders, the
// portfolio, scheduling, the pipeline, its parameters and its random stream.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "algo/schedule.h"
#include "data/date.h"
#include "data/market.h"
#include "data/money.h"
#include "data/random.h"
#include "pipeline/factors.h"
#include "portfolio/ledger.h"

namespace tidemark::engine {

struct SimulationState;

class TradingContext {
 public:
  explicit TradingContext(SimulationState& state) : state_(state) {}

  // --- Orders: market orders that fill from the next bar, cancelled at the session's end.
  void order(AssetId asset, int64_t shares);
  // Orders whatever takes the position, counting open orders, to `shares`.
  void orderTarget(AssetId asset, int64_t shares);
  // Orders whatever takes the position to `fraction` of the portfolio value, at the last price.
  void orderTargetPercent(AssetId asset, double fraction);
  void cancelOpenOrders(AssetId asset);

  // --- Portfolio.
  Money cash() const;
  Money portfolioValue() const;
  int64_t position(AssetId asset) const;
  const std::map<AssetId, Position>& positions() const;

  // --- Set-up (initialize) and per-session inputs.
  void scheduleFunction(std::string name, ScheduledCallback fn, DateRule date, TimeRule time);
  void attachPipeline(const PipelineSpec& spec);
  // Today's row of the attached pipeline.
  std::span<const AssetId> pipelineTop() const;
  double pipelineValue(Factor factor, AssetId asset) const;

  // --- Environment.
  Date today() const;
  uint32_t session() const;
  double param(std::string_view name) const;
  Rng& rng();

 private:
  SimulationState& state_;
};

}  // namespace tidemark::engine
