// "Leak or cache?": classifies a memory series (a site's live bytes, or the process's RSS) as
// unbounded growth, plateau, periodic, transient or steady, with robust statistics so that noise,
// one spike or allocator jitter does not flip the verdict. Method and thresholds: docs/findings.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tidemark {

enum class Trend { Steady, Unbounded, Plateau, Periodic, Transient };
const char* trendName(Trend t);

struct TrendVerdict {
  Trend trend = Trend::Steady;
  double start = 0, end = 0, min = 0, max = 0;  // values of the series
  double rate_per_s = 0;                         // Unbounded (and the tail of any series): slope
  double level = 0, level_reached_s = 0;         // Plateau
  double period_s = 0, amplitude = 0;            // Periodic
  int cycles = 0;                                // falls of at least half the range
  std::vector<double> fall_times;                // Periodic: when each fall happened (seconds)
};

// Theil-Sen slope of y over x: the median of the pairwise slopes (at most `max_points` points,
// taken evenly, so the cost stays bounded).
double theilSen(const std::vector<double>& x, const std::vector<double>& y, size_t max_points = 600);

// The period of a cycle from the gaps between its falls. A cycle the series could not resolve (two
// bursts that fell into neighbouring bins) leaves a gap of twice the period: when every gap is
// within 20% of a whole multiple of the shortest usual gap, the period is their total over the
// number of periods they span; otherwise the median gap.
double periodOfGaps(std::vector<double> gaps);

// t: seconds, increasing; y: values at those times (same length). `peaks`, if not empty, holds the
// highest value within each step (for spikes shorter than a step).
TrendVerdict classifyTrend(const std::vector<double>& t, const std::vector<double>& y,
                           const std::vector<double>& peaks = {});

// Thresholds, documented in docs/findings.md.
struct TrendThresholds {
  static constexpr double kFlat = 0.05;         // range below 5% of the max: steady
  static constexpr double kSwing = 0.5;         // a fall or rise counts when it spans half the range
  static constexpr double kBurstSwing = 0.35;   // in the per-step highs: a burst to twice a level
                                                // is a fall of half the range at most, so less
  static constexpr double kTailShare = 0.4;     // the tail is the last 40% of the run
  static constexpr double kTailGrowth = 0.15;   // tail growth above 15% of the range: unbounded
  static constexpr double kRose = 0.2;          // grew by 20% of the range before the tail: plateau
  static constexpr double kTrendUnderCycles = 0.5;  // troughs rising by half the amplitude: unbounded
};

}  // namespace tidemark
