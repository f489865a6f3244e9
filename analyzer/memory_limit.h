// The one memory limit a run is judged against, and where it came from. Computed once per
// analysis; the death verdict, the growth projection and every output use it.
#pragma once

#include <cstdint>

#include "replay.h"

namespace tidemark {

struct EffectiveLimit {
  enum class Source {
    None,
    CommandLine,      // summary/report --limit: the user's word replaces what the trace recorded
    RunCgroupV2,      // tidemark run --memory-limit, a cgroup v2 memory.max
    RunCgroupV1,      // tidemark run --memory-limit, a cgroup v1 memory.limit_in_bytes
    RunWatchdog,      // tidemark run --memory-limit, enforced by tidemark's RSS watchdog
    ContainerCgroup,  // the cgroup the process ran in (a container's limit), seen at start
  };
  uint64_t bytes = 0;  // 0: no limit known
  Source source = Source::None;

  // Whether the kernel enforced it on a cgroup (so a cgroup's usage and OOM counters exist).
  bool enforcedByCgroup() const {
    return source == Source::RunCgroupV2 || source == Source::RunCgroupV1 || source == Source::ContainerCgroup;
  }
};

// --limit when given (command_line_bytes != 0), else the wrapper's --memory-limit, else the
// container's cgroup limit the tracker read at start.
EffectiveLimit effectiveLimit(const ReplayResult& run, uint64_t command_line_bytes);

// "tidemark run --memory-limit, enforced by tidemark's RSS watchdog", ...
const char* limitSourceText(EffectiveLimit::Source source);
// "run-watchdog", ... (JSON)
const char* limitSourceKey(EffectiveLimit::Source source);

}  // namespace tidemark
