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
  bool pack = true;            // pack the traces once the command has ended (analyzer/trace_pack.h)
  std::vector<std::string> command;
};

// Returns the exit code for tidemark itself: the command's exit code, 128+N for a signal death.
int runCommand(const RunOptions& options);

// Packs each trace in place (analyzer/trace_pack.h): what was packed, and a line for each trace
// left as it was and why.
struct PackSummary {
  size_t traces = 0, packed = 0;
  uint64_t before = 0, after = 0, allocations = 0;
  std::vector<std::string> left;  // why a trace with records to pack was left as it was
  size_t left_with_something_to_pack = 0;  // of those: not the packed and aggregate-mode ones
  std::string text() const;  // "packed 2 traces: 210 MiB -> 25 MiB (...)", empty when none was
};
PackSummary packTraces(const std::vector<std::string>& traces);

// Where libtidemark_preload.so is: $TIDEMARK_PRELOAD, beside this executable, or ../lib/tidemark.
std::string findPreload();

}  // namespace tidemark
