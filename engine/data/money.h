// An amount of US dollars in ticks of $0.0001, the bundle's price unit.
//
// Integer arithmetic keeps the ledger exact: cash, trade value and commission add up to the tick, so
// tests check accounting to the cent without tolerances. Doubles appear only at the edges (a
// slippage model's price, a metric's ratio).
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace tidemark::engine {

class Money {
 public:
  static constexpr int64_t kTicksPerDollar = 10000;

  constexpr Money() = default;
  static constexpr Money fromTicks(int64_t ticks) {
    Money m;
    m.ticks_ = ticks;
    return m;
  }
  // Rounded to the nearest tick, halves away from zero.
  static Money fromDollars(double dollars);

  constexpr int64_t ticks() const { return ticks_; }
  constexpr double dollars() const { return static_cast<double>(ticks_) / kTicksPerDollar; }
  // Rounded to the nearest cent, halves away from zero.
  int64_t cents() const;
  // "$1,234.56", "-$0.10": rounded to the cent.
  std::string str() const;

  constexpr Money operator-() const { return fromTicks(-ticks_); }
  constexpr Money operator+(Money o) const { return fromTicks(ticks_ + o.ticks_); }
  constexpr Money operator-(Money o) const { return fromTicks(ticks_ - o.ticks_); }
  constexpr Money operator*(int64_t n) const { return fromTicks(ticks_ * n); }
  constexpr Money& operator+=(Money o) {
    ticks_ += o.ticks_;
    return *this;
  }
  constexpr Money& operator-=(Money o) {
    ticks_ -= o.ticks_;
    return *this;
  }
  constexpr auto operator<=>(const Money&) const = default;

 private:
  int64_t ticks_ = 0;
};

}  // namespace tidemark::engine
