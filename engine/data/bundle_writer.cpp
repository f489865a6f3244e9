#include "data/bundle_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "error.h"

namespace tidemark::engine {

BundleWriter::BundleWriter(std::string path, std::span<const Date> sessions, uint32_t asset_count, bool minute_bars,
                           uint64_t seed)
    : path_(std::move(path)),
      temp_path_(fmt::format("{}.tmp.{}", path_, getpid())),
      asset_count_(asset_count),
      session_count_(static_cast<uint32_t>(sessions.size())),
      minute_bars_(minute_bars),
      layout_(bundle::layoutFor(asset_count, session_count_, minute_bars)) {
  if (asset_count == 0 || sessions.empty()) throw EngineError("a bundle needs at least one asset and one session");
  int fd = ::open(temp_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw EngineError(fmt::format("cannot create {}: {}", temp_path_, std::strerror(errno)));
  // Reserve the blocks now: a full disk then fails here, not as a SIGBUS while filling the mapping.
  int err = posix_fallocate(fd, 0, static_cast<off_t>(layout_.file_size));
  void* p = err ? MAP_FAILED : mmap(nullptr, layout_.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (!err && p == MAP_FAILED) err = errno;
  ::close(fd);
  if (err) {
    ::unlink(temp_path_.c_str());
    throw EngineError(fmt::format("cannot write {} ({} bytes): {}", path_, layout_.file_size, std::strerror(err)));
  }
  base_ = static_cast<unsigned char*>(p);
  auto* days = reinterpret_cast<int32_t*>(base_ + layout_.sessions_offset);
  for (size_t i = 0; i < sessions.size(); ++i) days[i] = sessions[i].days();

  auto& h = *reinterpret_cast<bundle::Header*>(base_);
  std::memcpy(h.magic, bundle::kMagic, sizeof h.magic);
  h.version = bundle::kVersion;
  h.flags = minute_bars ? bundle::kFlagMinuteBars : 0;
  h.asset_count = asset_count;
  h.session_count = session_count_;
  h.minutes_per_session = kMinutesPerSession;
  h.price_scale = bundle::kPriceScale;
  h.seed = seed;
  h.sessions_offset = layout_.sessions_offset;
  h.assets_offset = layout_.assets_offset;
  h.daily_offset = layout_.daily_offset;
  h.minute_offset = layout_.minute_offset;
  h.file_size = layout_.file_size;
}

BundleWriter::~BundleWriter() {
  if (base_) munmap(base_, layout_.file_size);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void BundleWriter::setAsset(AssetId a, std::string_view symbol, uint32_t first_session, uint32_t last_session) {
  if (first_session > last_session || last_session >= session_count_)
    throw EngineError(fmt::format("asset {}: bad session range {}..{}", symbol, first_session, last_session));
  auto* rec = reinterpret_cast<bundle::AssetRecord*>(base_ + layout_.assets_offset) + index(a);
  std::memset(rec, 0, sizeof *rec);
  std::memcpy(rec->symbol, symbol.data(), std::min(symbol.size(), bundle::kSymbolBytes - 1));
  rec->first_session = first_session;
  rec->last_session = last_session;
}

std::span<uint32_t> BundleWriter::daily(Field f, AssetId a) {
  uint64_t n = session_count_;
  auto* col = reinterpret_cast<uint32_t*>(base_ + layout_.daily_offset);
  return {col + (index(f) * asset_count_ + index(a)) * n, n};
}

std::span<uint32_t> BundleWriter::minute(Field f, AssetId a) {
  uint64_t n = uint64_t{session_count_} * kMinutesPerSession;
  auto* col = reinterpret_cast<uint32_t*>(base_ + layout_.minute_offset);
  return {col + (index(f) * asset_count_ + index(a)) * n, n};
}

void BundleWriter::deriveDailyBars(AssetId a) {
  auto mo = minute(Field::Open, a), mh = minute(Field::High, a), ml = minute(Field::Low, a);
  auto mc = minute(Field::Close, a), mv = minute(Field::Volume, a);
  auto o = daily(Field::Open, a), h = daily(Field::High, a), l = daily(Field::Low, a);
  auto c = daily(Field::Close, a), v = daily(Field::Volume, a);
  for (uint32_t s = 0; s < session_count_; ++s) {
    uint32_t open = 0, high = 0, low = std::numeric_limits<uint32_t>::max(), close = 0;
    uint64_t volume = 0;
    for (size_t m = size_t{s} * kMinutesPerSession, end = m + kMinutesPerSession; m < end; ++m) {
      if (mc[m] == 0) continue;
      if (open == 0) open = mo[m];
      high = std::max(high, mh[m]);
      low = std::min(low, ml[m]);
      close = mc[m];
      volume += mv[m];
    }
    if (close == 0) {
      o[s] = h[s] = l[s] = c[s] = v[s] = 0;
      continue;
    }
    o[s] = open;
    h[s] = high;
    l[s] = low;
    c[s] = close;
    v[s] = static_cast<uint32_t>(std::min<uint64_t>(volume, std::numeric_limits<uint32_t>::max()));
  }
}

void BundleWriter::commit() {
  auto& h = *reinterpret_cast<bundle::Header*>(base_);
  h.tables_checksum = bundle::fnv1a(base_ + layout_.sessions_offset, layout_.daily_offset - layout_.sessions_offset);
  h.header_checksum = bundle::fnv1a(&h, offsetof(bundle::Header, header_checksum));
  munmap(base_, layout_.file_size);
  base_ = nullptr;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw EngineError(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
  committed_ = true;
}

}  // namespace tidemark::engine
