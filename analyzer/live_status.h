// How a run is doing while it runs, from the headers of its traces alone (the sampler keeps them
// current): what `tidemark watch` and the wrapper's status line show. Cheap at any trace size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tidemark/trace_format.h"

namespace tidemark {

struct LiveStatus {
  size_t processes = 0;  // traces with a header
  size_t running = 0;    // not ended, and sampled within the last kRunningWithinNs (any host: by the clock, not by pid)
  uint64_t elapsed_ns = 0;        // from the earliest start to now (running) or to the last sample
  uint64_t rss = 0, heap = 0;     // the latest samples, added up over the running processes; once
                                  // none runs, the last sample of the process that ended last
  bool heap_known = false;        // every sampled trace is aggregated: a full event log's header has no heap
  uint64_t peak_rss = 0;          // the largest of any process
  uint64_t trace_bytes = 0;       // all traces together
  std::string last_date;          // the latest simulated date any process marked
  bool sampled = false;           // at least one sample was written
};

// A process whose latest sample is older than this has ended (or stopped being sampled).
inline constexpr uint64_t kRunningWithinNs = 3'000'000'000;

// Whether the process of this header runs, by the clock alone (any host): not ended, and sampled
// within the last kRunningWithinNs.
inline bool sampledLately(const format::FileHeader& h, uint64_t now_realtime_ns) {
  return !h.ended_ns && h.last_sample_ns && now_realtime_ns < h.start_realtime_ns + h.last_sample_ns + kRunningWithinNs;
}

// now_realtime_ns: CLOCK_REALTIME now. Traces that cannot be read (still being created) are skipped.
LiveStatus readLiveStatus(const std::vector<std::string>& traces, uint64_t now_realtime_ns);

}  // namespace tidemark
