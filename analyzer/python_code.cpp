#include "python_code.h"

#include "tidemark/trace_format.h"

namespace tidemark {

namespace {

// CPython 3.11-3.13's location table (Objects/locations.md in CPython's sources): entries of one
// to eight code units; the first byte of an entry has its top bit set, then the kind of entry in
// four bits and the number of code units less one in three. Numbers are little-endian groups of
// six bits, the seventh bit saying another group follows; signed numbers keep the sign in bit 0.
class LocationReader {
 public:
  explicit LocationReader(const std::string& table) : p_(table.data()), end_(table.data() + table.size()) {}
  bool atEnd() const { return p_ >= end_; }
  uint8_t byte() { return p_ < end_ ? static_cast<uint8_t>(*p_++) : 0; }
  uint64_t number() {
    uint8_t b = byte();
    uint64_t value = b & 63;
    for (int shift = 6; (b & 64) && shift < 64; shift += 6) {
      b = byte();
      value |= static_cast<uint64_t>(b & 63) << shift;
    }
    return value;
  }
  int64_t signedNumber() {
    uint64_t u = number();
    return (u & 1) ? -static_cast<int64_t>(u >> 1) : static_cast<int64_t>(u >> 1);
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

int CodeInfo::lineAt(uint64_t instruction) const {
  if (line_table_format != static_cast<uint32_t>(format::LineTableFormat::CPython311)) return first_line;
  LocationReader in(line_table);
  int64_t line = first_line;
  uint64_t start = 0;
  while (!in.atEnd()) {
    uint8_t head = in.byte();
    if (!(head & 0x80)) break;  // not the start of an entry: damaged
    uint32_t kind = (head >> 3) & 15;
    uint64_t units = (head & 7) + 1u;
    if (kind == 15) {
      // no location: the line stays
    } else if (kind == 14) {  // long form: line delta, end line delta, column, end column
      line += in.signedNumber();
      in.number();
      in.number();
      in.number();
    } else if (kind == 13) {  // no column
      line += in.signedNumber();
    } else if (kind >= 10) {  // one line: the delta is in the kind, two column bytes follow
      line += kind - 10;
      in.byte();
      in.byte();
    } else {  // short form: same line, one column byte
      in.byte();
    }
    if (instruction < start + units) break;
    start += units;
  }
  return line > 0 && line < (1ll << 31) ? static_cast<int>(line) : first_line;
}

}  // namespace tidemark
