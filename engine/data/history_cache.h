// The history window cache behind DataPortal::history: per asset, a decoded window of bars (one
// std::vector<double> per field asked for), kept in least-recently-used order and bounded by a
// number of assets (default 1000, as zipline's data portal) and/or by bytes of decoded values.
//
// A miss decodes the requested bars plus `prefetch` bars ahead, so a strategy that asks every day
// for the trailing N bars slides inside one window for `prefetch` days before the window is
// decoded again (zipline prefetches 40 days for daily history, 1560 minutes for minute history).
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "data/market.h"
#include "data/window_source.h"

namespace tidemark::engine {

struct HistoryCacheLimits {
  uint32_t max_assets = 1000;  // 0: no bound
  uint64_t max_bytes = 0;      // 0: no bound; counts decoded values (8 bytes a bar and field)
  bool never_evict = false;    // the unbounded-cache fault: both bounds ignored
  bool bloated = false;        // the bloated-cache fault: each window keeps 10% spare capacity
};

// Counted per window() call (one asset, one field).
struct HistoryCacheStats {
  uint64_t hits = 0;       // served from decoded values
  uint64_t misses = 0;     // decoded: the asset had no window, or not that field yet
  uint64_t refreshes = 0;  // decoded: the asset's window did not cover the request, so it moved
  uint64_t evictions = 0;
  uint64_t peak_bytes = 0;
  uint32_t peak_assets = 0;
};

class HistoryCache {
 public:
  HistoryCache(const WindowSource& source, HistoryCacheLimits limits, uint32_t prefetch_bars);
  HistoryCache(const HistoryCache&) = delete;
  HistoryCache& operator=(const HistoryCache&) = delete;

  // Bars [first_bar, end_bar) of field for asset (end_bar <= barCount()). Valid until the next call.
  std::span<const double> window(AssetId asset, Field field, uint32_t first_bar, uint32_t end_bar);

  uint32_t assets() const { return static_cast<uint32_t>(lru_.size()); }
  uint64_t bytes() const { return bytes_; }
  const HistoryCacheStats& stats() const { return stats_; }
  const HistoryCacheLimits& limits() const { return limits_; }
  // Cached assets, most recently used first.
  std::vector<AssetId> recencyOrder() const;

 private:
  struct Entry {
    AssetId asset;
    uint32_t first_bar = 0, end_bar = 0;
    std::array<std::vector<double>, kFieldCount> columns;  // empty until a field is asked for
    uint64_t bytes = 0;
  };

  Entry& findOrLoad(AssetId asset, uint32_t first_bar, uint32_t end_bar, bool& refreshed);
  void resetWindow(Entry& e, uint32_t first_bar, uint32_t end_bar);
  const std::vector<double>& decodeColumn(Entry& e, Field field);
  void enforceLimits();
  void evictOldest();

  const WindowSource& source_;
  HistoryCacheLimits limits_;
  uint32_t prefetch_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<uint32_t, std::list<Entry>::iterator> by_asset_;
  uint64_t bytes_ = 0;
  HistoryCacheStats stats_;
};

}  // namespace tidemark::engine
