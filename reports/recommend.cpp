#include "recommend.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "units.h"

namespace tidemark {

std::string recommend(const TraceAnalysis& analysis, const RunTree* tree) {
  const ReplayResult& r = analysis.run();
  const Summary& s = analysis.summary();
  const uint64_t known_limit = s.limit.bytes;
  constexpr uint64_t kMi = 1 << 20, kStep = 16 * kMi;
  auto roundUp = [&](double bytes) { return static_cast<uint64_t>(std::ceil(bytes / kStep)) * kStep; };
  const ProcessTrend& p = s.growth.process;
  uint64_t peak_bytes = r.rss_peak;
  uint64_t peak_time = r.rss_peak_time_ns;
  std::string peak_text = fmt::format("peak RSS {}", humanBytes(r.rss_peak));
  if (tree && tree->processes.size() > 1) {
    const char* measure = tree->pss_measured ? "PSS, shared pages once" : "RSS";
    if (tree->jobs.size() > 1) {
      const RunJob& largest = *std::max_element(tree->jobs.begin(), tree->jobs.end(), [&](const RunJob& a, const RunJob& b) {
        return (tree->pss_measured ? a.peak.pss : a.peak.rss) < (tree->pss_measured ? b.peak.pss : b.peak.rss);
      });
      peak_bytes = tree->pss_measured ? largest.peak.pss : largest.peak.rss;
      peak_time = largest.peak.time_ns;
      peak_text = fmt::format("the largest of {} jobs held {} ({} added up over its processes)", tree->jobs.size(),
                              humanBytes(peak_bytes), measure);
    } else {
      peak_bytes = tree->pss_measured ? tree->peak.pss : tree->peak.rss;
      peak_time = tree->peak.time_ns;
      peak_text = fmt::format("the run's {} processes held {} together ({})", tree->processes.size(), humanBytes(peak_bytes), measure);
    }
  }
  double peak = static_cast<double>(peak_bytes);
  std::string why;
  double request = peak * 1.15, limit = peak * 1.5;
  const Death& d = s.death;
  bool oom = d.kind == Death::Kind::OomKilled || d.kind == Death::Kind::OomLikely;
  bool growing = p.available && p.rss.trend == Trend::Unbounded && p.rss.rate_per_s > 0;
  double duration_s = static_cast<double>(r.duration_ns) / 1e9;
  if (oom && known_limit) {
    // It needed more than it had: start from the limit it died at.
    double floor = static_cast<double>(std::max<uint64_t>(known_limit, peak_bytes));
    request = floor * 1.5;
    limit = floor * 2;
    why = fmt::format("OOM-killed at {} with RSS {} of limit {}: it needs more than {}; request = 1.5 x, limit = 2 x that",
                      humanDuration(d.time_ns), humanBytes(d.rss), humanBytes(known_limit), humanBytes(known_limit));
    if (growing)
      why += fmt::format("; but RSS grew {}/h until it died, so no limit is safe until that growth is fixed",
                         humanBytes(static_cast<uint64_t>(p.rss.rate_per_s * 3600)));
  } else if (growing) {
    double more = p.rss.rate_per_s * duration_s;  // room for as long a run again
    limit = (peak + more) * 1.25;
    why = fmt::format("{}, still growing {}/h at the end: the limit leaves room for as long a run again (+{}) "
                      "and 25% over it; the growth itself is the finding to fix",
                      peak_text, humanBytes(static_cast<uint64_t>(p.rss.rate_per_s * 3600)),
                      humanBytes(static_cast<uint64_t>(more)));
  } else {
    why = fmt::format("{} at {}, {}: request = peak + 15%, limit = peak + 50% for safety", peak_text,
                      humanDuration(peak_time),
                      p.available ? fmt::format("RSS {} at the end", trendName(p.rss.trend)) : std::string("no RSS trend"));
  }
  uint64_t req = std::max(roundUp(request), kStep), lim = std::max(roundUp(limit), req);
  return fmt::format("# {}; rounded up to 16 MiB\nresources:\n  requests:\n    memory: \"{}Mi\"\n  limits:\n    memory: \"{}Mi\"\n",
                     why, req / kMi, lim / kMi);
}

}  // namespace tidemark
