// A record as the reader hands it out: its type, its place in the merged order, the stream that
// wrote it, and its fields as the typed struct of trace_records.h.
#pragma once

#include <cassert>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tidemark/trace_codec.h"

namespace tidemark {

// A decoded record of type T: its fields, and its repeated elements when it has them.
template <class T>
struct WithElements : T {
  std::vector<typename T::Element> elements;
};
template <class T>
using Decoded = std::conditional_t<format::HasElements<T>, WithElements<T>, T>;

namespace detail {
struct NoRecord {};
#define TIDEMARK_DECODED_TYPE(name, code) Decoded<format::name>,
using RecordPayloads = std::tuple<TIDEMARK_RECORD_TYPES(TIDEMARK_DECODED_TYPE) NoRecord>;
#undef TIDEMARK_DECODED_TYPE
}  // namespace detail

// One decoded record: its type, its place in the merged order and the stream (thread) that wrote
// it, and its fields as the typed struct of trace_records.h. Reused from one record to the next.
struct Record {
  format::RecordType type = format::RecordType::End;
  uint64_t seq = 0;
  uint32_t stream = 0;

  // The fields of this record; T must be the struct of `type`.
  template <class T>
  const Decoded<T>& get() const {
    assert(T::kType == type);
    return std::get<Decoded<T>>(payloads_);
  }
  template <class T>
  Decoded<T>& slot() {
    return std::get<Decoded<T>>(payloads_);
  }

 private:
  detail::RecordPayloads payloads_;
};

// Decodes the fields of a record of type T (what follows its seq delta) into out; false when they
// are short or malformed. Inline, for the reader's most common records.
template <class T>
bool decodeFieldsAs(format::FieldDecoder& d, Decoded<T>& out) {
  static_cast<T&>(out) = T{};
  if (!T::fields(d, static_cast<T&>(out))) return false;
  if constexpr (format::HasElements<T>) {
    uint64_t n = out.*T::kCount;
    if (n > T::kMaxElements) return false;
    out.elements.resize(n);
    typename T::Element previous{};
    for (auto& e : out.elements) {
      if (!T::Element::fields(d, e, previous)) return false;
      previous = e;
    }
  }
  return true;
}

// Decodes the fields of a record of `type` (what follows its seq delta) into rec's slot for that
// type; false when they are short or malformed. The reader's decoder, and the packer's.
bool decodeFields(format::RecordType type, format::FieldDecoder& d, Record& rec);

}  // namespace tidemark
