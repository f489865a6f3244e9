// The reader on damaged input: cut at any byte, bytes flipped, garbage. It either reads or throws
// tidemark::Error; it never crashes (this test runs under ASan and UBSan in CI).
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "error.h"
#include "replay.h"
#include "trace_builder.h"

using namespace tidemark;
using tmtest::TraceBuilder;

namespace {

std::string tempPath(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("tm-reader-") + std::to_string(getpid()) + "-" + name)).string();
}

std::string sampleTrace(const std::string& path) {
  TraceBuilder b(4096);
  b.processInfo(1, 42, "/bin/prog", std::string("prog\0--flag", 11));
  b.stackDef(2, 1, {0x401000, 0x401100, 0x7f0000001000});
  for (uint64_t i = 0; i < 600; ++i) {
    b.onStream(1 + i % 3).alloc(10 + 2 * i, 1, 0x10000 + 64 * i, 16 + i);
    if (i % 4 == 0) b.onStream(1 + i % 3).free(11 + 2 * i, 0x10000 + 64 * i);
  }
  b.sample(5000, 123, 4096);
  return b.write(path);
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Reads and replays; returns "" on success, the error text on a clean failure.
std::string readAll(const std::string& path) {
  try {
    TraceReader reader(path);
    ReplayResult r = replay(reader);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

TEST(TraceReader, CompleteTraceReads) {
  std::string path = tempPath("ok");
  sampleTrace(path);
  TraceReader reader(path);
  ReplayResult r = replay(reader);
  EXPECT_EQ(r.allocations, 600u);
  EXPECT_EQ(r.frees, 150u);
  EXPECT_EQ(r.pid, 42u);
  ASSERT_EQ(r.argv.size(), 2u);
  EXPECT_EQ(r.argv[1], "--flag");
  EXPECT_TRUE(reader.warnings().empty());
  std::filesystem::remove(path);
}

TEST(TraceReader, CutAtEveryByteOffsetFailsCleanlyOrReadsAPrefix) {
  std::string full_path = tempPath("full");
  std::string bytes = sampleTrace(full_path);
  std::string path = tempPath("cut");
  uint64_t last_allocations = 0;
  for (size_t cut = 0; cut < bytes.size(); cut += (cut < 4096 + 8192 ? 1 : 7)) {
    writeFile(path, bytes.substr(0, cut));
    try {
      TraceReader reader(path);
      ReplayResult r = replay(reader);
      EXPECT_GE(cut, sizeof(format::FileHeader));
      if (cut > format::kHeaderSize && (cut - format::kHeaderSize) % 4096 != 0) {
        EXPECT_FALSE(reader.warnings().empty()) << "cut at " << cut;
      }
      EXPECT_LE(r.allocations, 600u);
      last_allocations = r.allocations;
    } catch (const Error& e) {
      EXPECT_LT(cut, format::kHeaderSize + 1) << "cut at " << cut << ": " << e.what();
    }
  }
  EXPECT_GT(last_allocations, 500u);
  std::filesystem::remove(path);
  std::filesystem::remove(full_path);
}

// A disk that fills while a chunk is grown without fallocate leaves the start of that chunk as
// written zeros: it was taken, never written, and nothing is missing.
TEST(TraceReader, APartChunkOfZerosAtTheEndLosesNothing) {
  std::string path = tempPath("zero-tail");
  std::string bytes = sampleTrace(path);
  for (size_t zeros : {size_t{3}, size_t{1000}}) {
    writeFile(path, bytes + std::string(zeros, '\0'));
    TraceReader reader(path);
    ReplayResult r = replay(reader);
    EXPECT_EQ(r.allocations, 600u);
    EXPECT_TRUE(reader.warnings().empty()) << zeros << ": " << reader.warnings().front();
  }
  // The same length with a chunk's header at its start was written, and is cut short.
  format::ChunkHeader written{format::kChunkMagic, 9, 0, 9};
  std::string part(1000, '\0');
  memcpy(part.data(), &written, sizeof written);
  writeFile(path, bytes + part);
  TraceReader reader(path);
  ASSERT_EQ(reader.warnings().size(), 1u);
  EXPECT_NE(reader.warnings()[0].find("cut short: it ends 1000 bytes into chunk"), std::string::npos) << reader.warnings()[0];
  std::filesystem::remove(path);
}

TEST(TraceReader, FlippedBytesNeverCrash) {
  std::string full_path = tempPath("flip-src");
  std::string bytes = sampleTrace(full_path);
  std::string path = tempPath("flip");
  std::mt19937 rng(7);
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string damaged = bytes;
    size_t at = format::kHeaderSize + rng() % (damaged.size() - format::kHeaderSize);
    damaged[at] = static_cast<char>(rng());
    writeFile(path, damaged);
    if (!readAll(path).empty()) ++errors;
  }
  EXPECT_GT(errors, 0);  // some damage must be noticed
  std::filesystem::remove(path);
  std::filesystem::remove(full_path);
}

TEST(TraceReader, MessagesSayWhatIsWrong) {
  std::string path = tempPath("msg");
  writeFile(path, "");
  EXPECT_NE(readAll(path).find("shorter than a trace header"), std::string::npos);
  writeFile(path, std::string(8192, 'x'));
  EXPECT_NE(readAll(path).find("not a tidemark trace (wrong magic)"), std::string::npos);
  writeFile(path, std::string(8192, '\0'));
  EXPECT_NE(readAll(path).find("header was never written"), std::string::npos);
  EXPECT_NE(readAll("/nonexistent/x.tmtrace").find("cannot open trace"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
