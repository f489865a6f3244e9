// The progress line on stderr: percent done, simulated date, cumulative return, Sharpe, drawdown,
// P&L. Throttled by wall time; rewritten in place on a terminal, one line per update otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "data/date.h"
#include "data/money.h"

namespace tidemark::engine {

struct ProgressFigures {
  uint32_t done = 0, total = 0;  // sessions
  Date date;
  double cumulative_return = 0, sharpe = 0, drawdown = 0;
  Money pnl;
};

class ProgressReporter {
 public:
  // label prefixes each line (a sweep's parameter); interval in seconds between lines.
  ProgressReporter(bool enabled, std::string label, double interval_seconds);
  void update(const ProgressFigures& f);
  // The last line, always written when enabled.
  void finish(const ProgressFigures& f);

  static std::string format(const std::string& label, const ProgressFigures& f);

 private:
  void write(const ProgressFigures& f, bool last);

  bool enabled_;
  bool terminal_;
  std::string label_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_{};
  bool written_ = false;
  uint32_t last_done_ = 0;
};

}  // namespace tidemark::engine
