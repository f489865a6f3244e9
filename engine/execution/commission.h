// Commission per share with a minimum per order (zipline's PerShare: $0.001 a share, no minimum).
#pragma once

#include <cstdint>

#include "data/money.h"
#include "execution/order.h"

namespace tidemark::engine {

struct PerShareCommission {
  Money per_share = Money::fromTicks(10);  // $0.001
  Money min_per_order;

  // What this fill of `order` costs: the per-share cost, topped up so that the order as a whole
  // pays at least the minimum. `order.commission` is what it paid before this fill.
  Money forFill(const Order& order, int64_t shares) const {
    Money total = order.commission + per_share * (shares < 0 ? -shares : shares);
    if (total < min_per_order) total = min_per_order;
    return total - order.commission;
  }
};

}  // namespace tidemark::engine
