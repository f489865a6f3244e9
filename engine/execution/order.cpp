#include "execution/order.h"

#include "execution/fill.h"

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

}  // namespace tidemark::engine
