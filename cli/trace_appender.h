// Appends records to a finished (or abandoned) trace from outside the traced process: the
// `tidemark run` wrapper uses it to record how the process ended.
#pragma once

#include <cstdint>
#include <string>

#include "tidemark/trace_format.h"

namespace tidemark {

struct WrapperRecords {
  bool signaled = false;
  int code = 0;              // exit code, or the signal that killed the process
  uint64_t time_ns = 0;      // when it ended, since it started
  uint64_t limit = 0;        // --memory-limit, 0: none
  uint8_t limit_kind = 0;    // format::LimitKind
  bool oom_killed = false;   // the out-of-memory killer ended it
  uint8_t oom_evidence = 0;  // format::OomEvidence
  uint64_t oom_usage = 0;    // memory in use at the limit
  // The out-of-memory killer ended other processes of the run's cgroup (workers), this many.
  uint64_t oom_kills_of_others = 0;
};

// Records how the process `pid` ended (and its memory limit and an out-of-memory kill, when there
// was one) in its trace at `path`, and returns the trace's header as it is then. Only a regular
// file (not a link) that is a trace of that very process is touched. Throws Error when the trace
// cannot be opened, is not that process's, or cannot be grown.
format::FileHeader appendProcessEnd(const std::string& path, uint64_t pid, const WrapperRecords& end);

}  // namespace tidemark
