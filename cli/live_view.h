// A run's figures while it runs, on one line: the wrapper's status line on a terminal and
// `tidemark watch` for a run that is already going (a pod with env-only injection).
#pragma once

#include <cstdint>
#include <string>

#include "live_status.h"

namespace tidemark {

// "12.3 s | heap 1.20 GiB | RSS 1.41 GiB (peak 1.52 GiB) | trace 45.0 MiB | simulated 2012-03-04 | 3 processes, 2 running"
// (the heap in aggregate mode only: a full event log knows it when its records are read)
std::string statusText(const LiveStatus& status);

// The status of the traces under `path` (a trace or a run directory) now; no traces yet: none.
LiveStatus statusNow(const std::string& path);

// Redraws one line of stderr in place (a terminal only), at most once per interval.
class StatusLine {
 public:
  StatusLine(std::string path, bool enabled);
  void tick();   // call often; redraws when the interval has passed
  void clear();  // before the wrapper's end messages
  bool enabled() const { return enabled_; }
 private:
  std::string path_;
  bool enabled_;
  uint64_t next_ns_ = 0;
  bool drawn_ = false;
};

// tidemark watch: a line per interval (redrawn in place on a terminal) until no process of the run
// has been sampled for a while, or one line with once; json: one JSON object per line. Returns the exit code.
int watchCommand(const std::string& path, double interval_s, bool once, bool json);

}  // namespace tidemark
