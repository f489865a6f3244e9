// The trend classifier on synthetic series whose truth is known by construction.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "growth.h"
#include "site_series.h"
#include "verdict_text.h"

using namespace tidemark;

namespace {

constexpr size_t kN = 1000;

struct Series {
  std::vector<double> t, y;
};

template <typename F>
Series make(F f, double noise = 0, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0, 1);
  Series s;
  for (size_t i = 0; i < kN; ++i) {
    double t = static_cast<double>(i);  // one step per second
    s.t.push_back(t);
    s.y.push_back(std::max(0.0, f(t) + noise * gauss(rng)));
  }
  return s;
}

constexpr double kMiB = 1 << 20;

}  // namespace

TEST(Growth, TheilSenIgnoresOutliers) {
  std::vector<double> x, y;
  for (int i = 0; i < 100; ++i) {
    x.push_back(i);
    y.push_back(3.0 * i + (i % 10 == 0 ? 1e6 : 0.0));  // 10% wild points
  }
  EXPECT_DOUBLE_EQ(theilSen(x, y), 3.0);
}

TEST(Growth, LinearGrowthIsUnboundedWithItsRate) {
  auto s = make([](double t) { return 50 * kMiB + 1000.0 * t; }, 2000.0);
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Unbounded) << trendName(v.trend);
  EXPECT_NEAR(v.rate_per_s, 1000.0, 50.0);
}

TEST(Growth, LogarithmicLevellingOffIsAPlateau) {
  auto s = make([](double t) { return kMiB * std::log1p(t); });
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Plateau) << trendName(v.trend);
}

TEST(Growth, BoundedCacheWithNoiseIsAPlateauAtItsLevel) {
  // Fills to 100 MiB over the first fifth, then churns around it by +-3 MiB.
  auto s = make([](double t) { return t < 200 ? 100 * kMiB * t / 200 : 100 * kMiB; }, 3 * kMiB);
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Plateau) << trendName(v.trend);
  EXPECT_NEAR(v.level, 100 * kMiB, 2 * kMiB);
  EXPECT_NEAR(v.level_reached_s, 180, 25);
}

TEST(Growth, SawtoothIsPeriodicWithItsPeriodAndAmplitude) {
  auto s = make([](double t) { return 10 * kMiB + 40 * kMiB * std::fmod(t, 125.0) / 125.0; }, 0.5 * kMiB);
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Periodic) << trendName(v.trend);
  EXPECT_NEAR(v.period_s, 125, 3);
  EXPECT_NEAR(v.amplitude, 40 * kMiB, 4 * kMiB);
  EXPECT_GE(v.cycles, 7);
}

TEST(Growth, AnUnresolvedCycleDoesNotDoubleThePeriod) {
  // Two bursts merged into one (the engine's pipeline on a loaded machine): gaps of 42 and 83.4.
  EXPECT_NEAR(periodOfGaps({42.0, 83.4}), 125.4 / 3, 1e-9);
  EXPECT_NEAR(periodOfGaps({41.0, 84.0, 43.0, 42.0}), 210.0 / 5, 1e-9);
  // A regular cycle keeps its period; a stray short gap does not become it.
  EXPECT_DOUBLE_EQ(periodOfGaps({83.0, 83.0, 83.0}), 83.0);
  EXPECT_DOUBLE_EQ(periodOfGaps({42.0, 5.0, 42.0}), 42.0);
  // Gaps that are not multiples of one period: the median.
  EXPECT_DOUBLE_EQ(periodOfGaps({30.0, 50.0, 70.0}), 50.0);
  EXPECT_DOUBLE_EQ(periodOfGaps({}), 0.0);
}

TEST(Growth, SawtoothOnALeakIsUnbounded) {
  auto s = make([](double t) { return 20 * kMiB * std::fmod(t, 100.0) / 100.0 + 0.1 * kMiB * t; });
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Unbounded) << trendName(v.trend);
}

TEST(Growth, ASingleSpikeIsTransient) {
  auto s = make([](double t) { return (t >= 500 && t < 520) ? 300 * kMiB : 10 * kMiB; }, 0.2 * kMiB);
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Transient) << trendName(v.trend);
}

TEST(Growth, ASpikeShorterThanAStepShowsInThePeaks) {
  auto s = make([](double) { return 10 * kMiB; });
  std::vector<double> peaks = s.y;
  peaks[400] = 200 * kMiB;
  EXPECT_EQ(classifyTrend(s.t, s.y).trend, Trend::Steady);
  EXPECT_EQ(classifyTrend(s.t, s.y, peaks).trend, Trend::Transient);
}

// The same spike in the first step, above the level the site holds from then on: the site made its
// level in that step, temporaries and all (an import), as it would over several steps: a plateau.
TEST(Growth, ASpikeInTheFirstStepBuildsAPlateau) {
  auto s = make([](double) { return 10 * kMiB; });
  std::vector<double> peaks = s.y;
  peaks[0] = 25 * kMiB;
  TrendVerdict v = classifyTrend(s.t, s.y, peaks);
  EXPECT_EQ(v.trend, Trend::Plateau) << trendName(v.trend);
  EXPECT_DOUBLE_EQ(v.level, 10 * kMiB);
  EXPECT_DOUBLE_EQ(v.level_reached_s, s.t[0]);
  peaks[1] = 25 * kMiB;  // and once more later: memory that came and went
  EXPECT_EQ(classifyTrend(s.t, s.y, peaks).trend, Trend::Transient);
}

TEST(Growth, NoiseAroundAConstantIsSteady) {
  auto s = make([](double) { return 64 * kMiB; }, 0.5 * kMiB);
  EXPECT_EQ(classifyTrend(s.t, s.y).trend, Trend::Steady);
}

TEST(Growth, DoublingContainerIsUnbounded) {
  // A vector filled at a constant rate: capacity doubles at t = 15, 31, 62, 125, 250, 500, 999...
  auto s = make([](double t) { return std::exp2(std::ceil(std::log2(1 + 1000.0 * (t + 1) / 16))) * 16; });
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_EQ(v.trend, Trend::Unbounded) << trendName(v.trend);
}

TEST(Growth, WarmUpThenFlatIsAPlateauNotGrowth) {
  // Doubling steps early on (a hash table warming up), then 80% of the run flat.
  auto s = make([](double t) { return t < 200 ? std::exp2(std::ceil(std::log2(1 + t))) * kMiB / 4 : 64 * kMiB; });
  EXPECT_EQ(classifyTrend(s.t, s.y).trend, Trend::Plateau);
}

TEST(Growth, TooShortOrEmptyIsSteady) {
  EXPECT_EQ(classifyTrend({}, {}).trend, Trend::Steady);
  EXPECT_EQ(classifyTrend({0, 1, 2}, {1, 5, 9}).trend, Trend::Steady);
}

// Evidence: each verdict rests on enough of it, and says how strong it is.

TEST(GrowthEvidence, TheTrendTestKnowsARiseFromNoise) {
  std::vector<double> rising, shuffled;
  for (int i = 0; i < 100; ++i) rising.push_back(i);
  EXPECT_LT(risingTrendP(rising, 10), 1e-4);  // ten rising medians: p about 3e-5
  std::mt19937 rng(3);
  std::normal_distribution<double> gauss(0, 1);
  int significant = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    std::vector<double> noise;
    for (int i = 0; i < 100; ++i) noise.push_back(gauss(rng));
    significant += risingTrendP(noise, 10) < TrendThresholds::kSignificance;
  }
  EXPECT_LE(significant, 15);  // about 1% of pure noise passes a 1% test
  EXPECT_EQ(risingTrendP({1, 2, 3}, 10), 1);  // fewer points than blocks: no evidence
}

TEST(GrowthEvidence, GrowthSeenAtTooFewMomentsIsNotJudged) {
  auto s = make([](double t) { return 10 * kMiB + 0.1 * kMiB * t; });
  // A thousand steps, but events only took 20 distinct times (a short run sampled every 10 ms).
  TrendVerdict v = classifyTrend(s.t, s.y, {}, 20);
  EXPECT_EQ(v.trend, Trend::NotEnoughEvidence);
  EXPECT_EQ(v.shortfall, Shortfall::Moments);
  EXPECT_EQ(v.needed, TrendThresholds::kMinMoments);
  EXPECT_EQ(v.moments, 20u);
  v = classifyTrend(s.t, s.y, {}, 25);
  EXPECT_EQ(v.trend, Trend::Unbounded);
  EXPECT_GT(v.confidence, 0.99);
}

// Memory that comes and goes within every step holds 0 B at each step's end; what the site did is
// in its spikes, and the shortfall says how high they went (a QuantLib example's tree, built and
// freed within each pricing, read "between 0 B and 0 B").
TEST(GrowthEvidence, ASiteSeenOnlyInItsSpikesSaysHowHighTheyWent) {
  std::vector<double> t, y, peaks;
  for (int i = 0; i < 760; ++i) {
    t.push_back(i * 1e-4);
    y.push_back(0);
    peaks.push_back(i % 250 == 0 ? kMiB : 0);
  }
  TrendVerdict v = classifyTrend(t, y, peaks, 3);
  EXPECT_EQ(v.trend, Trend::NotEnoughEvidence);
  EXPECT_EQ(v.peak, kMiB);
  EXPECT_EQ(describeProcessVerdict(v, 0.0759),
            "not enough evidence: at 0 B, with spikes to 1.00 MiB, over 75 ms, seen at 3 moments of the 25 a verdict "
            "takes");
}

TEST(GrowthEvidence, ACycleNeedsFiveRegularFalls) {
  // Three falls of a 300 s cycle in 1,000 s: regular, but too few to call periodic.
  auto few = make([](double t) { return 10 * kMiB + 40 * kMiB * std::fmod(t, 300.0) / 300.0; });
  TrendVerdict v = classifyTrend(few.t, few.y);
  EXPECT_NE(v.trend, Trend::Periodic) << trendName(v.trend);
  EXPECT_NE(v.trend, Trend::Unbounded) << trendName(v.trend);
  EXPECT_EQ(v.cycles, 3);
  // Seven falls of a 125 s cycle: periodic, with the chance of random falls looking as regular.
  auto many = make([](double t) { return 10 * kMiB + 40 * kMiB * std::fmod(t, 125.0) / 125.0; });
  v = classifyTrend(many.t, many.y);
  EXPECT_EQ(v.trend, Trend::Periodic);
  EXPECT_NEAR(v.confidence, 1 - chanceOfRegularFalls(static_cast<size_t>(v.cycles)), 1e-12);
  EXPECT_GT(v.confidence, 0.999);
}

TEST(GrowthEvidence, FallsAtTheSamplingsOwnRhythmAreNotACycle) {
  // A cycle of 125 steps, but the steps stand for 30 moments: falls 4 moments apart.
  auto s = make([](double t) { return 10 * kMiB + 40 * kMiB * std::fmod(t, 125.0) / 125.0; });
  TrendVerdict v = classifyTrend(s.t, s.y, {}, 30);
  EXPECT_NE(v.trend, Trend::Periodic) << trendName(v.trend);
  EXPECT_NE(v.trend, Trend::Unbounded) << trendName(v.trend);
}

TEST(GrowthEvidence, IrregularFallsAreNotPeriodic) {
  // Five falls at gaps of 90, 260, 120 and 300 steps.
  std::vector<double> falls{100, 190, 450, 570, 870};
  auto s = make([&](double t) {
    double since = t;
    for (double f : falls)
      if (t >= f) since = t - f;
    return 10 * kMiB + 0.3 * kMiB * since;
  });
  TrendVerdict v = classifyTrend(s.t, s.y);
  EXPECT_NE(v.trend, Trend::Periodic) << v.period_s;
  EXPECT_NE(v.trend, Trend::Unbounded);
}

// The moments a chart and a range are drawn at: evenly spaced, never more than asked, the last bin always.
TEST(SeriesMoments, EvenBinsEndAtTheLastBinAndNeverExceedTheCount) {
  EXPECT_TRUE(tidemark::evenBins(0, 300).empty());
  EXPECT_EQ(tidemark::evenBins(5, 300), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(tidemark::evenBins(10, 4), (std::vector<uint32_t>{2, 5, 8, 9}));
  std::vector<uint32_t> at = tidemark::evenBins(1024, 300);
  EXPECT_LE(at.size(), 301u);  // step 4: 256 moments, and the last
  EXPECT_EQ(at.back(), 1023u);
  for (size_t i = 1; i + 1 < at.size(); ++i) EXPECT_EQ(at[i] - at[i - 1], 4u);
}
