#include "portfolio/metrics.h"

#include <algorithm>
#include <cmath>

namespace tidemark::engine {

namespace {

double sampleStddev(std::span<const double> r, double mean) {
  double ss = 0;
  for (double x : r) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(r.size() - 1));
}

double mean(std::span<const double> r) {
  double sum = 0;
  for (double x : r) sum += x;
  return sum / static_cast<double>(r.size());
}

}  // namespace

double sharpeRatio(std::span<const double> daily_returns) {
  if (daily_returns.size() < 2) return 0.0;
  double m = mean(daily_returns);
  double sd = sampleStddev(daily_returns, m);
  return sd > 0 ? m / sd * std::sqrt(kTradingDaysPerYear) : 0.0;
}

double annualVolatility(std::span<const double> daily_returns) {
  if (daily_returns.size() < 2) return 0.0;
  return sampleStddev(daily_returns, mean(daily_returns)) * std::sqrt(kTradingDaysPerYear);
}

double maxDrawdown(std::span<const double> values) {
  double peak = -INFINITY, worst = 0;
  for (double v : values) {
    peak = std::max(peak, v);
    if (peak > 0) worst = std::min(worst, v / peak - 1.0);
  }
  return worst;
}

const DailyRecord& MetricsTracker::endOfSession(Date date, Money value, Money cash, uint32_t positions, uint32_t orders,
                                                uint32_t fills) {
  Money previous = days_.empty() ? starting_value_ : days_.back().portfolio_value;
  DailyRecord r;
  r.date = date;
  r.portfolio_value = value;
  r.cash = cash;
  r.pnl = value - previous;
  r.daily_return = previous.ticks() != 0 ? value.dollars() / previous.dollars() - 1.0 : 0.0;
  r.cumulative_return = starting_value_.ticks() != 0 ? value.dollars() / starting_value_.dollars() - 1.0 : 0.0;
  peak_ = std::max(peak_, value);
  r.drawdown = peak_.ticks() > 0 ? value.dollars() / peak_.dollars() - 1.0 : 0.0;
  max_drawdown_ = std::min(max_drawdown_, r.drawdown);
  r.positions = positions;
  r.orders = orders;
  r.fills = fills;
  ++n_;
  double delta = r.daily_return - mean_;
  mean_ += delta / static_cast<double>(n_);
  m2_ += delta * (r.daily_return - mean_);
  days_.push_back(r);
  return days_.back();
}

double MetricsTracker::runningSharpe() const {
  if (n_ < 2) return 0.0;
  double sd = std::sqrt(m2_ / static_cast<double>(n_ - 1));
  return sd > 0 ? mean_ / sd * std::sqrt(kTradingDaysPerYear) : 0.0;
}

}  // namespace tidemark::engine
