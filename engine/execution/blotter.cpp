#include "execution/blotter.h"

#include <algorithm>

namespace tidemark::engine {

Blotter::Blotter(std::unique_ptr<SlippageModel> slippage, PerShareCommission commission, bool break_cycles)
    : slippage_(std::move(slippage)), commission_(commission), break_cycles_(break_cycles) {}

Blotter::~Blotter() {
  for (auto& o : open_) closed_today_.push_back(std::move(o));
  releaseClosed();
}

OrderId Blotter::place(AssetId asset, int64_t amount, uint64_t bar) {
  OrderId id{next_id_++};
  open_.push_back(makeOrder(id, asset, amount, bar));
  ++stats_.orders;
  return id;
}

int64_t Blotter::openAmount(AssetId asset) const {
  int64_t sum = 0;
  for (const auto& o : open_)
    if (o->asset == asset) sum += o->remaining();
  return sum;
}

void Blotter::cancelOpen(AssetId asset) {
  for (auto& o : open_)
    if (o->asset == asset) {
      o->status = OrderStatus::Cancelled;
      ++stats_.cancelled;
      closed_today_.push_back(std::move(o));
    }
  std::erase(open_, nullptr);
}

void Blotter::processBar(uint64_t bar, const DataPortal& portal, const std::function<void(const Fill&)>& on_fill) {
  if (open_.empty()) return;
  used_in_bar_.clear();
  for (auto& order : open_) {
    if (order->placed_bar >= bar) continue;
    BarQuote quote = portal.quote(order->asset);
    if (quote.price_ticks == 0) continue;
    auto used =
        std::find_if(used_in_bar_.begin(), used_in_bar_.end(), [&](const auto& u) { return u.first == order->asset; });
    if (used == used_in_bar_.end()) used = used_in_bar_.insert(used_in_bar_.end(), {order->asset, 0});
    SlippageResult r = slippage_->simulate(*order, quote, used->second);
    if (r.amount == 0) continue;
    Money commission = commission_.forFill(*order, r.amount);
    auto fill = makeFill(order, r.amount, r.price, commission, bar);
    order->fills.push_back(fill);
    order->filled += r.amount;
    order->commission += commission;
    used->second += r.amount < 0 ? -r.amount : r.amount;
    ++stats_.fills;
    stats_.shares += static_cast<uint64_t>(r.amount < 0 ? -r.amount : r.amount);
    on_fill(*fill);
    if (order->remaining() == 0) {
      order->status = OrderStatus::Filled;
      closed_today_.push_back(std::move(order));
    }
  }
  std::erase(open_, nullptr);
}

void Blotter::endOfSession(uint64_t last_bar) {
  for (auto& o : open_)
    if (o->placed_bar < last_bar) {
      o->status = OrderStatus::Cancelled;
      ++stats_.cancelled;
      closed_today_.push_back(std::move(o));
    }
  std::erase(open_, nullptr);
  releaseClosed();
}

void Blotter::releaseClosed() {
  if (break_cycles_)
    for (auto& o : closed_today_) o->releaseFills();
  else
    for (auto& o : closed_today_) stats_.leaked_cycles += !o->fills.empty();
  // Freed rather than cleared: a cleared vector's buffer still holds the old pointers, which a
  // conservative heap scan would take for references to the dropped orders.
  std::vector<std::shared_ptr<Order>>().swap(closed_today_);
}

}  // namespace tidemark::engine
