#include "algo/trading_context.h"

#include <fmt/format.h>

#include <cmath>

#include "error.h"
#include "algo/simulation_state.h"

namespace tidemark::engine {

void TradingContext::order(AssetId asset, int64_t shares) {
  if (shares == 0) return;
  if (index(asset) >= state_.bundle.assetCount()) throw EngineError(fmt::format("order: no asset {}", index(asset)));
  state_.blotter.place(asset, shares, state_.bar);
  ++state_.orders_today;
}

void TradingContext::orderTarget(AssetId asset, int64_t shares) {
  order(asset, shares - state_.ledger.shares(asset) - state_.blotter.openAmount(asset));
}

void TradingContext::orderTargetPercent(AssetId asset, double fraction) {
  Money price = state_.portal.lastPrice(asset);
  if (price.ticks() <= 0) return;  // never traded: nothing to size the order with
  double target_value = fraction * portfolioValue().dollars();
  orderTarget(asset, static_cast<int64_t>(std::trunc(target_value / price.dollars())));
}

void TradingContext::cancelOpenOrders(AssetId asset) { state_.blotter.cancelOpen(asset); }

Money TradingContext::cash() const { return state_.ledger.cash(); }
Money TradingContext::portfolioValue() const { return state_.ledger.portfolioValue(state_.portal); }
int64_t TradingContext::position(AssetId asset) const { return state_.ledger.shares(asset); }
const std::map<AssetId, Position>& TradingContext::positions() const { return state_.ledger.positions(); }

void TradingContext::scheduleFunction(std::string name, ScheduledCallback fn, DateRule date, TimeRule time) {
  if (!state_.initializing) throw EngineError("schedule_function is only allowed in initialize");
  state_.scheduler.add(std::move(name), std::move(fn), date, time);
}

void TradingContext::attachPipeline(const PipelineSpec& spec) {
  if (!state_.initializing) throw EngineError("attach_pipeline is only allowed in initialize");
  state_.pipeline = std::make_unique<PipelineEngine>(state_.bundle, spec, state_.run, state_.pipeline_first_chunk,
                                                     state_.pipeline_chunk);
}

std::span<const AssetId> TradingContext::pipelineTop() const {
  if (!state_.pipeline_today) throw EngineError("pipeline output asked for without an attached pipeline");
  return state_.pipeline_today->top(state_.portal.session());
}

double TradingContext::pipelineValue(Factor factor, AssetId asset) const {
  if (!state_.pipeline_today) throw EngineError("pipeline output asked for without an attached pipeline");
  return state_.pipeline_today->value(factor, state_.portal.session(), asset);
}

Date TradingContext::today() const { return state_.portal.today(); }
uint32_t TradingContext::session() const { return state_.portal.session(); }
double TradingContext::param(std::string_view name) const { return state_.params.get(name); }
Rng& TradingContext::rng() { return state_.rng; }

}  // namespace tidemark::engine
