#include "execution/fill.h"

#include "execution/order.h"

namespace tidemark::engine {

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
