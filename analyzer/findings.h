// The growth findings: for every allocation site that matters, is its memory growing without
// bound, levelling off (a cache, a warm-up), cycling (chunked work) or neither; and for the whole
// process, the RSS trend and when a memory limit will be reached at that rate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "growth.h"
#include "replay.h"
#include "stack_groups.h"
#include "symbolizer.h"

namespace tidemark {

struct SiteTrend {
  std::vector<Frame> frames;  // of the site's largest stack group; siteFrame(frames) is the site
  size_t stack_groups = 0;    // folded stacks merged into this site
  TrendVerdict verdict;
  double rate_per_hour = 0;   // bytes per hour of wall time (unbounded)
  double rate_per_day = 0;    // bytes per simulated day (unbounded, when the run has date markers)
  // Sample mode: the half-width of the rates' 95% interval from the sampling alone (0 otherwise).
  double rate_error_per_hour = 0, rate_error_per_day = 0;
  double period_days = -1;         // periodic: the period in simulated days, -1 unknown
  double level_reached_day = -1;  // plateau: the simulated day (1-based) it was reached, -1 unknown
  uint64_t peak_bytes = 0;    // highest live bytes of the site
  uint64_t final_bytes = 0;   // where the analysis window ends
  uint64_t exit_bytes = 0;    // at the end of the trace (after the teardown)
  double span_s = 0;          // the stretch of the run its verdict rests on (first allocation to the window's end)
};

struct ProcessTrend {
  bool available = false;
  TrendVerdict heap;  // heap blocks and anonymous mappings together
  // The RSS verdict, on anonymous RSS (the resident pages of libraries and mapped files left out,
  // where the trace has them). When the RSS never rose above what the heap had already allocated (pages
  // touched after their allocation: rss_follows_heap), it is the heap's verdict: a fixed buffer
  // filled slowly is not growth, and RSS and heap never contradict.
  TrendVerdict rss;
  bool rss_follows_heap = false;
  double rss_rate_per_hour = 0;
  double span_s = 0;  // the stretch of the run the RSS verdict rests on
  double seconds_to_limit = -1;  // to the effective limit, from the end of the trace, at the current RSS rate; -1: not on course
  double days_to_limit = -1;     // in simulated days, when the run has date markers
};

struct GrowthFindings {
  bool available = false;
  std::string unavailable_reason;
  uint64_t bin_width_ns = 0;
  uint64_t sample_interval_ns = 0;  // the tracker's timeline sampling
  uint64_t window_end_ns = 0;  // the analysis stops here: before the teardown at the end of the run
  size_t simulated_days = 0;  // date markers seen
  std::vector<SiteTrend> sites;  // unbounded first, then by peak bytes
  ProcessTrend process;
};

struct GrowthOptions {
  double min_share = 0.01;          // sites below 1% of the heap peak and of the final heap are skipped
  uint64_t min_bytes = 64 * 1024;   // ... and below 64 KiB
};

// limit_bytes: the run's effective memory limit (Summary::limit), 0 for none.
GrowthFindings findGrowth(const ReplayResult& run, const std::vector<StackGroup>& groups, const GrowthOptions& options,
                          uint64_t limit_bytes);

}  // namespace tidemark
