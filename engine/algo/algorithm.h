// The algorithm API, in the shape zipline users know: initialize once, before_trading_start every
// session, handle_data every bar, and functions scheduled by date and time rules.
#pragma once

#include "algo/trading_context.h"
#include "data/data_portal.h"

namespace tidemark::engine {

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // Schedule functions, attach a pipeline, set up state.
  virtual void initialize(TradingContext& context) = 0;
  // Before the session's first bar; the pipeline's output for the session is ready.
  virtual void beforeTradingStart(TradingContext&, DataPortal&) {}
  // Every bar: every minute in minute mode, once a session in daily mode.
  virtual void handleData(TradingContext&, DataPortal&) {}
};

}  // namespace tidemark::engine
