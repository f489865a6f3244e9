#include "record.h"

namespace tidemark {

using format::RecordType;

namespace {

template <class T>
bool decodeFieldsOf(format::FieldDecoder& d, Decoded<T>& out) {
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

}  // namespace

bool decodeFields(RecordType type, format::FieldDecoder& d, Record& rec) {
  switch (type) {
#define TIDEMARK_DECODE_CASE(name, code) \
  case RecordType::name: return decodeFieldsOf<format::name>(d, rec.slot<format::name>());
    TIDEMARK_RECORD_TYPES(TIDEMARK_DECODE_CASE)
#undef TIDEMARK_DECODE_CASE
    case RecordType::End:
    case RecordType::Count: break;
  }
  return false;
}

}  // namespace tidemark
