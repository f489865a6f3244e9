// One line on a terminal that says what a command is doing once it has taken two seconds
// ("tidemark: reading bt/123.tmtrace 45%"), redrawn at most five times a second and erased when the
// command is done. Nothing is drawn when standard error is not a terminal.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "progress.h"

namespace tidemark {

class ProgressLine : public Progress {
 public:
  ProgressLine();  // installs itself as the listener (setProgress)
  ~ProgressLine() override;  // erases the line, uninstalls itself
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void step(std::string_view what, double done) override;
  void end() override;  // erases the line; a later step draws it again after two quiet seconds

  // The line's text for a terminal `columns` wide: "tidemark: WHAT 45%", cut to fit.
  static std::string text(std::string_view what, double done, size_t columns);

 private:
  using Clock = std::chrono::steady_clock;
  bool terminal_ = false;
  bool drawn_ = false;
  Clock::time_point start_, last_draw_;
};

}  // namespace tidemark
