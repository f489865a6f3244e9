#include "run/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace tidemark::engine {

ProgressReporter::ProgressReporter(bool enabled, std::string label, double interval_seconds)
    : enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) && label.empty()),
      label_(std::move(label)),
      interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(interval_seconds))) {}

std::string ProgressReporter::format(const std::string& label, const ProgressFigures& f) {
  double percent = f.total ? 100.0 * f.done / f.total : 100.0;
  return fmt::format("{}[{:5.1f}%] {}  return {:+.2f}%  sharpe {:5.2f}  drawdown {:6.2f}%  P&L {}{}",
                     label.empty() ? "" : "[" + label + "] ", percent, f.date.str(), 100.0 * f.cumulative_return,
                     f.sharpe, 100.0 * f.drawdown, f.pnl.ticks() >= 0 ? "+" : "", f.pnl.str());
}

void ProgressReporter::update(const ProgressFigures& f) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (written_ && now - last_ < interval_) return;
  last_ = now;
  write(f, false);
}

void ProgressReporter::finish(const ProgressFigures& f) {
  if (!enabled_) return;
  if (written_ && last_done_ == f.done && !terminal_) return;  // that line is already out
  write(f, true);
}

void ProgressReporter::write(const ProgressFigures& f, bool last) {
  std::string line = format(label_, f);
  if (terminal_)
    fmt::print(stderr, "\r{}\x1b[K{}", line, last ? "\n" : "");
  else
    fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
  written_ = true;
  last_done_ = f.done;
}

}  // namespace tidemark::engine
