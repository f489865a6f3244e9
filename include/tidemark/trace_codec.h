// Encoding and decoding of the records in trace_records.h: one visitor per direction walks each
// record's `fields`, so the field order is written down once. The encoder writes into memory it is
// given (the preload's mapped chunk, the wrapper's buffer, a test's vector) and never allocates;
// the decoder reads from a bounded range and reports a short or malformed record with false.
//
//   +------+------------------+---------...
//   | type | seq delta (z)    | fields, then repeated elements
//   +------+------------------+---------...
//
// The type byte is written last (see publishRecord), so a reader that sees it non-zero sees the
// whole record; a zero type byte ends the chunk. Delta state (the previous seq and address) lives
// in ChunkDeltas and restarts at zero in every chunk, so each chunk decodes on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "tidemark/trace_records.h"

namespace tidemark::format {

template <class T>
concept HasElements = requires { typename T::Element; };

// Zero it where a chunk starts. No member initializers: it lives in the preload's initial-exec TLS.
struct ChunkDeltas {
  uint64_t seq;
  uint64_t address;
};

// ---- encoding ----------------------------------------------------------------------------------

class FieldEncoder {
 public:
  FieldEncoder(uint8_t* p, ChunkDeltas& deltas) : p_(p), deltas_(deltas) {}
  uint8_t* position() const { return p_; }

  bool varint(const char*, uint64_t x) {
    p_ = putVarint(p_, x);
    return true;
  }
  bool signedVarint(const char*, int64_t x) { return varint(nullptr, zigzag(x)); }
  bool address(const char*, uint64_t a) {
    signedVarint(nullptr, static_cast<int64_t>(a - deltas_.address));
    deltas_.address = a;
    return true;
  }
  bool bytes(const char*, std::string_view s) {
    varint(nullptr, s.size());
    if (!s.empty()) memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return true;
  }
  bool ascending(const char*, uint64_t x, uint64_t previous) { return varint(nullptr, x - previous); }
  bool delta(const char*, uint64_t x, uint64_t previous) {
    return signedVarint(nullptr, static_cast<int64_t>(x - previous));
  }
  bool relative(const char*, uint64_t x, uint64_t base) { return signedVarint(nullptr, static_cast<int64_t>(x - base)); }
  // A varint added to a record in format `version`: traces of earlier versions do not have it.
  bool since(uint32_t, const char*, uint64_t x) { return varint(nullptr, x); }
  bool frame(const char*, const StackFrame& f, const StackFrame& previous) {
    return varint(nullptr, zigzag(static_cast<int64_t>(f.ip - previous.ip)) << 1);
  }

 private:
  uint8_t* p_;
  ChunkDeltas& deltas_;
};

// The most bytes a record's fields can take: what a writer must have room for.
class FieldBound {
 public:
  size_t total = 0;
  bool varint(const char*, uint64_t) { return add(10); }
  bool signedVarint(const char*, int64_t) { return add(10); }
  bool address(const char*, uint64_t) { return add(10); }
  bool bytes(const char*, std::string_view s) { return add(10 + s.size()); }
  bool ascending(const char*, uint64_t, uint64_t) { return add(10); }
  bool delta(const char*, uint64_t, uint64_t) { return add(10); }
  bool relative(const char*, uint64_t, uint64_t) { return add(10); }
  bool since(uint32_t, const char*, uint64_t) { return add(10); }
  bool frame(const char*, const StackFrame&, const StackFrame&) { return add(20); }

 private:
  bool add(size_t n) {
    total += n;
    return true;
  }
};

inline constexpr size_t kRecordPrefixBound = 1 + 10;  // type byte and seq delta

// Room needed for rec with `elements` repeated elements.
template <class T>
size_t recordBound(const T& rec, uint64_t elements = 0) {
  FieldBound b;
  T::fields(b, rec);
  size_t total = kRecordPrefixBound + b.total;
  if constexpr (HasElements<T>) {
    FieldBound e;
    typename T::Element element{};
    T::Element::fields(e, element, element);
    total += elements * e.total;
  }
  return total;
}

// Encodes one record at `start`, whose first byte is left for the type (publishRecord writes it).
// Elements, if the record has them, are added one by one; end() is where the record ends. A null
// start (no room) encodes nothing: the caller must not add elements then.
template <class T>
class RecordEncoder {
 public:
  RecordEncoder(uint8_t* start, ChunkDeltas& deltas, uint64_t seq, const T& rec)
      : start_(start), encoder_(start ? start + 1 : nullptr, deltas) {
    if (!start) return;
    encoder_.signedVarint(nullptr, static_cast<int64_t>(seq - deltas.seq));
    deltas.seq = seq;
    T::fields(encoder_, rec);
  }
  template <class E>
  void add(const E& element) {
    static_assert(HasElements<T> && sizeof(E) == sizeof(typename T::Element));
    E::fields(encoder_, element, previous_);
    previous_ = element;
  }
  uint8_t* start() const { return start_; }
  uint8_t* end() const { return encoder_.position(); }

 private:
  struct NoElement {};
  template <class U>
  struct ElementOf {
    using type = NoElement;
  };
  template <HasElements U>
  struct ElementOf<U> {
    using type = typename U::Element;
  };
  using Previous = typename ElementOf<T>::type;
  uint8_t* start_;
  FieldEncoder encoder_;
  Previous previous_{};
};

// Publishes an encoded record: the type byte goes last, with a release store.
inline void publishRecord(uint8_t* start, RecordType type) {
  __atomic_store_n(start, static_cast<uint8_t>(type), __ATOMIC_RELEASE);
}

// ---- decoding ----------------------------------------------------------------------------------

class FieldDecoder {
 public:
  // version: the trace's format version, which says which fields its records have.
  FieldDecoder(const uint8_t* p, const uint8_t* end, ChunkDeltas& deltas, uint32_t version = kVersion)
      : p_(p), end_(end), deltas_(deltas), version_(version) {}
  const uint8_t* position() const { return p_; }

  bool varint(const char*, uint64_t& x) { return (p_ = getVarint(p_, end_, x)) != nullptr; }
  bool signedVarint(const char*, int64_t& x) {
    uint64_t u;
    if (!varint(nullptr, u)) return false;
    x = unzigzag(u);
    return true;
  }
  bool address(const char*, uint64_t& a) {
    int64_t d;
    if (!signedVarint(nullptr, d)) return false;
    deltas_.address += static_cast<uint64_t>(d);
    a = deltas_.address;
    return true;
  }
  bool bytes(const char*, std::string_view& s) {
    uint64_t n;
    if (!varint(nullptr, n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    s = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  bool ascending(const char*, uint64_t& x, uint64_t previous) {
    uint64_t d;
    if (!varint(nullptr, d)) return false;
    x = previous + d;
    return true;
  }
  bool delta(const char*, uint64_t& x, uint64_t previous) {
    int64_t d;
    if (!signedVarint(nullptr, d)) return false;
    x = previous + static_cast<uint64_t>(d);
    return true;
  }
  bool relative(const char*, uint64_t& x, uint64_t base) {
    int64_t d;
    if (!signedVarint(nullptr, d)) return false;
    x = base + static_cast<uint64_t>(d);
    return true;
  }
  bool since(uint32_t version, const char*, uint64_t& x) {
    x = 0;
    return version_ < version || varint(nullptr, x);
  }
  bool frame(const char*, StackFrame& f, const StackFrame& previous) {
    uint64_t word;
    if (!varint(nullptr, word)) return false;
    if (word & 1) return false;  // reserved
    f.ip = previous.ip + static_cast<uint64_t>(unzigzag(word >> 1));
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  ChunkDeltas& deltas_;
  uint32_t version_;
};

// ---- documentation -----------------------------------------------------------------------------

// Lists a record's fields as "kind name" in wire order, for the generated record table.
template <class Sink>
class FieldLister {
 public:
  explicit FieldLister(Sink& sink) : sink_(sink) {}
  bool varint(const char* name, uint64_t) { return add("v", name); }
  bool signedVarint(const char* name, int64_t) { return add("z", name); }
  bool address(const char* name, uint64_t) { return add("a", name); }
  bool bytes(const char* name, std::string_view) { return add("s", name); }
  bool ascending(const char* name, uint64_t, uint64_t) { return add("v", name, " (ascending)"); }
  bool delta(const char* name, uint64_t, uint64_t) { return add("z", name, " (delta)"); }
  bool relative(const char* name, uint64_t, uint64_t) { return add("z", name, " (relative)"); }
  bool since(uint32_t version, const char* name, uint64_t) {
    since_note_ = " (since format " + std::to_string(version) + ")";
    return add("v", name, since_note_.c_str());
  }
  bool frame(const char* name, const StackFrame&, const StackFrame&) { return add("frame", name); }

 private:
  bool add(const char* kind, const char* name, const char* note = "") {
    sink_(kind, name, note);
    return true;
  }
  Sink& sink_;
  std::string since_note_;
};

}  // namespace tidemark::format
