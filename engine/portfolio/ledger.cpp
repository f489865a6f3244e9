#include "portfolio/ledger.h"

#include <cmath>

namespace tidemark::engine {

void Ledger::apply(const Fill& fill) {
  cash_ -= fill.value() + fill.commission;
  commissions_ += fill.commission;
  Position& p = positions_[fill.asset];
  int64_t before = p.shares, after = before + fill.amount;
  if (after == 0) {
    positions_.erase(fill.asset);
    return;
  }
  if (before == 0 || (before < 0) != (after < 0)) {
    p.cost_basis = fill.price;  // opened, or flipped from long to short (or back)
  } else if ((fill.amount < 0) == (before < 0)) {
    // Added to the position: the average of old and new, rounded to the tick.
    double total =
        static_cast<double>(p.cost_basis.ticks()) * before + static_cast<double>(fill.price.ticks()) * fill.amount;
    p.cost_basis = Money::fromTicks(std::llround(total / after));
  }
  p.shares = after;
}

void Ledger::liquidate(AssetId asset, Money price) {
  auto it = positions_.find(asset);
  if (it == positions_.end()) return;
  cash_ += price * it->second.shares;
  positions_.erase(it);
}

int64_t Ledger::shares(AssetId asset) const {
  auto it = positions_.find(asset);
  return it == positions_.end() ? 0 : it->second.shares;
}

Money Ledger::positionsValue(const DataPortal& portal) const {
  Money value;
  for (const auto& [asset, p] : positions_) value += portal.lastPrice(asset) * p.shares;
  return value;
}

}  // namespace tidemark::engine
