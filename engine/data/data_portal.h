// The strategies' window on the market, as zipline's `data`: the current bar of an asset, trailing
// history through the history cache, and the clock that advances bar by bar. The simulation moves
// the clock; strategies read.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "data/bar_windows.h"
#include "data/bundle.h"
#include "data/history_cache.h"
#include "data/history_frame.h"
#include "data/market.h"
#include "data/money.h"

namespace tidemark::engine {

struct DataPortalConfig {
  HistoryCacheLimits cache;         // applies to the daily and the minute cache each, as in zipline
  uint32_t daily_prefetch = 40;     // sessions decoded ahead of a daily history request
  uint32_t minute_prefetch = 1560;  // minutes decoded ahead of a minute history request
};

// The current bar of one asset as the blotter sees it: close in ticks and volume, zeros if nothing
// traded.
struct BarQuote {
  uint32_t price_ticks = 0;
  uint32_t volume = 0;
};

class DataPortal {
 public:
  DataPortal(const Bundle& bundle, Frequency frequency, const DataPortalConfig& config);
  DataPortal(const DataPortal&) = delete;  // the caches point at the window sources inside
  DataPortal& operator=(const DataPortal&) = delete;

  const Bundle& bundle() const { return bundle_; }
  uint32_t assetCount() const { return bundle_.assetCount(); }
  Frequency frequency() const { return frequency_; }

  // --- The clock (the simulation's side).
  // Before the first simulated session: every asset's last traded price as of the bars before it.
  void primeLastPrices(uint32_t session);
  // A new session starts: no bar of it has been seen yet (before_trading_start).
  void startSession(uint32_t session);
  // The next bar: minute `minute` of the session in minute mode, the session's bar in daily mode.
  // Every asset's last traded price moves to this bar: one bar event per asset.
  void advanceBar(uint32_t minute);
  uint32_t session() const { return session_; }
  uint32_t minute() const { return minute_; }
  Date today() const { return bundle_.calendar().session(session_); }
  uint64_t barEvents() const { return bar_events_; }

  // --- What strategies call.
  // The current bar's value (NaN if the asset did not trade in it); Price is the last traded close.
  double current(AssetId asset, Field field) const;
  // Listed today and traded at least once.
  bool canTrade(AssetId asset) const;
  // The trailing bar_count bars up to the current one. Daily history in minute mode ends with
  // today's bar so far; before a session's first bar it ends with yesterday's. Bars before the
  // bundle's start are NaN.
  HistoryFrame history(std::span<const AssetId> assets, std::span<const Field> fields, uint32_t bar_count,
                       Frequency frequency);

  // --- What the blotter and the ledger use.
  BarQuote quote(AssetId asset) const;
  Money lastPrice(AssetId asset) const { return Money::fromTicks(last_price_[index(asset)]); }

  const HistoryCache& dailyCache() const { return daily_cache_; }
  const HistoryCache* minuteCache() const { return minute_cache_.get(); }

 private:
  void fillDailyHistory(HistoryFrame& frame, std::span<const AssetId> assets, std::span<const Field> fields,
                        uint32_t bar_count);
  void fillMinuteHistory(HistoryFrame& frame, std::span<const AssetId> assets, std::span<const Field> fields,
                         uint32_t bar_count);
  double partialSessionBar(AssetId asset, Field field) const;
  uint64_t currentBarIndex() const;  // in the simulation's frequency; only valid once a bar was seen

  const Bundle& bundle_;
  Frequency frequency_;
  DailyBarWindows daily_source_;
  MinuteBarWindows minute_source_;
  HistoryCache daily_cache_;
  std::unique_ptr<HistoryCache> minute_cache_;  // only with minute bars
  // Per asset, the close and volume columns of the simulation's frequency: the bar loop reads them.
  std::vector<const uint32_t*> close_columns_, volume_columns_;
  std::vector<uint32_t> last_price_;  // ticks
  uint32_t session_ = 0;
  uint32_t minute_ = 0;
  bool bar_seen_today_ = false;
  bool any_bar_seen_ = false;
  uint64_t bar_events_ = 0;
};

}  // namespace tidemark::engine
