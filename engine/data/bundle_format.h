// The market data bundle's file layout: the one definition the writer, the reader and the tests
// share.
//
// A bundle is columnar and fixed-width so that it is read through mmap with no decoding step and
// no copy: a bar is found by arithmetic, and forked workers share the pages.
//
//   offset 0        Header (128 bytes), then zeros to 4096
//   sessions_offset int32 session_days[session_count]      days since 1970-01-01, increasing
//   assets_offset   AssetRecord assets[asset_count]         32 bytes each
//   daily_offset    uint32 daily[5][asset_count][session_count]
//   minute_offset   uint32 minute[5][asset_count][session_count * 390]     (flag kFlagMinuteBars)
//
// Each section starts on a 4096-byte boundary. The five columns are open, high, low, close
// (prices in ticks of $0.0001) and volume (shares), in that order. A bar without a trade is all
// zeros: no price of 0 is ever stored for a traded bar. Minute bar m of a session is the minute that
// ends at 09:31 + m. Everything is little-endian (the engine refuses to build elsewhere).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace tidemark::engine::bundle {

static_assert(std::endian::native == std::endian::little, "the bundle format is little-endian");

inline constexpr char kMagic[8] = {'T', 'M', 'B', 'U', 'N', 'D', 'L', 'E'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint64_t kSectionAlign = 4096;
inline constexpr uint32_t kPriceScale = 10000;  // ticks per dollar, as Money
inline constexpr uint32_t kFlagMinuteBars = 1;
inline constexpr size_t kSymbolBytes = 16;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t flags;
  uint32_t asset_count;
  uint32_t session_count;
  uint32_t minutes_per_session;  // 390
  uint32_t price_scale;          // kPriceScale
  uint64_t seed;                 // the generator's seed; 0 for imported data
  uint64_t sessions_offset;
  uint64_t assets_offset;
  uint64_t daily_offset;
  uint64_t minute_offset;  // 0 without minute bars
  uint64_t file_size;
  uint64_t tables_checksum;  // fnv1a over the sessions and asset tables
  uint64_t reserved[4];
  uint64_t header_checksum;  // fnv1a over every byte of the header before this field
};
static_assert(sizeof(Header) == 128);

struct AssetRecord {
  char symbol[kSymbolBytes];  // NUL-padded
  uint32_t first_session;     // first session with data (inclusive)
  uint32_t last_session;      // last session with data (inclusive)
  uint32_t reserved[2];
};
static_assert(sizeof(AssetRecord) == 32);

// FNV-1a, 64-bit: enough to tell a damaged header or table from a good one.
inline uint64_t fnv1a(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// Where each section goes for a given shape. The writer lays files out with it; the reader
// checks that a header agrees with it.
struct Layout {
  uint64_t sessions_offset, assets_offset, daily_offset, minute_offset, file_size;
};

inline uint64_t alignUp(uint64_t n) { return (n + kSectionAlign - 1) / kSectionAlign * kSectionAlign; }

inline Layout layoutFor(uint32_t asset_count, uint32_t session_count, bool minute_bars) {
  Layout l{};
  l.sessions_offset = kSectionAlign;
  l.assets_offset = alignUp(l.sessions_offset + uint64_t{session_count} * sizeof(int32_t));
  l.daily_offset = alignUp(l.assets_offset + uint64_t{asset_count} * sizeof(AssetRecord));
  uint64_t daily_bytes = 5ull * asset_count * session_count * sizeof(uint32_t);
  uint64_t end = alignUp(l.daily_offset + daily_bytes);
  if (minute_bars) {
    l.minute_offset = end;
    end = alignUp(l.minute_offset + daily_bytes * 390);
  }
  l.file_size = end;
  return l;
}

}  // namespace tidemark::engine::bundle
