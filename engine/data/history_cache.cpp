#include "data/history_cache.h"

#include <algorithm>

namespace tidemark::engine {

HistoryCache::HistoryCache(const WindowSource& source, HistoryCacheLimits limits, uint32_t prefetch_bars)
    : source_(source), limits_(limits), prefetch_(prefetch_bars) {}

std::span<const double> HistoryCache::window(AssetId asset, Field field, uint32_t first_bar, uint32_t end_bar) {
  bool refreshed = false;
  Entry& e = findOrLoad(asset, first_bar, end_bar, refreshed);
  const bool decoded = !e.columns[index(field)].empty();
  if (refreshed)
    ++stats_.refreshes;
  else if (decoded)
    ++stats_.hits;
  else
    ++stats_.misses;
  const std::vector<double>& column = decoded ? e.columns[index(field)] : decodeColumn(e, field);
  enforceLimits();
  stats_.peak_bytes = std::max(stats_.peak_bytes, bytes_);
  stats_.peak_assets = std::max(stats_.peak_assets, assets());
  return std::span<const double>(column).subspan(first_bar - e.first_bar, end_bar - first_bar);
}

HistoryCache::Entry& HistoryCache::findOrLoad(AssetId asset, uint32_t first_bar, uint32_t end_bar, bool& refreshed) {
  auto it = by_asset_.find(index(asset));
  if (it == by_asset_.end()) {
    // Make room first, so the asset bound holds at every moment.
    if (!limits_.never_evict && limits_.max_assets)
      while (!lru_.empty() && lru_.size() >= limits_.max_assets) evictOldest();
    lru_.push_front(Entry{asset, 0, 0, {}, 0});
    by_asset_.emplace(index(asset), lru_.begin());
    resetWindow(lru_.front(), first_bar, end_bar);
    return lru_.front();
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // now the most recently used
  Entry& e = lru_.front();
  if (first_bar < e.first_bar || end_bar > e.end_bar) {
    refreshed = true;
    // A cache that never evicts never drops old bars either: the window only extends (the
    // unbounded-cache fault grows with the simulated time, not just with the assets touched).
    if (limits_.never_evict) first_bar = std::min(first_bar, e.first_bar);
    resetWindow(e, first_bar, end_bar);
  }
  return e;
}

void HistoryCache::resetWindow(Entry& e, uint32_t first_bar, uint32_t end_bar) {
  bytes_ -= e.bytes;
  for (auto& column : e.columns) std::vector<double>().swap(column);
  e.bytes = 0;
  e.first_bar = first_bar;
  e.end_bar =
      std::max(end_bar, static_cast<uint32_t>(std::min<uint64_t>(uint64_t{end_bar} + prefetch_, source_.barCount())));
}

// The one place where cached values are allocated: a profile of a backtest whose cache grows
// points here.
[[gnu::noinline]] const std::vector<double>& HistoryCache::decodeColumn(Entry& e, Field field) {
  std::vector<double>& column = e.columns[index(field)];
  if (limits_.bloated) column.reserve((e.end_bar - e.first_bar) * 11 / 10);  // 10% that is never used
  column.resize(e.end_bar - e.first_bar);
  source_.decode(e.asset, field, e.first_bar, column);
  uint64_t added = column.size() * sizeof(double);
  e.bytes += added;
  bytes_ += added;
  return column;
}

// The entry just used (the front) is never evicted, even when it alone is over the byte bound.
void HistoryCache::enforceLimits() {
  if (limits_.never_evict) return;
  while (lru_.size() > 1 && ((limits_.max_assets && lru_.size() > limits_.max_assets) ||
                             (limits_.max_bytes && bytes_ > limits_.max_bytes)))
    evictOldest();
}

void HistoryCache::evictOldest() {
  Entry& victim = lru_.back();
  bytes_ -= victim.bytes;
  by_asset_.erase(index(victim.asset));
  lru_.pop_back();
  ++stats_.evictions;
}

std::vector<AssetId> HistoryCache::recencyOrder() const {
  std::vector<AssetId> out;
  out.reserve(lru_.size());
  for (const Entry& e : lru_) out.push_back(e.asset);
  return out;
}

}  // namespace tidemark::engine
