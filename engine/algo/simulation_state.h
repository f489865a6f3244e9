// Everything one simulation owns, in one place: the trading context reads and writes it on the
// strategy's behalf, the simulation loop moves it through time.
#pragma once

#include <memory>

#include "algo/schedule.h"
#include "algo/strategy_params.h"
#include "data/bundle.h"
#include "data/data_portal.h"
#include "data/random.h"
#include "execution/blotter.h"
#include "pipeline/chunk_schedule.h"
#include "pipeline/pipeline_engine.h"
#include "portfolio/ledger.h"
#include "portfolio/metrics.h"

namespace tidemark::engine {

struct SimulationState {
  // The portal and the blotter are built in place: the history caches point into the portal.
  SimulationState(const Bundle& b, SessionRange r, Frequency frequency, const DataPortalConfig& portal_config,
                  std::unique_ptr<SlippageModel> slippage, PerShareCommission commission, bool break_cycles,
                  Money capital, StrategyParams sp, uint64_t rng_seed, uint32_t first_chunk, uint32_t chunk)
      : bundle(b),
        run(r),
        portal(b, frequency, portal_config),
        blotter(std::move(slippage), commission, break_cycles),
        ledger(capital),
        metrics(capital),
        params(std::move(sp)),
        rng(rng_seed),
        pipeline_first_chunk(first_chunk),
        pipeline_chunk(chunk) {}

  const Bundle& bundle;
  SessionRange run;
  DataPortal portal;
  Blotter blotter;
  Ledger ledger;
  MetricsTracker metrics;
  Scheduler scheduler;
  StrategyParams params;
  Rng rng;
  uint32_t pipeline_first_chunk = 5, pipeline_chunk = 126;
  std::unique_ptr<PipelineEngine> pipeline;  // once a strategy attaches one
  const PipelineChunk* pipeline_today = nullptr;
  uint64_t bar = 0;  // bars seen so far: an order placed now fills from bar + 1
  bool initializing = false;
  uint32_t orders_today = 0, fills_today = 0;
};

}  // namespace tidemark::engine
