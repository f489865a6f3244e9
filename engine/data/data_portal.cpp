#include "data/data_portal.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "error.h"

namespace tidemark::engine {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDollarsPerTick = 1.0 / bundle::kPriceScale;
}  // namespace

DataPortal::DataPortal(const Bundle& bundle, Frequency frequency, const DataPortalConfig& config)
    : bundle_(bundle),
      frequency_(frequency),
      daily_source_(bundle),
      minute_source_(bundle),
      daily_cache_(daily_source_, config.cache, config.daily_prefetch),
      last_price_(bundle.assetCount(), 0) {
  if (frequency == Frequency::Minute && !bundle.hasMinuteBars())
    throw EngineError(fmt::format("bundle {} has daily bars only: run it at daily frequency", bundle.path()));
  if (bundle.hasMinuteBars())
    minute_cache_ = std::make_unique<HistoryCache>(minute_source_, config.cache, config.minute_prefetch);
  close_columns_.resize(bundle.assetCount());
  volume_columns_.resize(bundle.assetCount());
  for (uint32_t i = 0; i < bundle.assetCount(); ++i) {
    AssetId a = assetId(i);
    bool minute = frequency == Frequency::Minute;
    close_columns_[i] = (minute ? bundle.minute(Field::Close, a) : bundle.daily(Field::Close, a)).data();
    volume_columns_[i] = (minute ? bundle.minute(Field::Volume, a) : bundle.daily(Field::Volume, a)).data();
  }
}

void DataPortal::primeLastPrices(uint32_t session) {
  const uint64_t end = frequency_ == Frequency::Minute ? uint64_t{session} * kMinutesPerSession : session;
  for (uint32_t a = 0; a < assetCount(); ++a) {
    uint32_t first = bundle_.firstSession(assetId(a));
    if (first >= session) continue;
    const uint64_t floor = frequency_ == Frequency::Minute ? uint64_t{first} * kMinutesPerSession : first;
    for (uint64_t bar = end; bar-- > floor;)
      if (close_columns_[a][bar]) {
        last_price_[a] = close_columns_[a][bar];
        break;
      }
  }
}

void DataPortal::startSession(uint32_t session) {
  session_ = session;
  minute_ = 0;
  bar_seen_today_ = false;
}

uint64_t DataPortal::currentBarIndex() const {
  return frequency_ == Frequency::Minute ? uint64_t{session_} * kMinutesPerSession + minute_ : session_;
}

// The engine's inner loop: runs once per bar for every asset, so it only reads two mapped columns
// and writes one array, and never allocates.
void DataPortal::advanceBar(uint32_t minute) {
  minute_ = frequency_ == Frequency::Minute ? minute : kMinutesPerSession - 1;
  bar_seen_today_ = true;
  any_bar_seen_ = true;
  const uint64_t bar = currentBarIndex();
  const uint32_t n = assetCount();
  uint32_t* last = last_price_.data();
  const uint32_t* const* close = close_columns_.data();
  for (uint32_t a = 0; a < n; ++a) {
    uint32_t c = close[a][bar];
    if (c) last[a] = c;
  }
  bar_events_ += n;
}

BarQuote DataPortal::quote(AssetId asset) const {
  if (!any_bar_seen_) return {};
  uint64_t bar = currentBarIndex();
  uint32_t close = close_columns_[index(asset)][bar];
  return close ? BarQuote{close, volume_columns_[index(asset)][bar]} : BarQuote{};
}

double DataPortal::current(AssetId asset, Field field) const {
  if (field == Field::Price) return last_price_[index(asset)] ? last_price_[index(asset)] * kDollarsPerTick : kNaN;
  uint64_t bar = currentBarIndex();
  if (!bar_seen_today_) {
    // Before the session's first bar, the current bar is the previous session's last.
    if (session_ == 0) return kNaN;
    bar = frequency_ == Frequency::Minute ? uint64_t{session_} * kMinutesPerSession - 1 : session_ - 1;
  }
  std::span<const uint32_t> close =
      frequency_ == Frequency::Minute ? bundle_.minute(Field::Close, asset) : bundle_.daily(Field::Close, asset);
  if (!close[bar]) return kNaN;
  std::span<const uint32_t> column =
      frequency_ == Frequency::Minute ? bundle_.minute(field, asset) : bundle_.daily(field, asset);
  return field == Field::Volume ? static_cast<double>(column[bar]) : column[bar] * kDollarsPerTick;
}

bool DataPortal::canTrade(AssetId asset) const {
  return last_price_[index(asset)] != 0 && session_ >= bundle_.firstSession(asset) &&
         session_ <= bundle_.lastSession(asset);
}

HistoryFrame DataPortal::history(std::span<const AssetId> assets, std::span<const Field> fields, uint32_t bar_count,
                                 Frequency frequency) {
  if (bar_count == 0) throw EngineError("history: bar_count must be at least 1");
  HistoryFrame frame(fields.size(), assets.size(), bar_count);
  if (frequency == Frequency::Daily)
    fillDailyHistory(frame, assets, fields, bar_count);
  else
    fillMinuteHistory(frame, assets, fields, bar_count);
  return frame;
}

void DataPortal::fillDailyHistory(HistoryFrame& frame, std::span<const AssetId> assets, std::span<const Field> fields,
                                  uint32_t bar_count) {
  const bool partial = frequency_ == Frequency::Minute && bar_seen_today_;
  const uint32_t completed = frequency_ == Frequency::Daily && bar_seen_today_ ? session_ + 1 : session_;
  const uint32_t from_cache = partial ? bar_count - 1 : bar_count;
  const int64_t first = int64_t{completed} - from_cache;
  const uint32_t missing = first < 0 ? static_cast<uint32_t>(-first) : 0;
  for (size_t j = 0; j < assets.size(); ++j)
    for (size_t i = 0; i < fields.size(); ++i) {
      std::span<double> out = frame.series(i, j);
      std::fill_n(out.begin(), missing, kNaN);
      if (from_cache > missing) {
        auto w = daily_cache_.window(assets[j], fields[i], static_cast<uint32_t>(first + missing), completed);
        std::copy(w.begin(), w.end(), out.begin() + missing);
      }
      if (partial) out[bar_count - 1] = partialSessionBar(assets[j], fields[i]);
    }
}

void DataPortal::fillMinuteHistory(HistoryFrame& frame, std::span<const AssetId> assets, std::span<const Field> fields,
                                   uint32_t bar_count) {
  if (!minute_cache_) throw EngineError("history at 1m needs a bundle with minute bars");
  uint64_t end = uint64_t{session_} * kMinutesPerSession + (bar_seen_today_ ? minute_ + 1 : 0);
  const int64_t first = static_cast<int64_t>(end) - bar_count;
  const uint32_t missing = first < 0 ? static_cast<uint32_t>(-first) : 0;
  for (size_t j = 0; j < assets.size(); ++j)
    for (size_t i = 0; i < fields.size(); ++i) {
      std::span<double> out = frame.series(i, j);
      std::fill_n(out.begin(), missing, kNaN);
      if (bar_count > missing) {
        auto w = minute_cache_->window(assets[j], fields[i], static_cast<uint32_t>(first + missing),
                                       static_cast<uint32_t>(end));
        std::copy(w.begin(), w.end(), out.begin() + missing);
      }
    }
}

// Today's daily bar so far, from the minute bars up to the current minute.
double DataPortal::partialSessionBar(AssetId asset, Field field) const {
  if (field == Field::Price) return current(asset, Field::Price);
  auto close = bundle_.minute(Field::Close, asset);
  auto column = bundle_.minute(field == Field::Price ? Field::Close : field, asset);
  const size_t begin = size_t{session_} * kMinutesPerSession, end = begin + minute_ + 1;
  double out = kNaN;
  uint64_t volume = 0;
  bool traded = false;
  for (size_t m = begin; m < end; ++m) {
    if (!close[m]) continue;
    double v = column[m] * kDollarsPerTick;
    switch (field) {
      case Field::Open:
        if (!traded) out = v;
        break;
      case Field::High:
        out = traded ? std::max(out, v) : v;
        break;
      case Field::Low:
        out = traded ? std::min(out, v) : v;
        break;
      case Field::Close:
        out = v;
        break;
      case Field::Volume:
        volume += column[m];
        break;
      case Field::Price:
        break;
    }
    traded = true;
  }
  if (field == Field::Volume) return traded ? static_cast<double>(volume) : kNaN;
  return out;
}

}  // namespace tidemark::engine
