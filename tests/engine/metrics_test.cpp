// Performance metrics on series computed by hand.
#include "portfolio/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace tidemark::engine;

namespace {

TEST(Metrics, SharpeRatioOfAHandComputedSeries) {
  // mean 0.005, sample standard deviation sqrt(0.0013 / 3) = 0.0208167,
  // 0.005 / 0.0208167 * sqrt(252) = 3.812933...
  std::vector<double> r = {0.01, -0.02, 0.03, 0.0};
  EXPECT_NEAR(sharpeRatio(r), 3.812933455813455, 1e-12);
  std::vector<double> r2 = {0.01, 0.02, -0.01, 0.005, -0.015, 0.02};
  EXPECT_NEAR(sharpeRatio(r2), 5.351295510095069, 1e-12);
  EXPECT_NEAR(annualVolatility(r2), 0.23545700244418302, 1e-12);
}

TEST(Metrics, SharpeRatioIsZeroWhenUndefined) {
  EXPECT_EQ(sharpeRatio(std::vector<double>{}), 0.0);
  EXPECT_EQ(sharpeRatio(std::vector<double>{0.01}), 0.0);
  EXPECT_EQ(sharpeRatio(std::vector<double>{0.01, 0.01, 0.01}), 0.0);
}

TEST(Metrics, MaxDrawdownIsTheDeepestFallFromAPeak) {
  EXPECT_DOUBLE_EQ(maxDrawdown(std::vector<double>{100, 110, 99, 105, 88, 120, 110}), 88.0 / 110.0 - 1.0);
  EXPECT_EQ(maxDrawdown(std::vector<double>{1, 2, 3, 4}), 0.0);
  EXPECT_DOUBLE_EQ(maxDrawdown(std::vector<double>{100, 50, 200, 120}), -0.5);
}

TEST(Metrics, TrackerFollowsThePortfolio) {
  MetricsTracker t(Money::fromDollars(100));
  Date d = Date::fromCivil(2024, 1, 2);
  std::vector<double> values = {110, 99, 105, 88, 120};
  for (double v : values) t.endOfSession(d, Money::fromDollars(v), Money(), 0, 0, 0);
  const auto& days = t.days();
  ASSERT_EQ(days.size(), 5u);
  EXPECT_NEAR(days[0].daily_return, 0.10, 1e-15);
  EXPECT_NEAR(days[1].daily_return, 99.0 / 110.0 - 1.0, 1e-15);
  EXPECT_EQ(days[1].pnl, Money::fromDollars(-11));
  EXPECT_NEAR(days[3].drawdown, 88.0 / 110.0 - 1.0, 1e-15);
  EXPECT_NEAR(t.maxDrawdown(), 88.0 / 110.0 - 1.0, 1e-15);
  EXPECT_NEAR(t.cumulativeReturn(), 0.2, 1e-15);
  EXPECT_EQ(t.pnl(), Money::fromDollars(20));
  std::vector<double> returns;
  for (const auto& r : days) returns.push_back(r.daily_return);
  EXPECT_NEAR(t.runningSharpe(), sharpeRatio(returns), 1e-12);
}

TEST(Metrics, TheStartingValueIsTheFirstPeak) {
  MetricsTracker t(Money::fromDollars(100));
  t.endOfSession(Date(), Money::fromDollars(90), Money(), 0, 0, 0);
  EXPECT_NEAR(t.maxDrawdown(), -0.1, 1e-15);
}

}  // namespace
