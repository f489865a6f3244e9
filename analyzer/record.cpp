#include "record.h"

namespace tidemark {

using format::RecordType;

bool decodeFields(RecordType type, format::FieldDecoder& d, Record& rec) {
  switch (type) {
#define TIDEMARK_DECODE_CASE(name, code) \
  case RecordType::name: return decodeFieldsAs<format::name>(d, rec.slot<format::name>());
    TIDEMARK_RECORD_TYPES(TIDEMARK_DECODE_CASE)
#undef TIDEMARK_DECODE_CASE
    case RecordType::End:
    case RecordType::Count: break;
  }
  return false;
}

}  // namespace tidemark
