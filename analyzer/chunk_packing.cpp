#include "chunk_packing.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "record.h"

namespace tidemark {

using format::RecordType;

namespace {

// The bits set in x, without a call: the baseline x86-64 has no popcnt instruction, and
// __builtin_popcountll is then a call into libgcc (4% of `tidemark pack`'s time).
uint64_t bitCount(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555ull;
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (x * 0x0101010101010101ull) >> 56;
}

// The second rules and the third name Allocs and ids alike.
bool namesEnds(format::PackEncoding rules) {
  return rules == format::PackEncoding::Modeled2 || rules == format::PackEncoding::Modeled3;
}

}  // namespace

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

uint64_t AddressModel::LiveSet::rankOf(uint64_t place) const {
  constexpr uint64_t kWordsPerRun = kRunBits / 64;
  const uint64_t run = place / kRunBits;
  uint64_t count = 0;
  for (uint64_t r = run + 1; r < run_live_.size(); ++r) count += run_live_[r];
  // The live blocks of its run at its place and after: counted from whichever end of the run is
  // nearer (its count less those before it, or those after it).
  const uint64_t word = place / 64, run_begin = run * kWordsPerRun;
  const uint64_t run_end = std::min<uint64_t>(run_begin + kWordsPerRun, bits_.size());
  const uint64_t from_place = bits_[word] & ~uint64_t{0} << (place % 64);
  if (word - run_begin < run_end - word) {
    count += run_live_[run] - (bitCount(bits_[word]) - bitCount(from_place));
    for (uint64_t w = run_begin; w < word; ++w) count -= bitCount(bits_[w]);
  } else {
    count += bitCount(from_place);
    for (uint64_t w = word + 1; w < run_end; ++w) count += bitCount(bits_[w]);
  }
  return count;
}

bool AddressModel::LiveSet::placeOfRank(uint64_t rank, uint64_t& place) const {
  constexpr uint64_t kWordsPerRun = kRunBits / 64;
  if (rank == 0) return false;
  uint64_t run = run_live_.size();
  while (run > 0 && rank > run_live_[run - 1]) rank -= run_live_[--run];
  if (run == 0) return false;
  --run;
  for (uint64_t word = std::min<uint64_t>((run + 1) * kWordsPerRun, bits_.size()); word-- > run * kWordsPerRun;) {
    uint64_t bits = bits_[word];
    uint64_t here = bitCount(bits);
    if (rank > here) {
      rank -= here;
      continue;
    }
    for (; rank > 1; --rank) bits &= ~(uint64_t{1} << (63 - __builtin_clzll(bits)));  // the ones above it go
    place = word * 64 + static_cast<uint64_t>(63 - __builtin_clzll(bits));
    return true;
  }
  return false;  // the runs' counts and the bits disagree: not reachable
}

void AddressModel::reset() {
  index_stacks_ = false;
  stack_index_.clear();
  stack_blocks_.clear();
  live_ = {};
  blocks_.clear();
  latest_.clear();
  direct_freed_.assign(kDirectClasses, RecentlyFreed{});
  other_freed_.clear();
  recent_head_ = recent_count_ = 0;
}

// malloc's chunks go in 16-byte steps with an 8-byte header; pymalloc's blocks in 16-byte steps.
uint64_t AddressModel::sizeClass(uint64_t size) { return (size + 8 + 15) >> 4; }

AddressModel::RecentlyFreed& AddressModel::freedOfClass(uint64_t size_class) {
  if (direct_freed_.empty()) direct_freed_.resize(kDirectClasses);
  return size_class < kDirectClasses ? direct_freed_[size_class] : other_freed_[size_class];
}

void AddressModel::allocated(uint64_t address, uint64_t size, uint64_t stack_id) {
  live_.append();
  Block block{address, sizeClass(size)};
  if (index_stacks_) {
    uint32_t index = 0;
    if (const uint32_t* known = stack_index_.find(stack_id + 1)) {
      index = *known;
    } else {
      index = static_cast<uint32_t>(stack_blocks_.size());
      stack_index_.insert(stack_id + 1, index);
      stack_blocks_.push_back({stack_id, {}, {}});
    }
    StackBlocks& stack = stack_blocks_[index];
    block.stack = index;
    block.place = static_cast<uint32_t>(stack.live.append());
    stack.ordinals.push_back(static_cast<uint32_t>(blocks_.size()));
  }
  blocks_.push_back(block);
  if (recent_count_ == kEnds) {
    recent_head_ = (recent_head_ + 1) % kEnds;
    --recent_count_;
  }
  recent_[(recent_head_ + recent_count_++) % kEnds] = {
      .malloc_end = address + 16 * std::max<uint64_t>(sizeClass(size), 2),
      .pymalloc_end = address + std::max<uint64_t>((size + 15) & ~uint64_t{15}, 16)};
}

uint64_t AddressModel::endOf(uint32_t k, End kind) const {
  const Made& m = recent_[(recent_head_ + recent_count_ - k) % kEnds];
  return kind == End::Malloc ? m.malloc_end : m.pymalloc_end;
}

uint64_t AddressModel::nameAllocation(uint64_t address, uint64_t size, uint64_t stack_id, format::PackEncoding rules) {
  const uint64_t size_class = sizeClass(size);
  RecentlyFreed& freed = freedOfClass(size_class);
  uint64_t name = freed.nameOf(address);
  if (name) {
    freed.take(name);
  } else if (namesEnds(rules)) {
    for (uint32_t k = 1; k <= recent_count_ && !name; ++k)
      if (endOf(k, End::Malloc) == address) name = RecentlyFreed::kCapacity + k;
    for (uint32_t k = 1; k <= recent_count_ && !name; ++k)
      if (endOf(k, End::Pymalloc) == address) name = RecentlyFreed::kCapacity + kEnds + k;
  }
  if (address) latest_.insert(address, blocks_.size());
  allocated(address, size, stack_id);
  return name;
}

bool AddressModel::allocationNamed(uint64_t name, uint64_t size, uint64_t stack_id, format::PackEncoding rules,
                                   uint64_t& address) {
  if (index_stacks_ && !indexable(stack_id)) return false;
  const uint64_t size_class = sizeClass(size);
  if (name > RecentlyFreed::kCapacity) {
    uint64_t k = name - RecentlyFreed::kCapacity;
    const End kind = k > kEnds ? End::Pymalloc : End::Malloc;
    if (kind == End::Pymalloc) k -= kEnds;
    if (!namesEnds(rules) || k > recent_count_) return false;
    address = endOf(static_cast<uint32_t>(k), kind);
  } else if (name != 0) {
    RecentlyFreed& freed = freedOfClass(size_class);
    if (name > freed.size()) return false;
    address = freed.take(name);
  }
  allocated(address, size, stack_id);
  return true;
}

uint64_t AddressModel::nameRelease(uint64_t address, format::PackEncoding rules, StackRank* in_stack) {
  if (in_stack) *in_stack = {};
  uint64_t ordinal = 0;
  if (!latest_.erase(address, ordinal)) return 0;
  uint64_t ago = blocks_.size() - ordinal;
  uint64_t name = namesEnds(rules) || ago <= kRankedWithin ? live_.rankOf(ordinal) : kRankedWithin + ago;
  if (in_stack && index_stacks_) {
    const Block& block = blocks_[ordinal];
    const StackBlocks& stack = stack_blocks_[block.stack];
    *in_stack = {stack.stack_id, stack.live.rankOf(block.place)};
  }
  released(ordinal);
  return name;
}

bool AddressModel::releaseNamed(uint64_t name, format::PackEncoding rules, uint64_t& address) {
  if (name == 0) return true;
  uint64_t ordinal = 0;
  if (namesEnds(rules)) {
    if (!live_.placeOfRank(name, ordinal)) return false;
  } else if (name <= kRankedWithin) {
    // A rank among the blocks of the last kRankedWithin allocations.
    if (!live_.placeOfRank(name, ordinal) || blocks_.size() - ordinal > kRankedWithin) return false;
  } else {
    uint64_t ago = name - kRankedWithin;
    if (ago > blocks_.size()) return false;
    ordinal = blocks_.size() - ago;
  }
  if (!live_.isLive(ordinal)) return false;
  address = blocks_[ordinal].address;
  released(ordinal);
  return true;
}

bool AddressModel::releaseNamed(StackRank name, uint64_t& address) {
  const uint32_t* index = index_stacks_ && indexable(name.stack_id) ? stack_index_.find(name.stack_id + 1) : nullptr;
  uint64_t place = 0;
  if (!index || !stack_blocks_[*index].live.placeOfRank(name.rank, place)) return false;
  const uint64_t ordinal = stack_blocks_[*index].ordinals[place];
  address = blocks_[ordinal].address;
  released(ordinal);
  return true;
}

void AddressModel::released(uint64_t ordinal) {
  live_.remove(ordinal);
  const Block& block = blocks_[ordinal];
  if (index_stacks_) stack_blocks_[block.stack].live.remove(block.place);
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
    if (!d.varint("seq", seq_delta)) return false;
    bool ok = false;
    switch (type) {  // most records: decoded here, inline
      case RecordType::Alloc:
        ok = decodeFieldsAs<format::Alloc>(d, rec.slot<format::Alloc>()) &&
             AddressModel::indexable(rec.slot<format::Alloc>().stack_id);
        break;
      case RecordType::Free: ok = decodeFieldsAs<format::Free>(d, rec.slot<format::Free>()); break;
      default: ok = decodeFields(type, d, rec);
    }
    if (!ok) return false;
    fn(type, p, seq_delta, d.position(), address_before, rec);
    p = d.position();
  }
  return std::all_of(p, end, [](uint8_t b) { return b == 0; });
}

// An id as its distance from base (a zigzag varint: ids before base are negative), and back.
uint64_t distanceFrom(uint64_t base, uint64_t id) { return format::zigzag(static_cast<int64_t>(id - base)); }
uint64_t idAt(uint64_t base, uint64_t distance) { return base + static_cast<uint64_t>(format::unzigzag(distance)); }

// The longest record the packer makes in place: a type byte and varints of 10 bytes at most, a seq
// and the fields (PythonFrame's five are the most), with one to spare.
constexpr size_t kLongestMade = 1 + 7 * 10;

// A record's fields (not its type nor its seq) as the tracker encodes them, written at out; where
// they end.
template <class T>
uint8_t* encodeFields(uint8_t* out, const T& rec) {
  format::ChunkDeltas unused{};
  format::FieldEncoder e(out, unused);
  T::fields(e, rec);
  return e.position();
}
template <class T>
void appendFields(std::vector<uint8_t>& out, const T& rec) {
  uint8_t bytes[kLongestMade];
  out.insert(out.end(), bytes, encodeFields(bytes, rec));
}

// Modeled2's ids of a PythonStack and a PythonFrame: `in` as the tracker wrote it when packing
// (the ids become distances), as packed when unpacking (the distances become ids). Either way the
// model moves on by the record's own ids, so the two directions stay one rule.
template <bool kPacking>
uint64_t rewriteId(uint64_t base, uint64_t value) {
  return kPacking ? distanceFrom(base, value) : idAt(base, value);
}
template <bool kPacking>
format::PythonStack rewriteIds(IdModel& m, const format::PythonStack& in) {
  const format::PythonStack out{.stack_id = rewriteId<kPacking>(m.newest + 1, in.stack_id),
                                .native_stack = rewriteId<kPacking>(m.last_native, in.native_stack),
                                .python_frame = rewriteId<kPacking>(m.newest, in.python_frame)};
  const format::PythonStack& own = kPacking ? in : out;
  m.newest = std::max(m.newest, own.stack_id);
  m.last_native = own.native_stack;
  return out;
}
template <bool kPacking>
format::PythonFrame rewriteIds(IdModel& m, const format::PythonFrame& in) {
  format::PythonFrame out = in;
  out.frame_id = rewriteId<kPacking>(m.newest + 1, in.frame_id);
  const uint64_t own_id = kPacking ? in.frame_id : out.frame_id;
  out.parent = rewriteId<kPacking>(own_id, in.parent);
  m.newest = std::max(m.newest, own_id);
  return out;
}

}  // namespace

bool packChunkBody(const uint8_t* chunk, size_t length, uint32_t version, PackModel& model, std::vector<uint8_t>& by_rank,
                   std::vector<uint8_t>& by_stack) {
  if (length < sizeof(format::ChunkHeader) || !model.addresses.stacksIndexed()) return false;
  const uint8_t* begin = chunk + sizeof(format::ChunkHeader);
  const uint8_t* end = chunk + length;
  IdModel& id = model.ids;
  Record rec;
  // First make sure the whole chunk decodes: the model must not see a chunk that is then kept raw.
  if (!forEachRecord(begin, end, version, rec, [](auto&&...) {})) return false;
  // A record is made here, then appended to both bodies at once; a Free is made each its way.
  auto append = [&](std::vector<uint8_t>& out, const uint8_t* from, const uint8_t* to) {
    out.insert(out.end(), from, to);
  };
  forEachRecord(begin, end, version, rec,
                [&](RecordType type, const uint8_t* start, uint64_t seq_delta, const uint8_t* after,
                    uint64_t address_before, Record& r) {
                  const bool rewritten = type == RecordType::Alloc || type == RecordType::Free ||
                                         type == RecordType::PythonStack || type == RecordType::PythonFrame ||
                                         type == RecordType::StackDef;
                  if (!rewritten) {
                    append(by_rank, start, after);
                    append(by_stack, start, after);
                    return;
                  }
                  uint8_t made[kLongestMade];  // the type, the seq, the fields as rewritten
                  made[0] = *start;
                  uint8_t* w = format::putVarint(made + 1, seq_delta);
                  const uint8_t* tail = after;  // StackDef: its frames, as they were
                  if (type == RecordType::Free) {
                    const auto& f = r.slot<format::Free>();
                    AddressModel::StackRank in_stack;
                    const uint64_t name = model.addresses.nameRelease(f.address, format::PackEncoding::Modeled2, &in_stack);
                    const uint64_t delta = format::zigzag(static_cast<int64_t>(f.address - address_before));
                    uint8_t by_its_stack[kLongestMade];
                    uint8_t* s = std::copy(made, w, by_its_stack);
                    w = format::putVarint(w, name);
                    if (name == 0) w = format::putVarint(w, delta);
                    s = format::putVarint(s, in_stack.rank == 0 ? 0 : distanceFrom(id.newest, in_stack.stack_id) + 1);
                    s = format::putVarint(s, in_stack.rank == 0 ? delta : in_stack.rank);
                    append(by_rank, made, w);
                    append(by_stack, by_its_stack, s);
                    return;
                  }
                  if (type == RecordType::Alloc) {
                    const auto& a = r.slot<format::Alloc>();
                    w = format::putVarint(w, distanceFrom(id.newest, a.stack_id));
                    w = format::putVarint(w, a.size);
                    const uint64_t name =
                        model.addresses.nameAllocation(a.address, a.size, a.stack_id, format::PackEncoding::Modeled2);
                    w = format::putVarint(w, name);
                    if (name == 0)
                      w = format::putVarint(w, format::zigzag(static_cast<int64_t>(a.address - address_before)));
                  } else if (type == RecordType::PythonStack) {
                    w = encodeFields(w, rewriteIds<true>(id, r.slot<format::PythonStack>()));
                  } else if (type == RecordType::PythonFrame) {
                    w = encodeFields(w, rewriteIds<true>(id, r.slot<format::PythonFrame>()));
                  } else {  // StackDef: its id (the first field) as a distance, its frames as they were
                    const uint64_t stack_id = r.slot<format::StackDef>().stack_id;
                    w = format::putVarint(w, distanceFrom(id.newest + 1, stack_id));
                    id.newest = std::max(id.newest, stack_id);
                    uint64_t skipped = 0;
                    tail = format::getVarint(start + 1, after, skipped);  // the seq
                    tail = format::getVarint(tail, after, skipped);       // the id
                  }
                  for (std::vector<uint8_t>* out : {&by_rank, &by_stack}) {
                    append(*out, made, w);
                    append(*out, tail, after);
                  }
                });
  return true;
}

bool unpackChunkBody(const format::ChunkHeader& header, const uint8_t* body, size_t body_bytes, size_t length,
                     uint32_t version, format::PackEncoding rules, PackModel& model, std::vector<uint8_t>& out) {
  if (length < sizeof header) return false;
  out.assign(length, 0);
  memcpy(out.data(), &header, sizeof header);
  uint8_t* w = out.data() + sizeof header;
  uint8_t* const limit = out.data() + length;
  const uint8_t* p = body;
  const uint8_t* const end = body + body_bytes;
  const bool ids = namesEnds(rules);
  const bool by_stack = rules == format::PackEncoding::Modeled3;
  if (by_stack && !model.addresses.stacksIndexed()) {
    // Modeled3 from the pack's first allocation on, or not at all.
    if (model.addresses.allocations() != 0) return false;
    model.addresses.indexStacks();
  }
  IdModel& id = model.ids;
  format::ChunkDeltas deltas{};
  Record rec;
  auto read = [&](uint64_t& v) { return (p = format::getVarint(p, end, v)) != nullptr; };
  auto address = [&](uint64_t name, uint64_t& a) {
    uint64_t delta = 0;
    if (name == 0 && !read(delta)) return false;
    a = deltas.address + static_cast<uint64_t>(format::unzigzag(delta));
    return true;
  };
  auto write = [&](const uint8_t* from, size_t n) {
    if (n > static_cast<size_t>(limit - w)) return false;
    memcpy(w, from, n);
    w += n;
    return true;
  };
  // An Alloc or Free as the tracker wrote it: type, then varints (the address as a delta). Encoded
  // in place when the chunk has room for the longest, else beside it and copied (or refused).
  uint8_t rebuilt[1 + 4 * 10];
  auto put = [&](uint8_t type, std::initializer_list<uint64_t> before, uint64_t a, std::initializer_list<uint64_t> after) {
    const bool in_place = static_cast<size_t>(limit - w) >= sizeof rebuilt;
    uint8_t* const at = in_place ? w : rebuilt;
    uint8_t* r = at;
    *r++ = type;
    for (uint64_t v : before) r = format::putVarint(r, v);
    r = format::putVarint(r, format::zigzag(static_cast<int64_t>(a - deltas.address)));
    deltas.address = a;
    for (uint64_t v : after) r = format::putVarint(r, v);
    if (!in_place) return write(rebuilt, static_cast<size_t>(r - rebuilt));
    w = r;
    return true;
  };
  // A record whose fields were rewritten by rewriteIds: its type, its seq, its fields as the tracker
  // encoded them.
  std::vector<uint8_t> fields;
  auto putFields = [&](uint8_t type, uint64_t seq_delta) {
    uint8_t head[1 + 10];
    head[0] = type;
    uint8_t* r = format::putVarint(head + 1, seq_delta);
    return write(head, static_cast<size_t>(r - head)) && write(fields.data(), fields.size());
  };
  while (p < end) {
    uint8_t type = *p++;
    uint64_t seq_delta, stack_id, size, name, a = 0;
    if (type == static_cast<uint8_t>(RecordType::Alloc)) {
      if (!read(seq_delta) || !read(stack_id) || !read(size) || !read(name) || !address(name, a)) return false;
      if (ids) stack_id = idAt(id.newest, stack_id);
      if (!model.addresses.allocationNamed(name, size, stack_id, rules, a) || !put(type, {seq_delta, stack_id}, a, {size}))
        return false;
    } else if (type == static_cast<uint8_t>(RecordType::Free) && by_stack) {
      uint64_t stack_name = 0, rank = 0;
      if (!read(seq_delta) || !read(stack_name)) return false;
      const bool named = stack_name != 0;
      if (named ? !read(rank) || !model.addresses.releaseNamed({idAt(id.newest, stack_name - 1), rank}, a)
                : !address(0, a))
        return false;
      if (!put(type, {seq_delta}, a, {})) return false;
    } else if (type == static_cast<uint8_t>(RecordType::Free)) {
      if (!read(seq_delta) || !read(name) || !address(name, a) || !model.addresses.releaseNamed(name, rules, a) ||
          !put(type, {seq_delta}, a, {}))
        return false;
    } else {
      // Any other record is as it was, or has its ids rewritten: decoded to find its end and
      // follow the addresses.
      if (type == 0 || type >= static_cast<uint8_t>(RecordType::Count)) return false;
      const uint8_t* start = p - 1;
      format::FieldDecoder d(p, end, deltas, version);
      if (!d.varint("seq", seq_delta)) return false;
      const uint8_t* first_field = d.position();
      if (!decodeFields(static_cast<RecordType>(type), d, rec)) return false;
      p = d.position();
      fields.clear();
      if (ids && type == static_cast<uint8_t>(RecordType::PythonStack)) {
        appendFields(fields, rewriteIds<false>(id, rec.slot<format::PythonStack>()));
        if (!putFields(type, seq_delta)) return false;
      } else if (ids && type == static_cast<uint8_t>(RecordType::PythonFrame)) {
        appendFields(fields, rewriteIds<false>(id, rec.slot<format::PythonFrame>()));
        if (!putFields(type, seq_delta)) return false;
      } else if (ids && type == static_cast<uint8_t>(RecordType::StackDef)) {
        const uint64_t stack_id = idAt(id.newest + 1, rec.slot<format::StackDef>().stack_id);
        id.newest = std::max(id.newest, stack_id);
        uint64_t distance = 0;
        const uint8_t* frames = format::getVarint(first_field, p, distance);
        putVarint(fields, stack_id);
        fields.insert(fields.end(), frames, p);
        if (!putFields(type, seq_delta)) return false;
      } else if (!write(start, static_cast<size_t>(p - start))) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace tidemark
