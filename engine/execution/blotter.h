// The blotter: open orders, filled against each bar through the slippage and commission models.
// Orders are day orders: what is still open at the end of a session is cancelled.
// (Except orders placed during the session's last bar: see endOfSession.)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "data/data_portal.h"
#include "execution/commission.h"
#include "execution/order.h"
#include "execution/slippage.h"

namespace tidemark::engine {

struct BlotterStats {
  uint64_t orders = 0;
  uint64_t fills = 0;
  uint64_t cancelled = 0;  // orders with shares left at the end of their session
  uint64_t shares = 0;     // traded, both sides
  uint64_t leaked_cycles = 0;  // leak-cycles fault: closed orders dropped with their fills (one cycle each)
};

class Blotter {
 public:
  // break_cycles false is the leak-cycles fault: closed orders are dropped with their fills still
  // pointing at them.
  Blotter(std::unique_ptr<SlippageModel> slippage, PerShareCommission commission, bool break_cycles = true);
  ~Blotter();

  // A market order for `amount` shares (non-zero), placed during bar `bar`; it fills from the next.
  OrderId place(AssetId asset, int64_t amount, uint64_t bar);
  // Shares still to fill over every open order of the asset.
  int64_t openAmount(AssetId asset) const;
  void cancelOpen(AssetId asset);
  size_t openOrders() const { return open_.size(); }

  // Fills what bar `bar` can absorb of the orders placed before it, oldest first, and hands each
  // fill to on_fill.
  void processBar(uint64_t bar, const DataPortal& portal, const std::function<void(const Fill&)>& on_fill);
  // End of a session whose last bar was `last_bar`: cancels the orders that had a bar to fill in
  // and are still open (an order placed during the last bar waits for the next session's first,
  // which is how a daily-mode order placed at the close fills the next day), and lets go of the
  // orders closed today.
  void endOfSession(uint64_t last_bar);

  const BlotterStats& stats() const { return stats_; }
  const SlippageModel& slippage() const { return *slippage_; }

 private:
  void releaseClosed();

  std::unique_ptr<SlippageModel> slippage_;
  PerShareCommission commission_;
  bool break_cycles_;
  uint64_t next_id_ = 1;
  std::vector<std::shared_ptr<Order>> open_;
  std::vector<std::shared_ptr<Order>> closed_today_;
  std::vector<std::pair<AssetId, int64_t>> used_in_bar_;  // scratch, reused: shares filled per asset
  BlotterStats stats_;
};

}  // namespace tidemark::engine
