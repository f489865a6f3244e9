#include "run/simulation.h"

#include <fmt/format.h>
#include <tidemark/marker.h>

#include "algo/strategy_registry.h"
#include "error.h"
#include "run/progress.h"
#include "algo/simulation_state.h"

namespace tidemark::engine {

std::unique_ptr<SlippageModel> makeSlippage(const SimulationConfig& c) {
  if (c.slippage == "volume-share")
    return std::make_unique<VolumeShareSlippage>(c.volume_limit > 0 ? c.volume_limit : 0.025, c.price_impact);
  if (c.slippage == "fixed-bps")
    return std::make_unique<FixedBasisPointsSlippage>(c.slippage_bps, c.volume_limit > 0 ? c.volume_limit : 0.1);
  throw EngineError(fmt::format("unknown slippage model '{}' (volume-share or fixed-bps)", c.slippage));
}

namespace {

class Simulation {
 public:
  Simulation(const Bundle& bundle, const SimulationConfig& config)
      : config_(config),
        state_(bundle, config.run, config.frequency, portalConfig(config), makeSlippage(config), config.commission,
               !config.faults.leak_cycles, config.capital, config.params, mix(config.seed ^ 0x73747261746567ull),
               config.pipeline_first_chunk, config.pipeline_chunk),
        context_(state_),
        progress_(config.progress, config.label, config.progress_interval),
        on_fill_([this](const Fill& f) {
          state_.ledger.apply(f);
          ++state_.fills_today;
        }) {}

  RunResult run(const StrategyInfo& info) {
    const Bundle& bundle = state_.bundle;
    const SessionRange range = config_.run;
    if (range.begin >= range.end || range.end > bundle.sessionCount())
      throw EngineError("the simulated range holds no session of the bundle");
    auto algorithm = info.make(state_.params);
    state_.initializing = true;
    algorithm->initialize(context_);
    state_.initializing = false;

    uint32_t spike_session = range.begin + range.size() / 2;
    if (config_.faults.spike_date) spike_session = bundle.calendar().firstOnOrAfter(*config_.faults.spike_date);
    StressScenarioMatrix spike;
    RunResult result;
    result.label = config_.label;
    for (const auto& [name, value] : state_.params.values()) result.params[name] = value;

    state_.portal.primeLastPrices(range.begin);
    // One daily record per session, known in advance: one allocation, not a vector doubling all run.
    state_.metrics.reserve(range.size());
    const bool minute = config_.frequency == Frequency::Minute;
    for (uint32_t s = range.begin; s < range.end; ++s) {
      char date[11];
      bundle.calendar().session(s).format(date);
      tidemark_mark(TIDEMARK_MARK_SIMULATION_DATE, date);
      if (spike.bytes()) spike.release();  // the spike lasts one session
      if (config_.faults.leak_per_day) {
        leakDailyScratch(config_.faults.leak_bytes_per_day);
        result.summary.leaked_bytes += config_.faults.leak_bytes_per_day;
      }
      if (config_.faults.spike && s == spike_session) {
        spike.build(config_.faults.spike_bytes, bundle.assetCount(), config_.seed);
        result.summary.spike_bytes = spike.bytes();
      }

      state_.portal.startSession(s);
      state_.scheduler.startSession(bundle.calendar(), s);
      state_.orders_today = state_.fills_today = 0;
      if (state_.pipeline) state_.pipeline_today = &state_.pipeline->outputFor(s);
      tidemark_mark(TIDEMARK_MARK_PHASE_BEGIN, "before_trading_start");
      algorithm->beforeTradingStart(context_, state_.portal);
      tidemark_mark(TIDEMARK_MARK_PHASE_END, "before_trading_start");

      const uint32_t bars = minute ? kMinutesPerSession : 1;
      for (uint32_t m = 0; m < bars; ++m) {
        state_.portal.advanceBar(m);
        ++state_.bar;
        state_.blotter.processBar(state_.bar, state_.portal, on_fill_);
        state_.scheduler.runDue(m, !minute, context_, state_.portal);
        algorithm->handleData(context_, state_.portal);
      }
      endOfSession(s);
    }
    spike.release();
    progress_.finish(figures());
    summarize(result);
    return result;
  }

 private:
  static DataPortalConfig portalConfig(const SimulationConfig& c) {
    DataPortalConfig p = c.portal;
    p.cache.never_evict = p.cache.never_evict || c.faults.unbounded_cache;
    p.cache.bloated = p.cache.bloated || c.faults.bloated_cache;
    return p;
  }

  void endOfSession(uint32_t s) {
    state_.blotter.endOfSession(state_.bar);
    // An asset whose data ends today is delisted: its position is closed at its last price.
    std::vector<AssetId> delisted;
    for (const auto& [asset, position] : state_.ledger.positions())
      if (state_.bundle.lastSession(asset) <= s) delisted.push_back(asset);
    for (AssetId a : delisted) state_.ledger.liquidate(a, state_.portal.lastPrice(a));
    state_.metrics.endOfSession(state_.bundle.calendar().session(s), state_.ledger.portfolioValue(state_.portal),
                                state_.ledger.cash(), static_cast<uint32_t>(state_.ledger.positions().size()),
                                state_.orders_today, state_.fills_today);
    progress_.update(figures());
  }

  ProgressFigures figures() const {
    const MetricsTracker& m = state_.metrics;
    ProgressFigures f;
    f.done = static_cast<uint32_t>(m.days().size());
    f.total = config_.run.size();
    f.date = m.days().empty() ? state_.bundle.calendar().session(config_.run.begin) : m.days().back().date;
    f.cumulative_return = m.cumulativeReturn();
    f.sharpe = m.runningSharpe();
    f.drawdown = m.maxDrawdown();
    f.pnl = m.pnl();
    return f;
  }

  void summarize(RunResult& result) {
    const MetricsTracker& m = state_.metrics;
    RunSummary& s = result.summary;
    result.days = m.days();
    std::vector<double> returns;
    for (const DailyRecord& d : result.days) returns.push_back(d.daily_return);
    s.first = result.days.front().date;
    s.last = result.days.back().date;
    s.sessions = static_cast<uint32_t>(result.days.size());
    s.starting_value = m.startingValue();
    s.final_value = result.days.back().portfolio_value;
    s.pnl = s.final_value - s.starting_value;
    s.commissions = state_.ledger.commissions();
    s.total_return = m.cumulativeReturn();
    s.sharpe = sharpeRatio(returns);
    s.max_drawdown = m.maxDrawdown();
    s.annual_volatility = annualVolatility(returns);
    const BlotterStats& b = state_.blotter.stats();
    s.orders = b.orders;
    s.fills = b.fills;
    s.cancelled = b.cancelled;
    s.leaked_cycles = b.leaked_cycles;
    s.shares = b.shares;
    s.bar_events = state_.portal.barEvents();
    s.daily_cache = state_.portal.dailyCache().stats();
    if (state_.portal.minuteCache()) s.minute_cache = state_.portal.minuteCache()->stats();
    if (state_.pipeline) {
      s.pipeline_chunks = state_.pipeline->chunksComputed();
      s.pipeline_peak_bytes = state_.pipeline->peakBytes();
    }
  }

  const SimulationConfig& config_;
  SimulationState state_;
  TradingContext context_;
  ProgressReporter progress_;
  const std::function<void(const Fill&)> on_fill_;  // built once: the bar loop does not allocate
};

}  // namespace

RunResult runSimulation(const Bundle& bundle, const SimulationConfig& config) {
  const StrategyInfo& info = findStrategy(config.strategy);
  if (info.needs_minute_bars && config.frequency != Frequency::Minute)
    throw EngineError(fmt::format("strategy {} trades minute bars: it needs a bundle with minute bars", info.name));
  Simulation simulation(bundle, config);
  return simulation.run(info);
}

}  // namespace tidemark::engine
