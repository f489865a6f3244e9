// Writes a bundle: sizes a temporary file, maps it for writing, lets the generator or the CSV
// importer fill the columns in place, and renames it into place on commit. A reader never sees a
// half-written bundle under the final name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/bundle_format.h"
#include "data/date.h"
#include "data/market.h"

namespace tidemark::engine {

class BundleWriter {
 public:
  // Throws EngineError if the file cannot be created or the disk has no room for it.
  BundleWriter(std::string path, std::span<const Date> sessions, uint32_t asset_count, bool minute_bars, uint64_t seed);
  ~BundleWriter();  // without commit(), removes the temporary file
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  uint32_t assetCount() const { return asset_count_; }
  uint32_t sessionCount() const { return session_count_; }
  bool hasMinuteBars() const { return minute_bars_; }

  // The symbol is cut to 15 bytes. Sessions are inclusive; an asset without any is not allowed.
  void setAsset(AssetId a, std::string_view symbol, uint32_t first_session, uint32_t last_session);
  std::span<uint32_t> daily(Field f, AssetId a);
  std::span<uint32_t> minute(Field f, AssetId a);
  // Fills an asset's daily bars from its minute bars: first open, highest high, lowest low, last
  // close, summed volume; a session without any trade stays all zeros.
  void deriveDailyBars(AssetId a);

  void commit();

 private:
  std::string path_, temp_path_;
  uint32_t asset_count_, session_count_;
  bool minute_bars_;
  bundle::Layout layout_;
  unsigned char* base_ = nullptr;
  bool committed_ = false;
};

}  // namespace tidemark::engine
