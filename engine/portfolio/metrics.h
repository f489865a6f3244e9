// Performance metrics: daily returns, Sharpe ratio, drawdown, P&L; a record per session.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/date.h"
#include "data/money.h"

namespace tidemark::engine {

inline constexpr double kTradingDaysPerYear = 252.0;

// Annualized Sharpe ratio of daily returns with a zero risk-free rate: mean / sample standard
// deviation * sqrt(252), as empyrical computes it. 0 with fewer than two returns or no variation.
double sharpeRatio(std::span<const double> daily_returns);
// Sample standard deviation of daily returns * sqrt(252); 0 with fewer than two returns.
double annualVolatility(std::span<const double> daily_returns);
// The deepest fall from a running peak, as a fraction of the peak: 0 or negative.
double maxDrawdown(std::span<const double> values);

struct DailyRecord {
  Date date;
  Money portfolio_value;
  Money cash;
  Money pnl;  // today's
  double daily_return = 0;
  double cumulative_return = 0;
  double drawdown = 0;  // today's value against the peak so far
  uint32_t positions = 0;
  uint32_t orders = 0;  // placed today
  uint32_t fills = 0;   // today
};

// Follows the portfolio session by session, and keeps running figures for the progress line.
class MetricsTracker {
 public:
  explicit MetricsTracker(Money starting_value) : starting_value_(starting_value), peak_(starting_value) {}

  const DailyRecord& endOfSession(Date date, Money value, Money cash, uint32_t positions, uint32_t orders,
                                  uint32_t fills);

  void reserve(size_t sessions) { days_.reserve(sessions); }
  const std::vector<DailyRecord>& days() const { return days_; }
  Money startingValue() const { return starting_value_; }
  double cumulativeReturn() const { return days_.empty() ? 0.0 : days_.back().cumulative_return; }
  double maxDrawdown() const { return max_drawdown_; }
  Money pnl() const { return days_.empty() ? Money() : days_.back().portfolio_value - starting_value_; }
  // From running moments (Welford); equal to sharpeRatio() of the returns so far up to rounding.
  double runningSharpe() const;

 private:
  Money starting_value_;
  Money peak_;
  double max_drawdown_ = 0;
  uint64_t n_ = 0;
  double mean_ = 0, m2_ = 0;
  std::vector<DailyRecord> days_;
};

}  // namespace tidemark::engine
