// Cash and positions, to the tick: every fill moves cash by exactly its value plus commission.
#pragma once

#include <cstdint>
#include <map>

#include "data/data_portal.h"
#include "data/market.h"
#include "data/money.h"
#include "execution/order.h"

namespace tidemark::engine {

struct Position {
  int64_t shares = 0;  // negative when short
  Money cost_basis;    // average price paid per share (received, when short), rounded to the tick
};

class Ledger {
 public:
  explicit Ledger(Money starting_cash) : cash_(starting_cash) {}

  void apply(const Fill& fill);
  // Closes a position at `price` without commission (the asset stopped trading).
  void liquidate(AssetId asset, Money price);

  Money cash() const { return cash_; }
  Money commissions() const { return commissions_; }
  int64_t shares(AssetId asset) const;
  // Ordered by asset, so that anything computed by walking them is deterministic.
  const std::map<AssetId, Position>& positions() const { return positions_; }

  // Positions at each asset's last traded price.
  Money positionsValue(const DataPortal& portal) const;
  Money portfolioValue(const DataPortal& portal) const { return cash_ + positionsValue(portal); }

 private:
  Money cash_;
  Money commissions_;
  std::map<AssetId, Position> positions_;
};

}  // namespace tidemark::engine
