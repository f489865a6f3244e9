// One backtest: a strategy over a range of sessions of a bundle, bar by bar, with its orders,
// fills, ledger and metrics. What it returns depends on the bundle and the config only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algo/strategy_params.h"
#include "data/bundle.h"
#include "data/data_portal.h"
#include "execution/commission.h"
#include "execution/slippage.h"
#include "pipeline/chunk_schedule.h"
#include "portfolio/metrics.h"
#include "run/faults.h"

namespace tidemark::engine {

struct SimulationConfig {
  std::string strategy = "random-universe";
  StrategyParams params;
  uint64_t seed = 1;  // the strategy's random stream
  Money capital = Money::fromDollars(1e6);
  Frequency frequency = Frequency::Daily;
  SessionRange run;
  std::string slippage = "volume-share";  // or "fixed-bps"
  double slippage_bps = 5.0;
  double volume_limit = 0;  // 0: the model's default (0.025 volume-share, 0.1 fixed-bps)
  double price_impact = 0.1;
  PerShareCommission commission;
  DataPortalConfig portal;
  uint32_t pipeline_first_chunk = 5, pipeline_chunk = 126;
  FaultConfig faults;
  std::string label;  // a sweep's "name=value", shown on its progress lines
  bool progress = true;
  double progress_interval = 1.0;
};

struct RunSummary {
  Date first, last;
  uint32_t sessions = 0;
  Money starting_value, final_value, pnl, commissions;
  double total_return = 0, sharpe = 0, max_drawdown = 0, annual_volatility = 0;
  uint64_t orders = 0, fills = 0, cancelled = 0, shares = 0;
  uint64_t leaked_cycles = 0;  // leak-cycles fault: order/fill groups dropped holding each other
  uint64_t bar_events = 0;
  HistoryCacheStats daily_cache, minute_cache;
  uint32_t pipeline_chunks = 0;
  uint64_t pipeline_peak_bytes = 0;
  uint64_t leaked_bytes = 0;  // by the leak-per-day fault
  uint64_t spike_bytes = 0;   // by the spike fault
};

struct RunResult {
  std::string label;
  std::map<std::string, double> params;
  RunSummary summary;
  std::vector<DailyRecord> days;
};

std::unique_ptr<SlippageModel> makeSlippage(const SimulationConfig& config);

RunResult runSimulation(const Bundle& bundle, const SimulationConfig& config);

}  // namespace tidemark::engine
