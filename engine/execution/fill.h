// A fill: part or all of an order executed in one bar.
#pragma once

#include <cstdint>
#include <memory>

#include "data/market.h"
#include "execution/money.h"

namespace tidemark::engine {

struct Order;

struct Fill {
  // A strong reference: the order and its fills keep each other alive until Order::releaseFills.
  std::shared_ptr<Order> order;
  AssetId asset{};
  int64_t amount = 0;  // shares, negative for a sale
  Money price;         // per share, after slippage
  Money commission;
  uint64_t bar = 0;

  Money value() const { return price * amount; }  // what the shares cost (negative for a sale)
};

// Every fill is created here (one allocation site that a memory profile can name).
std::shared_ptr<Fill> makeFill(const std::shared_ptr<Order>& order, int64_t amount, Money price, Money commission,
                               uint64_t bar);

}  // namespace tidemark::engine
