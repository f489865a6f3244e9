#include "growth.h"

#include <algorithm>
#include <cmath>

namespace tidemark {

const char* trendName(Trend t) {
  switch (t) {
    case Trend::Steady: return "steady";
    case Trend::Unbounded: return "unbounded growth";
    case Trend::Plateau: return "plateau";
    case Trend::Periodic: return "periodic";
    case Trend::Transient: return "transient";
    case Trend::GrowsWithWork: return "grows with the work";
    case Trend::NotEnoughEvidence: return "not enough evidence";
  }
  return "?";
}

double theilSen(const std::vector<double>& x, const std::vector<double>& y, size_t max_points) {
  size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0;
  std::vector<size_t> idx;
  if (n <= max_points) {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (size_t k = 0; k < max_points; ++k) idx.push_back(k * (n - 1) / (max_points - 1));
  }
  std::vector<double> slopes;
  slopes.reserve(idx.size() * (idx.size() - 1) / 2);
  for (size_t a = 0; a < idx.size(); ++a)
    for (size_t b = a + 1; b < idx.size(); ++b) {
      double dx = x[idx[b]] - x[idx[a]];
      if (dx > 0) slopes.push_back((y[idx[b]] - y[idx[a]]) / dx);
    }
  if (slopes.empty()) return 0;
  auto mid = slopes.begin() + static_cast<long>(slopes.size() / 2);
  std::nth_element(slopes.begin(), mid, slopes.end());
  return *mid;
}

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<long>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

struct Swings {
  std::vector<double> peaks, troughs;     // values
  std::vector<double> fall_times;         // when each fall completed
  std::vector<double> trough_times;
};

// Walks the series with hysteresis: a fall is a drop of `swing` below the running peak, a rise a
// climb of `swing` above the running trough. Noise smaller than the swing never counts.
Swings findSwings(const std::vector<double>& t, const std::vector<double>& y, double swing) {
  Swings s;
  bool rising = true;  // looking for a fall
  double extreme = y[0];
  double extreme_t = t[0];
  for (size_t i = 1; i < y.size(); ++i) {
    if (rising) {
      if (y[i] > extreme) extreme = y[i], extreme_t = t[i];
      if (y[i] < extreme - swing) {
        s.peaks.push_back(extreme);
        s.fall_times.push_back(t[i]);
        rising = false;
        extreme = y[i];
        extreme_t = t[i];
      }
    } else {
      if (y[i] < extreme) extreme = y[i], extreme_t = t[i];
      if (y[i] > extreme + swing) {
        s.troughs.push_back(extreme);
        s.trough_times.push_back(extreme_t);
        rising = true;
        extreme = y[i];
        extreme_t = t[i];
      }
    }
  }
  return s;
}

}  // namespace

double risingTrendP(const std::vector<double>& v, size_t blocks) {
  if (blocks < 2 || v.size() < blocks) return 1;
  std::vector<double> medians;
  for (size_t b = 0; b < blocks; ++b)
    medians.push_back(median(std::vector<double>(v.begin() + static_cast<long>(b * v.size() / blocks),
                                                 v.begin() + static_cast<long>((b + 1) * v.size() / blocks))));
  double s = 0;
  for (size_t i = 0; i < blocks; ++i)
    for (size_t j = i + 1; j < blocks; ++j) s += (medians[j] > medians[i]) - (medians[j] < medians[i]);
  // Ties (flat stretches) make the true variance smaller: the untied one errs towards "no trend".
  const double n = static_cast<double>(blocks);
  double variance = n * (n - 1) * (2 * n + 5) / 18;
  if (s <= 0) return 1;
  double z = (s - 1) / std::sqrt(variance);
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

double chanceOfRegularFalls(size_t falls) {
  // One million uniform draws per count (two million from 8): 5 falls 1.20%, 6 0.19%, 7 0.051%,
  // 8 0.0097%, 9 0.0027%; fewer than 5 are not judged.
  static const double kChance[] = {1, 1, 1, 1, 1, 0.0120, 0.0019, 0.00051, 0.000097, 0.000027};
  return falls < std::size(kChance) ? kChance[falls] : kChance[std::size(kChance) - 1];
}

namespace {

// Is a set of falls a cycle? Every gap within 20% of a whole multiple of the period, and no more
// than one cycle in two missed (the falls of a cycle the steps could not resolve).
bool regularFalls(const std::vector<double>& fall_times, double period) {
  if (fall_times.size() < 2 || period <= 0) return false;
  double periods = 0;
  for (size_t i = 1; i < fall_times.size(); ++i) {
    double ratio = (fall_times[i] - fall_times[i - 1]) / period;
    double k = std::round(ratio);
    if (k < 1 || std::fabs(ratio - k) > 0.2) return false;
    periods += k;
  }
  return 2 * periods <= 3 * static_cast<double>(fall_times.size() - 1);
}

}  // namespace

double periodOfGaps(std::vector<double> gaps) {
  if (gaps.empty()) return 0;
  double usual = median(gaps);
  // The shortest gap that is not a stray (at least 40% of the median).
  double base = usual;
  for (double g : gaps)
    if (g >= 0.4 * usual && g < base) base = g;
  if (base <= 0) return usual;
  double total = 0, periods = 0;
  for (double g : gaps) {
    double k = std::round(g / base);
    if (k < 1 || std::fabs(g / base - k) > 0.2) return usual;
    total += g;
    periods += k;
  }
  return total / periods;
}

namespace {

// A verdict the evidence cannot carry: what it lacked and how much it would take.
TrendVerdict& notEnough(TrendVerdict& v, Shortfall shortfall, double needed) {
  v.trend = Trend::NotEnoughEvidence;
  v.shortfall = shortfall;
  v.needed = needed;
  v.confidence = 0;
  return v;
}

// Periodic when the falls are many enough, far enough apart to be told from the sampling, and
// regular; false (v untouched) otherwise, so that the other rules judge the series' level: fewer
// falls are no evidence of a cycle either way, and calling them "not enough evidence" made the
// verdict flip with the regularity of two or three gaps.
bool judgeCycle(TrendVerdict& v, const std::vector<double>& fall_times, double resolution_s) {
  using T = TrendThresholds;
  if (fall_times.size() < T::kMinFalls) return false;
  std::vector<double> gaps;
  for (size_t i = 1; i < fall_times.size(); ++i) gaps.push_back(fall_times[i] - fall_times[i - 1]);
  double period = periodOfGaps(gaps);
  if (!regularFalls(fall_times, period) || period < T::kMinPeriodMoments * resolution_s) return false;
  v.period_s = period;
  v.cycles = static_cast<int>(fall_times.size());
  v.fall_times = fall_times;
  v.trend = Trend::Periodic;
  v.confidence = 1 - chanceOfRegularFalls(fall_times.size());
  return true;
}

}  // namespace

TrendVerdict classifyTrend(const std::vector<double>& t, const std::vector<double>& y_in,
                           const std::vector<double>& peaks_in, size_t moments, size_t min_moments) {
  using T = TrendThresholds;
  TrendVerdict v;
  size_t n = std::min(t.size(), y_in.size());
  if (n == 0) return v;
  v.moments = moments ? std::min(moments, n) : n;
  // A value that lasts a moment only (realloc holding the old and the new buffer while it copies)
  // is not a level: each step takes the lowest value of the next 1% of the run (at least two
  // steps). Short spikes stay visible through `peaks`.
  std::vector<double> y(y_in.begin(), y_in.begin() + static_cast<long>(n));
  size_t window = std::max<size_t>(2, n / 100);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = i + 1; k < std::min(n, i + window); ++k) y[i] = std::min(y[i], y_in[k]);
  v.start = y.front();
  v.end = y.back();
  v.min = *std::min_element(y.begin(), y.end());
  v.max = *std::max_element(y.begin(), y.end());
  double peak_max = v.max;
  if (peaks_in.size() >= n) peak_max = std::max(peak_max, *std::max_element(peaks_in.begin(), peaks_in.begin() + static_cast<long>(n)));
  v.peak = peak_max;
  double range = v.max - v.min;
  double duration = t[n - 1] - t[0];
  const double resolution_s = v.moments > 1 ? duration / static_cast<double>(v.moments - 1) : duration;

  // Tail slope, for every verdict (the RSS trend uses it).
  size_t tail_from = tailStart(n);
  std::vector<double> tail_t(t.begin() + static_cast<long>(tail_from), t.begin() + static_cast<long>(n));
  std::vector<double> tail_y(y.begin() + static_cast<long>(tail_from), y.end());
  v.rate_per_s = theilSen(tail_t, tail_y);

  if (n < 8 || duration <= 0) return v;  // too short to say more than steady
  // Is there a trend at all? The whole-run Theil-Sen line against the noise around it (median
  // absolute deviation): a change over the run smaller than 3 of those is jitter.
  double slope = theilSen(t, y);
  std::vector<double> residuals(n);
  double t0 = t[0];
  std::vector<double> offsets(n);
  for (size_t i = 0; i < n; ++i) offsets[i] = y[i] - slope * (t[i] - t0);
  double intercept = median(offsets);
  for (size_t i = 0; i < n; ++i) residuals[i] = std::fabs(offsets[i] - intercept);
  double noise = 1.4826 * median(residuals);
  bool trending = std::fabs(slope * duration) > 3 * noise + 1e-9;
  const bool enough = v.moments >= min_moments;
  if ((range <= T::kFlat * v.max && !trending) || v.max <= 0) {
    // Flat at the end-of-step resolution; a short spike may still show in the per-step peaks.
    if (peak_max > v.max * (1 + T::kSwing) && peak_max - v.max > T::kFlat * peak_max) {
      if (!enough) return notEnough(v, Shortfall::Moments, static_cast<double>(min_moments));
      // A spike in the first step only, above a level held from then on: the site made its level
      // in that step, temporaries and all (an import): a plateau reached then, as when the same
      // work spans a few steps. Called transient, the verdict flipped with the step it fell in.
      const double spike_limit = v.max * (1 + T::kSwing);
      bool later_spike = false;
      for (size_t i = 1; i < n && i < peaks_in.size(); ++i) later_spike = later_spike || peaks_in[i] > spike_limit;
      if (!later_spike && v.min > 0) {
        v.trend = Trend::Plateau;
        v.level = median(std::vector<double>(y_in.begin(), y_in.begin() + static_cast<long>(n)));
        v.level_reached_s = t[0];
        return v;
      }
      v.trend = Trend::Transient;
    }
    return v;
  }
  // Something moves: saying what takes enough moments.
  if (!enough) return notEnough(v, Shortfall::Moments, static_cast<double>(min_moments));

  Swings sw = findSwings(t, y, T::kSwing * range);
  v.cycles = static_cast<int>(sw.fall_times.size());
  // The per-step highs see cycles too short for the smoothed values (work that holds two chunks
  // only while it computes the next, say).
  Swings bursts;
  double high_min = 0, high_range = 0;
  if (peaks_in.size() >= n) {
    std::vector<double> highs(peaks_in.begin(), peaks_in.begin() + static_cast<long>(n));
    high_min = *std::min_element(highs.begin(), highs.end());
    high_range = *std::max_element(highs.begin(), highs.end()) - high_min;
    bursts = findSwings(t, highs, T::kBurstSwing * high_range);
  }
  if (v.cycles >= 2) {
    v.amplitude = median(sw.peaks) - (sw.troughs.empty() ? v.min : median(sw.troughs));
    // Cycles riding on growth: the troughs (or the peaks) keep rising, and the run's stretches
    // rise as a whole.
    double trough_rise = 0;
    if (sw.troughs.size() >= 2) trough_rise = sw.troughs.back() - sw.troughs.front();
    double peak_rise = sw.peaks.back() - sw.peaks.front();
    double p = risingTrendP(y, T::kBlocks);
    if (std::min(trough_rise, peak_rise) > T::kTrendUnderCycles * v.amplitude &&
        v.end > sw.troughs.front() + T::kTrendUnderCycles * v.amplitude && p < T::kSignificance) {
      v.trend = Trend::Unbounded;
      v.rate_per_s = theilSen(t, y);
      v.confidence = 1 - p;
      return v;
    }
    // When the highs count more cycles (some dips shorter than the smoothing), they give the period.
    const std::vector<double>& falls = bursts.fall_times.size() > sw.fall_times.size() ? bursts.fall_times : sw.fall_times;
    if (judgeCycle(v, falls, resolution_s)) return v;
    v.period_s = 0;
    v.amplitude = 0;
    // Irregular falls: memory that comes and goes without a rhythm; the rules below judge its level.
  }

  // A container that doubles its capacity as it fills grows in steps at geometric intervals: flat
  // between steps, so the tail alone may look levelled. Three or more jumps of 30% or more, the
  // last in the second half of the run (the next is due within the run's length again), is growth.
  {
    std::vector<double> jump_t, jump_y;
    for (size_t i = 1; i < n; ++i)
      if (y[i] > y[i - 1] * 1.3 && y[i] - y[i - 1] > T::kFlat * range) {
        jump_t.push_back(t[i]);
        jump_y.push_back(y[i]);
      }
    bool climbing = jump_y.size() >= 3 && jump_y.back() >= 2 * jump_y.front();
    for (size_t k = 1; climbing && k < jump_y.size(); ++k) climbing = jump_y[k] >= jump_y[k - 1];
    double p = climbing ? risingTrendP(y, T::kBlocks) : 1;
    if (climbing && v.cycles == 0 && jump_t.back() - t[0] >= 0.5 * duration &&
        v.end >= v.max - T::kFlat * range && p < T::kSignificance) {
      v.trend = Trend::Unbounded;
      v.rate_per_s = theilSen(jump_t, jump_y);
      v.confidence = 1 - p;
      return v;
    }
  }

  double tail_growth = v.rate_per_s * (tail_t.back() - tail_t.front());
  if (tail_growth > T::kTailGrowth * range && v.end >= v.max - T::kSwing * range) {
    double p = risingTrendP(tail_y, T::kBlocks);
    if (p < T::kSignificance) {
      v.trend = Trend::Unbounded;
      v.confidence = 1 - p;
      return v;
    }
  }
  // Regular bursts in the per-step highs alone: periodic.
  if (high_range > T::kFlat * peak_max && bursts.fall_times.size() >= 2) {
    TrendVerdict cycle = v;
    if (judgeCycle(cycle, bursts.fall_times, resolution_s)) {
      cycle.amplitude = median(bursts.peaks) - (bursts.troughs.empty() ? high_min : median(bursts.troughs));
      return cycle;
    }
  }
  // The level from the raw values (the filtered ones lean low).
  double level = median(std::vector<double>(y_in.begin() + static_cast<long>(tail_from), y_in.begin() + static_cast<long>(n)));
  if (v.cycles >= 1 && v.end < v.min + T::kSwing * range) {
    v.trend = Trend::Transient;  // rose and came back down
    // Rose through the run and fell once at its end: a working set that grew with the work.
    size_t fall = static_cast<size_t>(std::lower_bound(t.begin(), t.begin() + static_cast<long>(n), sw.fall_times.front()) - t.begin());
    std::vector<double> rise(y.begin(), y.begin() + static_cast<long>(fall));
    double p = v.cycles == 1 && t[fall] >= t0 + 0.8 * duration ? risingTrendP(rise, T::kBlocks) : 1;
    if (p < T::kSignificance) {
      v.trend = Trend::GrowsWithWork;
      v.confidence = 1 - p;
      v.rate_per_s = theilSen(std::vector<double>(t.begin(), t.begin() + static_cast<long>(fall)), rise);
      v.fall_times = sw.fall_times;
    }
    return v;
  }
  if (level - v.start > T::kRose * range) {
    v.trend = Trend::Plateau;
    v.level = level;
    // Reached: the first time the series comes within 10% of the range of its level.
    double target = level - 0.1 * range;
    for (size_t i = 0; i < n; ++i)
      if (y[i] >= target) {
        v.level_reached_s = t[i];
        break;
      }
    return v;
  }
  v.trend = v.max > v.end + T::kSwing * range ? Trend::Transient : Trend::Steady;
  return v;
}

}  // namespace tidemark
