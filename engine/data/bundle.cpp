#include "data/bundle.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.h"

namespace tidemark::engine {

namespace {

EngineError bundleError(const std::string& path, std::string_view why) {
  return EngineError(fmt::format("bundle {}: {}", path, why));
}

}  // namespace

Bundle::Bundle(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw EngineError(fmt::format("cannot open bundle {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw bundleError(path, "not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ < sizeof(bundle::Header)) {
    ::close(fd);
    throw bundleError(path, size_ == 0 ? "empty file, not a tidemark bundle"
                                       : fmt::format("{} bytes, too short for a tidemark bundle", size_));
  }
  // MAP_SHARED: forked workers, and other engines reading the same file, share one copy of the
  // pages in the page cache.
  void* p = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
  int saved = errno;
  ::close(fd);
  if (p == MAP_FAILED) throw bundleError(path, fmt::format("cannot map: {}", std::strerror(saved)));
  base_ = static_cast<const unsigned char*>(p);
  header_ = reinterpret_cast<const bundle::Header*>(base_);
  try {
    validate();
  } catch (...) {
    munmap(const_cast<unsigned char*>(base_), size_);
    throw;
  }
}

Bundle::~Bundle() {
  if (base_) munmap(const_cast<unsigned char*>(base_), size_);
}

void Bundle::validate() {
  const bundle::Header& h = *header_;
  if (std::memcmp(h.magic, bundle::kMagic, sizeof h.magic) != 0) throw bundleError(path_, "not a tidemark bundle");
  if (h.version > bundle::kVersion)
    throw bundleError(path_,
                      fmt::format("format version {}, newer than this engine reads ({})", h.version, bundle::kVersion));
  if (h.version == 0) throw bundleError(path_, "corrupt header (version 0)");
  if (bundle::fnv1a(&h, offsetof(bundle::Header, header_checksum)) != h.header_checksum)
    throw bundleError(path_, "corrupt header (checksum mismatch)");
  if (h.file_size != size_)
    throw bundleError(path_, size_ < h.file_size
                                 ? fmt::format("truncated: {} bytes, the header says {}", size_, h.file_size)
                                 : fmt::format("{} bytes, the header says {}", size_, h.file_size));
  if (h.minutes_per_session != kMinutesPerSession || h.price_scale != bundle::kPriceScale)
    throw bundleError(path_, fmt::format("unsupported bar shape ({} minutes a session, {} ticks a dollar)",
                                         h.minutes_per_session, h.price_scale));
  if (h.session_count == 0 || h.asset_count == 0) throw bundleError(path_, "no sessions or no assets");
  bundle::Layout l = bundle::layoutFor(h.asset_count, h.session_count, h.flags & bundle::kFlagMinuteBars);
  if (l.sessions_offset != h.sessions_offset || l.assets_offset != h.assets_offset ||
      l.daily_offset != h.daily_offset || l.minute_offset != h.minute_offset || l.file_size != h.file_size)
    throw bundleError(path_, "corrupt header (sections do not match the shape)");

  const void* tables = base_ + h.sessions_offset;
  if (bundle::fnv1a(tables, h.daily_offset - h.sessions_offset) != h.tables_checksum)
    throw bundleError(path_, "corrupt session or asset table (checksum mismatch)");
  const auto* days = reinterpret_cast<const int32_t*>(base_ + h.sessions_offset);
  for (uint32_t i = 1; i < h.session_count; ++i)
    if (days[i] <= days[i - 1]) throw bundleError(path_, "corrupt session table (dates not increasing)");
  assets_ = reinterpret_cast<const bundle::AssetRecord*>(base_ + h.assets_offset);
  for (uint32_t a = 0; a < h.asset_count; ++a)
    if (assets_[a].first_session > assets_[a].last_session || assets_[a].last_session >= h.session_count)
      throw bundleError(path_, fmt::format("corrupt asset table (asset {})", a));
  calendar_ = TradingCalendar({days, h.session_count});
}

std::string_view Bundle::symbol(AssetId a) const {
  const char* s = assets_[index(a)].symbol;
  return {s, strnlen(s, bundle::kSymbolBytes)};
}

std::optional<AssetId> Bundle::findSymbol(std::string_view symbol) const {
  for (uint32_t a = 0; a < assetCount(); ++a)
    if (this->symbol(assetId(a)) == symbol) return assetId(a);
  return std::nullopt;
}

std::span<const uint32_t> Bundle::daily(Field f, AssetId a) const {
  uint64_t n = sessionCount();
  const auto* col = reinterpret_cast<const uint32_t*>(base_ + header_->daily_offset);
  return {col + (index(f) * assetCount() + index(a)) * n, n};
}

std::span<const uint32_t> Bundle::minute(Field f, AssetId a) const {
  if (!hasMinuteBars()) throw EngineError(fmt::format("bundle {} has no minute bars", path_));
  uint64_t n = uint64_t{sessionCount()} * kMinutesPerSession;
  const auto* col = reinterpret_cast<const uint32_t*>(base_ + header_->minute_offset);
  return {col + (index(f) * assetCount() + index(a)) * n, n};
}

}  // namespace tidemark::engine
