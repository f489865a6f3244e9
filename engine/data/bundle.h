// A market data bundle opened for reading: the file is mapped read-only and shared, its header and
// tables are checked, and bars are read in place.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "data/bundle_format.h"
#include "data/calendar.h"
#include "data/market.h"

namespace tidemark::engine {

class Bundle {
 public:
  // Throws EngineError with one line naming the file and the reason: missing, not a bundle, a
  // newer version, truncated, corrupt.
  explicit Bundle(const std::string& path);
  ~Bundle();
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  const std::string& path() const { return path_; }
  uint64_t fileSize() const { return size_; }
  uint32_t assetCount() const { return header_->asset_count; }
  uint32_t sessionCount() const { return header_->session_count; }
  bool hasMinuteBars() const { return header_->flags & bundle::kFlagMinuteBars; }
  uint64_t seed() const { return header_->seed; }
  const TradingCalendar& calendar() const { return calendar_; }

  std::string_view symbol(AssetId a) const;
  uint32_t firstSession(AssetId a) const { return assets_[index(a)].first_session; }
  uint32_t lastSession(AssetId a) const { return assets_[index(a)].last_session; }
  std::optional<AssetId> findSymbol(std::string_view symbol) const;

  // One stored field (not Price) of one asset: a value per session, or per minute of every session
  // (session * 390 + minute). Prices are in ticks of $0.0001, 0 where nothing traded.
  std::span<const uint32_t> daily(Field f, AssetId a) const;
  std::span<const uint32_t> minute(Field f, AssetId a) const;

 private:
  void validate();

  std::string path_;
  const unsigned char* base_ = nullptr;
  uint64_t size_ = 0;
  const bundle::Header* header_ = nullptr;
  const bundle::AssetRecord* assets_ = nullptr;
  TradingCalendar calendar_{{}};
};

}  // namespace tidemark::engine
