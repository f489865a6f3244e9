#include "execution/slippage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tidemark::engine {

namespace {

// Shares that fit in the bar: floor(limit * volume) minus what earlier orders took, capped by the
// order's remainder. Positive.
int64_t fillableShares(const Order& order, BarQuote bar, int64_t used, double volume_limit) {
  int64_t capacity = static_cast<int64_t>(std::floor(volume_limit * bar.volume)) - used;
  int64_t remaining = order.remaining() < 0 ? -order.remaining() : order.remaining();
  return std::max<int64_t>(0, std::min(capacity, remaining));
}

SlippageResult result(const Order& order, int64_t shares, double price_ticks) {
  if (shares == 0) return {};
  return {order.amount < 0 ? -shares : shares, Money::fromTicks(std::max<int64_t>(1, std::llround(price_ticks)))};
}

}  // namespace

SlippageResult VolumeShareSlippage::simulate(const Order& order, BarQuote bar, int64_t used) const {
  if (bar.price_ticks == 0 || bar.volume == 0) return {};
  int64_t shares = fillableShares(order, bar, used, volume_limit_);
  double share = std::min(static_cast<double>(shares) / bar.volume, volume_limit_);
  double impact = share * share * price_impact_ * bar.price_ticks;
  return result(order, shares, bar.price_ticks + (order.amount < 0 ? -impact : impact));
}

std::string VolumeShareSlippage::describe() const {
  return fmt::format("volume-share (limit {}, impact {})", volume_limit_, price_impact_);
}

SlippageResult FixedBasisPointsSlippage::simulate(const Order& order, BarQuote bar, int64_t used) const {
  if (bar.price_ticks == 0 || bar.volume == 0) return {};
  int64_t shares = fillableShares(order, bar, used, volume_limit_);
  double factor = 1.0 + (order.amount < 0 ? -basis_points_ : basis_points_) / 10000.0;
  return result(order, shares, bar.price_ticks * factor);
}

std::string FixedBasisPointsSlippage::describe() const {
  return fmt::format("fixed-bps ({} bps, limit {})", basis_points_, volume_limit_);
}

}  // namespace tidemark::engine
