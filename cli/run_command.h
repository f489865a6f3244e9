// `tidemark run`: runs a command under the tracker and reports how it ended.
#pragma once

#include <string>
#include <vector>

#include "tidemark/trace_format.h"

namespace tidemark {

struct RunOptions {
  std::string output;          // the run directory (one trace per process); empty: tidemark.<command>.<pid>
  unsigned interval_ms = 10;
  unsigned max_frames = 64;
  bool track_mmap = true;
  bool scan = false;
  bool no_status = false;      // no status line on a terminal
  std::string mode = "full";   // or "aggregate", "sample"
  uint64_t sample_bytes = format::kDefaultSampleBytes;  // sample mode's mean bytes between two sampled allocations
  uint64_t memory_limit = 0;   // bytes; 0: none
  std::vector<std::string> command;
};

// Returns the exit code for tidemark itself: the command's exit code, 128+N for a signal death.
int runCommand(const RunOptions& options);

// Where libtidemark_preload.so is: $TIDEMARK_PRELOAD, beside this executable, or ../lib/tidemark.
std::string findPreload();

}  // namespace tidemark
