// "Leak or cache?": classifies a memory series (a site's live bytes, or the process's RSS) as
// unbounded growth, plateau, periodic, transient or steady, with robust statistics so that noise,
// one spike or allocator jitter does not flip the verdict. Method and thresholds: docs/findings.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tidemark {

enum class Trend { Steady, Unbounded, Plateau, Periodic, Transient, GrowsWithWork, NotEnoughEvidence };
const char* trendName(Trend t);

// What a series lacked for a verdict (Trend::NotEnoughEvidence), with TrendVerdict::needed.
enum class Shortfall {
  None,
  Moments,   // fewer distinct moments than the verdict needs (kMinMoments, kMinSamples)
  Sampling,  // sample mode: the growth is within what the sampling alone would make (needed: the
             // --sample-bytes that would tell)
};

struct TrendVerdict {
  Trend trend = Trend::Steady;
  double start = 0, end = 0, min = 0, max = 0;  // values of the series
  double peak = 0;                               // its highest value, short spikes included
  double rate_per_s = 0;                         // Unbounded, GrowsWithWork (and the tail of any series): slope
  double level = 0, level_reached_s = 0;         // Plateau
  double period_s = 0, amplitude = 0;            // Periodic
  int cycles = 0;                                // falls of at least half the range
  std::vector<double> fall_times;                // Periodic: when each fall happened (seconds)
  // The evidence. confidence: for Unbounded and Periodic, 1 - the chance that a series without
  // that pattern would show it this strongly (docs/findings.md); 0 where no test applies.
  double confidence = 0;
  size_t moments = 0;                            // distinct moments the series was observed at
  Shortfall shortfall = Shortfall::None;
  double needed = 0;                             // NotEnoughEvidence: moments or falls it would take
};

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
  // Evidence (docs/findings.md).
  static constexpr size_t kBlocks = 10;           // the tail's trend test: medians of 10 stretches
  static constexpr double kSignificance = 0.01;   // growth needs p < 1% (99% confidence)
  // Sample mode: the tail's rise must exceed this many standard errors of the sampling's own
  // noise on it (docs/findings.md).
  static constexpr double kSampledRise = 3;
  // Each of the tail's blocks needs a moment of its own: 10 / 40% = 25 moments in the run.
  static constexpr size_t kMinMoments = static_cast<size_t>(kBlocks / kTailShare + 0.5);
  // In wall time, 100 samples (1 s at the default 10 ms): a short run's start-up, work and teardown
  // blur, and sub-second runs got different verdicts run after run (sqlite3 sorting for 0.35 s:
  // plateau, grows with the work, not enough evidence). A simulated day is a unit of work: 25 do.
  static constexpr size_t kMinSamples = 100;
  static constexpr size_t kMinFalls = 5;          // periodic: random falls look this regular < 1.3% of the time
  static constexpr double kMinPeriodMoments = 5;  // a period of fewer moments is the sampling's own rhythm
};

// Where the tail of a series of n points starts (its last kTailShare).
inline size_t tailStart(size_t n) { return static_cast<size_t>(static_cast<double>(n) * (1.0 - TrendThresholds::kTailShare)); }

// Theil-Sen slope of y over x: the median of the pairwise slopes (at most `max_points` points,
// taken evenly, so the cost stays bounded).
double theilSen(const std::vector<double>& x, const std::vector<double>& y, size_t max_points = 600);

// The period of a cycle from the gaps between its falls. A cycle the series could not resolve (two
// bursts that fell into neighbouring bins) leaves a gap of twice the period: when every gap is
// within 20% of a whole multiple of the shortest usual gap, the period is their total over the
// number of periods they span; otherwise the median gap.
double periodOfGaps(std::vector<double> gaps);

// Mann-Kendall test for an increasing trend on the medians of `blocks` consecutive stretches of v
// (medians tame the autocorrelation of neighbouring steps): the one-sided p-value, from the normal
// approximation with continuity correction. 1 when there are fewer points than blocks.
double risingTrendP(const std::vector<double>& v, size_t blocks);

// The chance that falls at random times would look as regular as periodOfGaps() and the periodic
// test require (every gap within 20% of a whole multiple of the period, at most one missed cycle in
// two), for `falls` falls; from a simulation of uniform random fall times (docs/findings.md).
double chanceOfRegularFalls(size_t falls);

// t: seconds, increasing; y: values at those times (same length). `peaks`, if not empty, holds the
// highest value within each step (for spikes shorter than a step). `moments`: how many distinct
// moments the steps stand for (events take the time of the latest sample or marker, so steps finer
// than that repeat one moment); 0 when every step is its own.
// min_moments: the fewest moments a verdict on a moving series needs (kMinMoments for the test
// itself; kMinSamples for series in wall time).
TrendVerdict classifyTrend(const std::vector<double>& t, const std::vector<double>& y,
                           const std::vector<double>& peaks = {}, size_t moments = 0,
                           size_t min_moments = TrendThresholds::kMinMoments);


}  // namespace tidemark
