#include "execution/order.h"

namespace tidemark::engine {

void Order::releaseFills() { std::vector<std::shared_ptr<Fill>>().swap(fills); }

[[gnu::noinline]] std::shared_ptr<Order> makeOrder(OrderId id, AssetId asset, int64_t amount, uint64_t placed_bar) {
  auto order = std::make_shared<Order>();
  order->id = id;
  order->asset = asset;
  order->amount = amount;
  order->placed_bar = placed_bar;
  return order;
}

[[gnu::noinline]] std::shared_ptr<Fill> makeFill(const std::shared_ptr<Order>& order, int64_t amount, Money price,
                                                 Money commission, uint64_t bar) {
  auto fill = std::make_shared<Fill>();
  fill->order = order;
  fill->asset = order->asset;
  fill->amount = amount;
  fill->price = price;
  fill->commission = commission;
  fill->bar = bar;
  return fill;
}

}  // namespace tidemark::engine
