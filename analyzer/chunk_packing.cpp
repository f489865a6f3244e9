#include "chunk_packing.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "record.h"

namespace tidemark {

using format::RecordType;

// RecentlyFreed holds 128 addresses per size class: malloc's per-size caches (tcache holds 7, the
// fastbins and small bins more) and pymalloc's pools, few enough to search on every allocation.
// On the bench workload 64 gave 1.41 bytes per allocation, 128 1.29, 256 1.23 in 36% more time
// (with the Free names of then: allocations ago).
void AddressModel::RecentlyFreed::push(uint64_t address) {
  if (count_ == kCapacity) {
    head_ = (head_ + 1) % kCapacity;
    --count_;
  }
  at(count_++) = address;
}

uint64_t AddressModel::RecentlyFreed::nameOf(uint64_t address) const {
  for (uint32_t name = 1; name <= count_; ++name)
    if (at(count_ - name) == address) return name;
  return 0;
}

uint64_t AddressModel::RecentlyFreed::take(uint64_t name) {
  uint32_t i = count_ - static_cast<uint32_t>(name);
  uint64_t address = at(i);
  for (; i + 1 < count_; ++i) at(i) = at(i + 1);  // the newer ones move down: few, as names are small
  --count_;
  return address;
}

void AddressModel::setLive(uint64_t ordinal, bool live) {
  if (ordinal / 64 >= live_.size()) live_.resize(ordinal / 64 + 1, 0);
  uint64_t bit = uint64_t{1} << (ordinal % 64);
  live_[ordinal / 64] = live ? live_[ordinal / 64] | bit : live_[ordinal / 64] & ~bit;
}

uint64_t AddressModel::liveFrom(uint64_t ordinal) const {
  uint64_t count = 0;
  for (uint64_t word = ordinal / 64; word < live_.size(); ++word) {
    uint64_t bits = live_[word];
    if (word == ordinal / 64) bits &= ~uint64_t{0} << (ordinal % 64);
    count += static_cast<uint64_t>(__builtin_popcountll(bits));
  }
  return count;
}

bool AddressModel::ordinalOfRank(uint64_t rank, uint64_t& ordinal) const {
  const uint64_t end = blocks_.size();
  const uint64_t floor = end > kRankedWithin ? end - kRankedWithin : 0;
  for (uint64_t word = live_.size(); word-- > floor / 64;) {
    uint64_t bits = live_[word];
    if (word == floor / 64) bits &= ~uint64_t{0} << (floor % 64);
    uint64_t here = static_cast<uint64_t>(__builtin_popcountll(bits));
    if (rank > here) {
      rank -= here;
      continue;
    }
    for (; rank > 1; --rank) bits &= ~(uint64_t{1} << (63 - __builtin_clzll(bits)));  // the ones above it go
    ordinal = word * 64 + static_cast<uint64_t>(63 - __builtin_clzll(bits));
    return true;
  }
  return false;
}

void AddressModel::reset() {
  live_.clear();
  blocks_.clear();
  latest_.clear();
  direct_freed_.assign(kDirectClasses, RecentlyFreed{});
  other_freed_.clear();
}

// malloc's chunks go in 16-byte steps with an 8-byte header; pymalloc's blocks in 16-byte steps.
uint64_t AddressModel::sizeClass(uint64_t size) { return (size + 8 + 15) >> 4; }

AddressModel::RecentlyFreed& AddressModel::freedOfClass(uint64_t size_class) {
  if (direct_freed_.empty()) direct_freed_.resize(kDirectClasses);
  return size_class < kDirectClasses ? direct_freed_[size_class] : other_freed_[size_class];
}

uint64_t AddressModel::nameAllocation(uint64_t address, uint64_t size) {
  uint64_t size_class = sizeClass(size);
  RecentlyFreed& freed = freedOfClass(size_class);
  uint64_t name = freed.nameOf(address);
  if (name) freed.take(name);
  latest_[address] = blocks_.size();
  setLive(blocks_.size(), true);
  blocks_.push_back({address, size_class});
  return name;
}

bool AddressModel::allocationNamed(uint64_t name, uint64_t size, uint64_t& address) {
  uint64_t size_class = sizeClass(size);
  if (name != 0) {
    RecentlyFreed& freed = freedOfClass(size_class);
    if (name > freed.size()) return false;
    address = freed.take(name);
  }
  setLive(blocks_.size(), true);
  blocks_.push_back({address, size_class});
  return true;
}

uint64_t AddressModel::nameRelease(uint64_t address) {
  auto it = latest_.find(address);
  if (it == latest_.end()) return 0;
  uint64_t ordinal = it->second;
  latest_.erase(it);
  uint64_t ago = blocks_.size() - ordinal;
  uint64_t name = ago <= kRankedWithin ? liveFrom(ordinal) : kRankedWithin + ago;
  released(ordinal);
  return name;
}

bool AddressModel::releaseNamed(uint64_t name, uint64_t& address) {
  if (name == 0) return true;
  uint64_t ordinal = 0;
  if (name <= kRankedWithin) {
    if (!ordinalOfRank(name, ordinal)) return false;
  } else {
    uint64_t ago = name - kRankedWithin;
    if (ago > blocks_.size()) return false;
    ordinal = blocks_.size() - ago;
  }
  if (!isLive(ordinal)) return false;
  address = blocks_[ordinal].address;
  released(ordinal);
  return true;
}

void AddressModel::released(uint64_t ordinal) {
  setLive(ordinal, false);
  const Block& block = blocks_[ordinal];
  freedOfClass(block.size_class).push(block.address);
}

namespace {

void putVarint(std::vector<uint8_t>& out, uint64_t v) {
  uint8_t bytes[10];
  out.insert(out.end(), bytes, format::putVarint(bytes, v));
}

// Walks the records of a chunk body: fn(type, start, seq delta as written, after the seq delta,
// end, the address delta state before the record, the record). False when a record does not
// decode or something other than zeros follows the last one.
template <class Fn>
bool forEachRecord(const uint8_t* p, const uint8_t* end, uint32_t version, Record& rec, Fn&& fn) {
  format::ChunkDeltas deltas{};
  while (p < end && *p != 0) {
    if (*p >= static_cast<uint8_t>(RecordType::Count)) return false;
    auto type = static_cast<RecordType>(*p);
    uint64_t address_before = deltas.address;
    format::FieldDecoder d(p + 1, end, deltas, version);
    uint64_t seq_delta;
    if (!d.varint("seq", seq_delta) || !decodeFields(type, d, rec)) return false;
    fn(type, p, seq_delta, d.position(), address_before, rec);
    p = d.position();
  }
  return std::all_of(p, end, [](uint8_t b) { return b == 0; });
}

}  // namespace

bool packChunkBody(const uint8_t* chunk, size_t length, uint32_t version, AddressModel& model,
                   std::vector<uint8_t>& body) {
  body.clear();
  if (length < sizeof(format::ChunkHeader)) return false;
  const uint8_t* begin = chunk + sizeof(format::ChunkHeader);
  const uint8_t* end = chunk + length;
  Record rec;
  // First make sure the whole chunk decodes: the model must not see a chunk that is then kept raw.
  if (!forEachRecord(begin, end, version, rec, [](auto&&...) {})) return false;
  forEachRecord(begin, end, version, rec,
                [&](RecordType type, const uint8_t* start, uint64_t seq_delta, const uint8_t* after,
                    uint64_t address_before, Record& r) {
                  if (type == RecordType::Alloc) {
                    const auto& a = r.slot<format::Alloc>();
                    body.push_back(*start);
                    putVarint(body, seq_delta);
                    putVarint(body, a.stack_id);
                    putVarint(body, a.size);
                    uint64_t name = model.nameAllocation(a.address, a.size);
                    putVarint(body, name);
                    if (name == 0) putVarint(body, format::zigzag(static_cast<int64_t>(a.address - address_before)));
                  } else if (type == RecordType::Free) {
                    const auto& f = r.slot<format::Free>();
                    body.push_back(*start);
                    putVarint(body, seq_delta);
                    uint64_t name = model.nameRelease(f.address);
                    putVarint(body, name);
                    if (name == 0) putVarint(body, format::zigzag(static_cast<int64_t>(f.address - address_before)));
                  } else {
                    body.insert(body.end(), start, after);
                  }
                });
  return true;
}

bool unpackChunkBody(const format::ChunkHeader& header, const uint8_t* body, size_t body_bytes, size_t length,
                     uint32_t version, AddressModel& model, std::vector<uint8_t>& out) {
  if (length < sizeof header) return false;
  out.assign(length, 0);
  memcpy(out.data(), &header, sizeof header);
  uint8_t* w = out.data() + sizeof header;
  uint8_t* const limit = out.data() + length;
  const uint8_t* p = body;
  const uint8_t* const end = body + body_bytes;
  format::ChunkDeltas deltas{};
  Record rec;
  auto read = [&](uint64_t& v) { return (p = format::getVarint(p, end, v)) != nullptr; };
  auto address = [&](uint64_t name, uint64_t& a) {
    uint64_t delta = 0;
    if (name == 0 && !read(delta)) return false;
    a = deltas.address + static_cast<uint64_t>(format::unzigzag(delta));
    return true;
  };
  // An Alloc or Free as the tracker wrote it: type, then varints (the address as a delta).
  uint8_t rebuilt[1 + 4 * 10];
  auto put = [&](uint8_t type, std::initializer_list<uint64_t> before, uint64_t a, std::initializer_list<uint64_t> after) {
    uint8_t* r = rebuilt;
    *r++ = type;
    for (uint64_t v : before) r = format::putVarint(r, v);
    r = format::putVarint(r, format::zigzag(static_cast<int64_t>(a - deltas.address)));
    deltas.address = a;
    for (uint64_t v : after) r = format::putVarint(r, v);
    size_t n = static_cast<size_t>(r - rebuilt);
    if (n > static_cast<size_t>(limit - w)) return false;
    memcpy(w, rebuilt, n);
    w += n;
    return true;
  };
  while (p < end) {
    uint8_t type = *p++;
    uint64_t seq_delta, stack_id, size, name, a = 0;
    if (type == static_cast<uint8_t>(RecordType::Alloc)) {
      if (!read(seq_delta) || !read(stack_id) || !read(size) || !read(name) || !address(name, a) ||
          !model.allocationNamed(name, size, a) || !put(type, {seq_delta, stack_id}, a, {size}))
        return false;
    } else if (type == static_cast<uint8_t>(RecordType::Free)) {
      if (!read(seq_delta) || !read(name) || !address(name, a) || !model.releaseNamed(name, a) ||
          !put(type, {seq_delta}, a, {}))
        return false;
    } else {
      // Any other record is as it was: decoded only to find its end and follow the addresses.
      if (type == 0 || type >= static_cast<uint8_t>(RecordType::Count)) return false;
      const uint8_t* start = p - 1;
      format::FieldDecoder d(p, end, deltas, version);
      if (!d.varint("seq", seq_delta) || !decodeFields(static_cast<RecordType>(type), d, rec)) return false;
      p = d.position();
      size_t n = static_cast<size_t>(p - start);
      if (n > static_cast<size_t>(limit - w)) return false;
      memcpy(w, start, n);
      w += n;
    }
  }
  return true;
}

}  // namespace tidemark
