// An order, its lifecycle and its fills (part or all of an order executed in one bar). An order
// keeps its fills, and each fill points back at its order: the blotter breaks that cycle when it
// lets go of a closed order (Order::releaseFills). The leak-cycles fault skips that step, and every
// filled order leaks with its fills. The two types refer to each other, so they live together.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/market.h"
#include "data/money.h"

namespace tidemark::engine {

struct Fill;

enum class OrderId : uint64_t {};
enum class OrderStatus : uint8_t { Open, Filled, Cancelled };

struct Order {
  OrderId id{};
  AssetId asset{};
  int64_t amount = 0;       // shares, negative to sell
  int64_t filled = 0;       // shares so far, same sign as amount
  uint64_t placed_bar = 0;  // the bar sequence number when it was placed: it fills from the next one
  OrderStatus status = OrderStatus::Open;
  Money commission;  // charged so far
  std::vector<std::shared_ptr<Fill>> fills;

  int64_t remaining() const { return amount - filled; }
  // Drops the fills, and with them their references back to this order.
  void releaseFills();
};

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

// Every order is created here (one allocation site that a memory profile can name).
std::shared_ptr<Order> makeOrder(OrderId id, AssetId asset, int64_t amount, uint64_t placed_bar);

// Every fill is created here (one allocation site that a memory profile can name).
std::shared_ptr<Fill> makeFill(const std::shared_ptr<Order>& order, int64_t amount, Money price, Money commission,
                               uint64_t bar);

}  // namespace tidemark::engine
