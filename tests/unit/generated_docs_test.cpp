// Tables generated from the one definition of what they list: docs/trace-format.md's records from
// trace_records.h, the README's environment variables from tidemark/environment.inc. Each test
// regenerates its table and fails when the document says something else (TIDEMARK_BLESS=1
// rewrites the document).
#include <gtest/gtest.h>

#include "tidemark/trace_format.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tidemark/trace_codec.h"

namespace {

namespace format = tidemark::format;

struct FieldText {
  std::string text;
  void operator()(const char* kind, const char* name, const char* note) {
    text += (text.empty() ? "" : ", ") + std::string(kind) + " `" + name + "`" + note;
  }
};

// The last varint field a record writes, and its value: where a record's element count must be.
struct LastVarint {
  std::string name;
  uint64_t value = 0;
  bool varint(const char* n, uint64_t v) {
    name = n;
    value = v;
    return true;
  }
  bool signedVarint(const char*, int64_t) { return true; }
  bool address(const char*, uint64_t) { return true; }
  bool bytes(const char*, std::string_view) { return true; }
};

template <class T>
std::string fieldsOf() {
  const T empty{};
  FieldText header;
  format::FieldLister<FieldText> lister(header);
  T::fields(lister, empty);
  std::string text = header.text;
  if constexpr (format::HasElements<T>) {
    FieldText element;
    format::FieldLister<FieldText> element_lister(element);
    const typename T::Element e{};
    T::Element::fields(element_lister, e, e);
    // The count (kCount) is the last field before the elements, so a reader meets it just in time.
    T probe{};
    probe.*T::kCount = 12345;
    LastVarint last;
    T::fields(last, probe);
    EXPECT_EQ(last.value, 12345u) << format::recordTypeName(T::kType) << ": its count is not its last field";
    text += "; then `" + last.name + "` × (" + element.text + ")";
  }
  return text;
}

std::string recordTable() {
  std::string out = "| code | record | fields, in order | what it is |\n| ---: | --- | --- | --- |\n";
#define TIDEMARK_DOC_ROW(name, code)                                                                      \
  out += "| " + std::to_string(code) + " | " #name " | " + fieldsOf<format::name>() + " | " + format::name::kAbout + \
         " |\n";
  TIDEMARK_RECORD_TYPES(TIDEMARK_DOC_ROW)
#undef TIDEMARK_DOC_ROW
  return out;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Checks (or with TIDEMARK_BLESS rewrites) the part of `path` between the two marker lines.
void expectGenerated(const std::string& path, const std::string& begin_marker, const std::string& end_marker,
                     const std::string& expected) {
  std::string doc = readText(path);
  size_t begin = doc.find(begin_marker), end = doc.find(end_marker);
  ASSERT_NE(begin, std::string::npos) << "no generated table in " << path;
  ASSERT_NE(end, std::string::npos);
  begin += begin_marker.size();
  if (getenv("TIDEMARK_BLESS")) {
    doc.replace(begin, end - begin, expected);
    std::ofstream(path) << doc;
    return;
  }
  EXPECT_EQ(doc.substr(begin, end - begin), expected)
      << path << " differs from its definition; run with TIDEMARK_BLESS=1 to regenerate it";
}

TEST(GeneratedDocs, RecordTableMatchesTheDefinitions) {
  expectGenerated(std::string(TM_SOURCE_DIR) + "/docs/trace-format.md",
                  "<!-- records: generated from include/tidemark/trace_records.h -->\n", "<!-- end of records -->\n",
                  recordTable());
}

std::string environmentTable() {
  std::string out = "| variable | default | what it does |\n| --- | --- | --- |\n";
  auto row = [&](const char* name, const std::string& def, const char* help) {
    out += std::string("| `") + name + "` | " + def + " | " + help + " |\n";
  };
#define TIDEMARK_TEXT_OPTION(field, env, def, help) row(env, std::string("`") + def + "`", help);
#define TIDEMARK_NUMBER_OPTION(field, env, def, help) row(env, "`" + std::to_string(def) + "`", help);
#define TIDEMARK_COMMAND_VARIABLE(env, help) row(env, "", help);
#include "tidemark/environment.inc"
#undef TIDEMARK_TEXT_OPTION
#undef TIDEMARK_NUMBER_OPTION
#undef TIDEMARK_COMMAND_VARIABLE
  return out;
}

TEST(GeneratedDocs, EnvironmentTableMatchesTheList) {
  expectGenerated(std::string(TM_SOURCE_DIR) + "/README.md",
                  "<!-- environment: generated from include/tidemark/environment.inc -->\n",
                  "<!-- end of environment -->\n", environmentTable());
}

// Every record survives its own encoder and decoder with every field intact.
TEST(GeneratedDocs, EveryFieldKindOfTheCodecRoundTrips) {
  uint8_t buf[256] = {};
  format::ChunkDeltas wd{}, rd{};
  format::Mremap m{.stack_id = 7, .old_address = 0x7f0000001000, .old_size = 8192, .new_address = 0x7e0000000000, .new_size = 1 << 20};
  format::RecordEncoder enc(buf, wd, 42, m);
  format::publishRecord(buf, m.kType);
  EXPECT_EQ(buf[0], static_cast<uint8_t>(format::RecordType::Mremap));
  format::FieldDecoder dec(buf + 1, enc.end(), rd);
  int64_t seq = 0;
  ASSERT_TRUE(dec.signedVarint("seq", seq));
  EXPECT_EQ(seq, 42);
  format::Mremap back{};
  ASSERT_TRUE(format::Mremap::fields(dec, back));
  EXPECT_EQ(back.stack_id, 7u);
  EXPECT_EQ(back.old_address, m.old_address);
  EXPECT_EQ(back.old_size, m.old_size);
  EXPECT_EQ(back.new_address, m.new_address);
  EXPECT_EQ(back.new_size, m.new_size);
  EXPECT_EQ(dec.position(), enc.end());
  EXPECT_LE(static_cast<size_t>(enc.end() - buf), format::recordBound(m));
}

}  // namespace
