#include "findings.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "stack_groups.h"

namespace tidemark {

namespace {

constexpr double kNsPerSecond = 1e9;

// Fractional simulated day at time t: day k (1-based) starts at the k-th date marker.
class DayClock {
 public:
  explicit DayClock(const std::vector<Marker>& markers) {
    for (const Marker& m : markers)
      if (m.kind == static_cast<uint32_t>(format::MarkerKind::SimulationDate)) starts_.push_back(static_cast<double>(m.time_ns) / kNsPerSecond);
    std::sort(starts_.begin(), starts_.end());
  }
  bool available() const { return starts_.size() >= 2; }
  size_t days() const { return starts_.size(); }
  double dayAt(double t) const {
    if (starts_.empty() || t < starts_.front()) return 0;
    auto it = std::upper_bound(starts_.begin(), starts_.end(), t);
    size_t k = static_cast<size_t>(it - starts_.begin());  // days started by t
    if (k >= starts_.size()) {
      double len = (starts_.back() - starts_.front()) / static_cast<double>(starts_.size() - 1);
      return static_cast<double>(k) + std::min(1.0, len > 0 ? (t - starts_.back()) / len : 0.0);
    }
    double a = starts_[k - 1], b = starts_[k];
    return static_cast<double>(k) + (b > a ? (t - a) / (b - a) : 0.0);
  }
  // When fractional day `day` came (the inverse of dayAt), in seconds.
  double timeOfDay(double day) const {
    if (starts_.empty()) return 0;
    auto k = static_cast<size_t>(std::max(1.0, std::floor(day)));
    if (k >= starts_.size()) return starts_.back();
    return starts_[k - 1] + (day - static_cast<double>(k)) * (starts_[k] - starts_[k - 1]);
  }
  double secondsPerDayNear(double t_from, double t_to) const {
    double d = dayAt(t_to) - dayAt(t_from);
    return d > 0 ? (t_to - t_from) / d : 0;
  }

 private:
  std::vector<double> starts_;
};

// Where the analysis window ends, in ns: before the teardown at the end of a run (the destructors
// at the end of main free everything within moments, which would make every structure that grew
// look transient). A teardown is a fall of the heap to under half of its recent high, starting
// within the last 5% of the run.
uint64_t analysisEnd(const ReplayResult& run) {
  // A Python program's own code ends when its interpreter begins to finalize: what the
  // interpreter frees from then on (every module's objects) is teardown, not the program's doing.
  uint64_t end = run.interpreter.finalizing_ns ? std::min(run.duration_ns, run.interpreter.finalizing_ns) : run.duration_ns;
  // With simulation dates, the simulation ends half a day after the last date began.
  std::vector<uint64_t> starts;
  for (const Marker& m : run.markers)
    if (m.kind == static_cast<uint32_t>(format::MarkerKind::SimulationDate)) starts.push_back(m.time_ns);
  if (starts.size() >= 2) {
    std::sort(starts.begin(), starts.end());
    std::vector<uint64_t> lengths;
    for (size_t i = 1; i < starts.size(); ++i) lengths.push_back(starts[i] - starts[i - 1]);
    std::nth_element(lengths.begin(), lengths.begin() + static_cast<long>(lengths.size() / 2), lengths.end());
    return std::min(end, starts.back() + lengths[lengths.size() / 2] / 2);
  }
  const auto& tl = run.timeline;
  if (tl.size() < 8 || end == 0) return end;
  uint64_t recent_max = 0;
  for (const TimelineSample& x : tl)
    if (x.time_ns >= end - end / 5) recent_max = std::max(recent_max, x.heap);
  uint64_t final_heap = tl.back().heap;
  if (final_heap * 2 >= recent_max) return end;  // no collapse at the end
  for (size_t j = tl.size(); j-- > 0;) {
    // The teardown starts from about the top: the last moment within 10% of the recent high.
    if (tl[j].heap * 10 >= recent_max * 9) return end - tl[j].time_ns <= end / 20 ? tl[j].time_ns : end;
  }
  return end;
}

// A site's value per simulated day from the day series: x is the last day each bin covers, from
// day 1 on and from the site's first allocation; the last bin (the last day, and the teardown after
// it) is left out. Each bin keeps the value at its end and the highest within it.
void daySeries(const SeriesRecorder& days, const std::vector<uint32_t>& stacks, std::vector<double>& x,
               std::vector<double>& y, std::vector<double>& high) {
  std::vector<double> last, max;
  days.sum(stacks, last, max);
  const uint64_t width = days.binWidthNs();
  for (uint32_t b = 0; b + 1 < last.size(); ++b) {
    uint64_t last_day = (b + 1) * width - 1;
    if (last_day < 1 || (x.empty() && last[b] == 0 && max[b] == 0)) continue;
    x.push_back(static_cast<double>(last_day));
    y.push_back(last[b]);
    high.push_back(max[b]);
  }
}

// Did the RSS stay within what the heap had allocated by then? It can rise by as much as the heap's
// high-water mark rose (pages are resident once touched, and stay so after a free), plus 5% of
// its top or 2 MiB for the stacks, libraries and allocator bookkeeping around it, plus the
// tracker's own memory (`tracker_bytes`), which the first sample, taken as it starts, is without:
// sqlite3 building an index, its anonymous RSS 2.3 MiB above its heap from its first allocations
// to its end, was said to grow outside the heap. `heap_high`: the highest the heap was since the
// point before (what is made and freed between two samples is resident all the same), never below
// `heap` there.
bool rssFollowsHeap(const std::vector<double>& rss, const std::vector<double>& heap,
                    const std::vector<double>& heap_high, double tracker_bytes) {
  if (rss.empty() || heap.size() != rss.size() || heap_high.size() != rss.size()) return false;
  const double top = *std::max_element(rss.begin(), rss.end());
  const double slack = std::max(2.0 * 1024 * 1024, 0.05 * top) + tracker_bytes;
  double high_water = heap[0];
  for (size_t i = 0; i < rss.size(); ++i) {
    high_water = std::max(high_water, heap_high[i]);
    if (rss[i] > rss[0] + (high_water - heap[0]) + slack) return false;
  }
  return true;
}

// At most the tracker's own memory in the process (trace_format.h): its stack caches and depot; in
// aggregate mode and with the heap scan, its table of live blocks, sized by the most blocks the
// trace shows live at once (at the heap's peak or at the end). The bench workload in aggregate
// mode, 265,000 blocks live at its peak, had 24 MiB of table.
uint64_t trackerBytes(const ReplayResult& run) {
  const uint64_t threads = std::max<uint64_t>(run.threads.size(), 1);
  uint64_t bytes = format::kTrackerBytesPerProcess + threads * format::kTrackerBytesPerThread;
  if (run.aggregated || run.scan.present) {
    uint64_t at_peak = 0;
    run.stacks.forEach([&](StackId, const StackStats& st) { at_peak += run.peakBlocks(st); });
    bytes += format::kTrackerBlockTableBytes + format::kTrackerBytesPerLiveBlock * std::max(at_peak, run.live_blocks);
  }
  return bytes;
}

// Distinct moments in [from_s, to_s]: events take the time of the latest sample or marker.
size_t momentsBetween(const ReplayResult& run, double from_s, double to_s) {
  auto inside = [&](uint64_t ns) {
    double s = static_cast<double>(ns) / kNsPerSecond;
    return s >= from_s && s <= to_s;
  };
  size_t n = 0;
  for (const TimelineSample& x : run.timeline) n += inside(x.time_ns);
  for (const Marker& m : run.markers) n += inside(m.time_ns);
  return n;
}

std::string siteKey(const Frame& f) { return f.function.str() + '@' + f.file.str() + ':' + std::to_string(f.line); }

// Growth that was all released before the trace ended, in a run without simulation dates, grew
// with the work the program was given, not with time: Trend::GrowsWithWork, not Unbounded.
// `exit_value`: the series' value at the end of the trace, or of a Python program's own code (the
// interpreter's finalization releases everything a module held: that is not the program's
// release, and growth it frees is still growth).
void judgeRelease(TrendVerdict& v, double exit_value, bool has_days) {
  if (v.trend == Trend::Unbounded && !has_days && exit_value <= v.min + 0.1 * (v.max - v.min))
    v.trend = Trend::GrowsWithWork;
}

// The process's heap and RSS over the window, from the timeline.
ProcessTrend judgeProcess(const ReplayResult& run, uint64_t window_end, const DayClock& clock, uint64_t limit_bytes) {
  ProcessTrend p;
  // The process: heap and RSS from the timeline, after the start-up. Loading libraries grows the
  // RSS by their relocated data and bss, and an interpreter's imports take a while: the process is
  // judged from the last library load in the first half of the window, or from the first simulated
  // day when the run marks them (the simulation is what is judged).
  uint64_t startup_end_ns = 0;
  for (uint64_t load_ns : run.module_load_ns)
    if (load_ns <= window_end / 2) startup_end_ns = std::max(startup_end_ns, load_ns);
  for (const Marker& m : run.markers)
    if (m.kind == static_cast<uint32_t>(format::MarkerKind::SimulationDate)) {
      startup_end_ns = std::max(startup_end_ns, m.time_ns);
      break;
    }
  std::vector<double> t, rss, heap, heap_high;
  double last = 0;  // the whole RSS, which a limit counts
  if (run.timeline.size() >= 16) {
    size_t step = std::max<size_t>(1, run.timeline.size() / 4000);
    for (size_t i = 0; i < run.timeline.size(); i += step) {
      if (run.timeline[i].time_ns < startup_end_ns) continue;
      if (run.timeline[i].time_ns > window_end) break;
      t.push_back(static_cast<double>(run.timeline[i].time_ns) / kNsPerSecond);
      // Anonymous RSS: the pages of libraries and mapped files are not memory the program grew.
      rss.push_back(static_cast<double>(run.timeline[i].rss - run.timeline[i].rss_file));
      heap.push_back(static_cast<double>(run.timeline[i].heap + run.timeline[i].mmap));
      // The highest since the point before: the samples left out by `step` count too.
      uint64_t high = 0;
      for (size_t k = i + 1 - std::min(i + 1, step); k <= i; ++k) high = std::max(high, run.timeline[k].heap_high);
      heap_high.push_back(static_cast<double>(high + run.timeline[i].mmap));
      last = static_cast<double>(run.timeline[i].rss);
    }
  }
  p.available = t.size() >= 2;
  if (p.available) {
    p.span_s = t.back() - t.front();
    p.heap = classifyTrend(t, heap, {}, 0, TrendThresholds::kMinSamples);
    const TimelineSample* last_sample = &run.timeline.back();
    for (const TimelineSample& x : run.timeline)
      if (run.interpreter.finalizing_ns && x.time_ns <= run.interpreter.finalizing_ns) last_sample = &x;
    judgeRelease(p.heap, static_cast<double>(last_sample->heap + last_sample->mmap), clock.available());
    p.rss = classifyTrend(t, rss, {}, 0, TrendThresholds::kMinSamples);
    p.rss_follows_heap = rssFollowsHeap(rss, heap, heap_high, static_cast<double>(trackerBytes(run)));
    if (p.rss_follows_heap) {
      TrendVerdict own = p.rss;
      p.rss = p.heap;
      p.rss.start = own.start, p.rss.end = own.end, p.rss.min = own.min, p.rss.max = own.max;
    }
    p.rss_rate_per_hour = p.rss.trend == Trend::Unbounded ? p.rss.rate_per_s * 3600 : 0;
    const double limit = static_cast<double>(limit_bytes);
    if (limit_bytes && last >= limit) {
      p.seconds_to_limit = 0;
      p.days_to_limit = 0;
    } else if (limit_bytes && p.rss.trend == Trend::Unbounded && p.rss.rate_per_s > 0) {
      p.seconds_to_limit = (limit - last) / p.rss.rate_per_s;
      double tail_from = t[static_cast<size_t>(static_cast<double>(t.size()) * 0.6)];
      double spd = clock.available() ? clock.secondsPerDayNear(tail_from, t.back()) : 0;
      if (spd > 0) p.days_to_limit = p.seconds_to_limit / spd;
    }
  }

  return p;
}

// Sample mode: the site's series is an estimate, and a stationary one (a cache whose entries are
// sampled or not as they come and go) can drift by chance. The tail's rise, B2 - B1, is growth
// only beyond the sampling's noise on it: the blocks alive at the end that were allocated within
// the tail (at most min(B2, allocated within it)) and those alive at its start that it freed (at
// most min(B1, allocated - rise)) were each sampled independently, and an estimate of b bytes of
// blocks far smaller than the mean R has a variance of about b * R.
// Returns the standard deviation of the tail's rise that the sampling alone makes (0 when the
// series are too short to say).
double judgeSampledRise(TrendVerdict& v, const std::vector<double>& live, const std::vector<double>& allocated,
                        uint64_t mean_bytes) {
  if (live.size() < 2 || allocated.size() < live.size()) return 0;
  size_t from = tailStart(live.size());
  double b1 = live[from], b2 = live.back();
  double rise = b2 - b1, made = std::max(0.0, allocated[live.size() - 1] - allocated[from]);
  double turnover = std::min(b2, made) + std::min(b1, std::max(0.0, made - rise));
  double noise = std::sqrt(turnover * static_cast<double>(mean_bytes));
  if (rise > TrendThresholds::kSampledRise * noise) return noise;
  v.trend = Trend::NotEnoughEvidence;
  v.shortfall = Shortfall::Sampling;
  // The mean that would make this rise stand out: noise scales with its square root.
  double ratio = rise > 0 ? rise / (TrendThresholds::kSampledRise * noise) : 0;
  v.needed = std::floor(static_cast<double>(mean_bytes) * ratio * ratio);
  return noise;
}

}  // namespace

GrowthFindings findGrowth(const ReplayResult& run, const std::vector<StackGroup>& groups, const GrowthOptions& options,
                          uint64_t limit_bytes) {
  GrowthFindings out;
  DayClock clock(run.markers);
  out.simulated_days = clock.days();
  out.sample_interval_ns = run.sample_interval_ns;
  const uint64_t window_end = analysisEnd(run);
  out.window_end_ns = window_end;

  out.process = judgeProcess(run, window_end, clock, limit_bytes);

  if (!run.has_series) {
    out.unavailable_reason =
        "per-site growth needs per-stack timelines: this aggregate trace has none (written by a tidemark before "
        "they were kept, or with neither the sampler, TIDEMARK_INTERVAL_MS=0, nor simulated dates)";
    return out;
  }
  out.available = true;
  out.bin_width_ns = run.series.binWidthNs();

  // Sites: the first frame of each folded stack; the stacks of all its groups summed.
  struct Site {
    const StackGroup* largest = nullptr;
    size_t groups = 0;
    std::vector<uint32_t> stacks;
  };
  std::map<std::string, Site> sites;
  for (const StackGroup& g : groups) {
    if (g.frames.empty() || g.heldForLife()) continue;
    Site& s = sites[siteKey(siteFrame(g.frames))];
    ++s.groups;
    s.stacks.insert(s.stacks.end(), g.stacks.begin(), g.stacks.end());
    if (!s.largest || g.peak_bytes + g.allocated_bytes > s.largest->peak_bytes + s.largest->allocated_bytes) s.largest = &g;
  }

  uint32_t bins = run.series.bins();
  double width_s = static_cast<double>(run.series.binWidthNs()) / kNsPerSecond;
  std::vector<double> t(bins);
  for (uint32_t b = 0; b < bins; ++b) t[b] = (b + 1) * width_s;  // end of each bin
  // Bins after the end of the run carry nothing new; stop at the run's end.
  uint32_t used = bins;
  // The bin holding the window's end also holds the events just after it (events take the time of
  // the latest sample): stop at the bin before, unless the run ended at its natural end.
  if (window_end && window_end < run.duration_ns)
    used = std::clamp<uint32_t>(static_cast<uint32_t>(window_end / run.series.binWidthNs()), 1, bins);
  else if (window_end)
    used = std::min<uint32_t>(bins, static_cast<uint32_t>(window_end / run.series.binWidthNs()) + 1);
  t.resize(used);

  // "Final" is the heap where the analysis window ends (before the teardown).
  double heap_peak = static_cast<double>(run.heap_peak), heap_final = static_cast<double>(run.heap_live);
  for (const TimelineSample& x : run.timeline)
    if (x.time_ns <= window_end) heap_final = static_cast<double>(x.heap);
  std::vector<double> last, peaks;
  std::vector<double> allocated, allocated_peaks;
  // A site matters when it held a share of the heap's peak or of its final value, and some bytes
  // (its peak at least, its final value at most its peak).
  auto matters = [&](double peak, double final_value) {
    return (peak >= options.min_share * heap_peak || final_value >= options.min_share * heap_final) &&
           peak >= static_cast<double>(options.min_bytes);
  };
  for (auto& [key, site] : sites) {
    // Most sites of a program are small: ruled out by a bound on their peak before any series.
    const auto bound = static_cast<double>(run.series.highestBound(site.stacks));
    if (!matters(bound, bound)) continue;
    run.series.sum(site.stacks, last, peaks);
    last.resize(used);
    peaks.resize(used);
    const double at_window_end = last.empty() ? 0 : last.back();
    if (run.sample_bytes) {
      run.allocated_series.sum(site.stacks, allocated, allocated_peaks);
      allocated.resize(used);
    }
    // The site's own teardown: events between two samples carry the earlier sample's time, so
    // the frees at the very end of a run can land inside the window. A fall to under half within
    // the last 3% of the steps is trimmed.
    std::vector<double> site_t = t;
    if (last.size() >= 32) {
      size_t recent_from = last.size() - last.size() / 5;
      double recent_max = *std::max_element(last.begin() + static_cast<long>(recent_from), last.end());
      size_t k = last.size() - 1;
      while (k > 0 && last[k] < 0.5 * recent_max) --k;
      if (last.size() - 1 - k <= std::max<size_t>(2, last.size() * 3 / 100) && last.back() < 0.5 * last[k]) {
        last.resize(k + 1);
        peaks.resize(k + 1);
        site_t.resize(k + 1);
      }
    }
    // Before its first allocation a site has no behaviour yet: its series starts there.
    size_t first_used = 0;
    while (first_used + 1 < last.size() && last[first_used] == 0 && peaks[first_used] == 0) ++first_used;
    if (first_used > 0) {
      if (run.sample_bytes) allocated.erase(allocated.begin(), allocated.begin() + static_cast<long>(first_used));
      last.erase(last.begin(), last.begin() + static_cast<long>(first_used));
      peaks.erase(peaks.begin(), peaks.begin() + static_cast<long>(first_used));
      site_t.erase(site_t.begin(), site_t.begin() + static_cast<long>(first_used));
    }
    double peak = *std::max_element(peaks.begin(), peaks.end());
    double final_value = last.empty() ? 0 : last.back();
    if (!matters(peak, final_value)) continue;
    SiteTrend st;
    st.frames = site.largest->frames;
    st.stack_groups = site.groups;
    st.span_s = site_t.empty() ? 0 : site_t.back() - site_t.front();
    // A bin's events take the time of the sample before them: the site was seen from there on.
    const size_t moments = site_t.empty() ? 0 : momentsBetween(run, site_t.front() - width_s, site_t.back());
    st.verdict = classifyTrend(site_t, last, peaks, std::max<size_t>(moments, 1), TrendThresholds::kMinSamples);
    // The same site per simulated day, from the day series (the bins are even in time, so a slow
    // day would weigh as much as the many bins it took).
    TrendVerdict by_day;
    if (clock.available()) {
      std::vector<double> day_x, day_y, day_peaks;
      daySeries(run.day_series, site.stacks, day_x, day_y, day_peaks);
      by_day = classifyTrend(day_x, day_y, day_peaks, day_x.size());
    }
    // Which axis speaks. When the run marks simulated days, the simulation is what is judged: the
    // day series (growth before day 1 is set-up; a process that slows down near its limit takes
    // longer per day, so its growth per second flattens while its growth per day does not; a cycle
    // of so many days can blur in wall time). Wall time speaks where the days are too few.
    const bool by_days = clock.available() && by_day.trend != Trend::NotEnoughEvidence;
    const size_t tail_from = tailStart(site_t.size());
    const double tail_seconds_per_day = clock.available() ? clock.secondsPerDayNear(site_t[tail_from], site_t.back()) : 0;
    if (by_days) {
      st.verdict = by_day;  // in days; in seconds below
      st.verdict.rate_per_s = tail_seconds_per_day > 0 ? by_day.rate_per_s / tail_seconds_per_day : 0;
      st.verdict.period_s = by_day.period_s * clock.secondsPerDayNear(site_t.front(), site_t.back());
      st.verdict.level_reached_s = clock.timeOfDay(by_day.level_reached_s);
      for (double& fall : st.verdict.fall_times) fall = clock.timeOfDay(fall);
    }
    if (run.sample_bytes && st.verdict.trend == Trend::Unbounded) {
      // The rates are slopes fitted on the tail (Theil-Sen). The sampled estimate is a sum of
      // independent blocks, so its noise along the tail is a random walk's, whose least-squares
      // slope has 6/5 the variance of its rise over the span divided by the span (Theil-Sen's
      // is close to it; Sampling.GrowthVerdictsFromTheSamples checks the interval).
      const double rise_sd = judgeSampledRise(st.verdict, last, allocated, run.sample_bytes);
      const double tail_s = site_t.back() - site_t[tail_from];
      if (st.verdict.trend == Trend::Unbounded && tail_s > 0) {
        const double error_per_s = 1.96 * std::sqrt(1.2) * rise_sd / tail_s;
        st.rate_error_per_hour = error_per_s * 3600;
        st.rate_error_per_day = error_per_s * tail_seconds_per_day;
      }
    }
    st.peak_bytes = static_cast<uint64_t>(peak);
    st.final_bytes = static_cast<uint64_t>(final_value);
    for (StackId id : site.stacks) st.exit_bytes += run.stacks[id].live_bytes;
    judgeRelease(st.verdict, run.interpreter.finalizing_ns ? at_window_end : static_cast<double>(st.exit_bytes), clock.available());
    // The day series' tail slope: exact for a leak of so much per day (a measurement, which needs
    // no more days than the verdict it goes with).
    if (st.verdict.trend == Trend::Unbounded && clock.available()) st.rate_per_day = by_day.rate_per_s;
    if (st.verdict.trend == Trend::Unbounded) st.rate_per_hour = st.verdict.rate_per_s * 3600;
    if (st.verdict.trend == Trend::Periodic && by_days) st.period_days = by_day.period_s;
    if (st.verdict.trend == Trend::Periodic && !by_days && clock.available() && st.verdict.fall_times.size() >= 2) {
      // The period in simulated days from the days of the falls (days need not take equal time).
      std::vector<double> gaps;
      for (size_t k = 1; k < st.verdict.fall_times.size(); ++k)
        gaps.push_back(clock.dayAt(st.verdict.fall_times[k]) - clock.dayAt(st.verdict.fall_times[k - 1]));
      st.period_days = periodOfGaps(std::move(gaps));
    }
    if (st.verdict.trend == Trend::Plateau && clock.available())
      st.level_reached_day = by_days ? std::max(1.0, by_day.level_reached_s)
                                     : std::max(1.0, std::ceil(clock.dayAt(st.verdict.level_reached_s)));
    out.sites.push_back(std::move(st));
  }
  std::stable_sort(out.sites.begin(), out.sites.end(), [](const SiteTrend& a, const SiteTrend& b) {
    bool ua = a.verdict.trend == Trend::Unbounded, ub = b.verdict.trend == Trend::Unbounded;
    if (ua != ub) return ua;
    return a.peak_bytes > b.peak_bytes;
  });
  return out;
}

}  // namespace tidemark
