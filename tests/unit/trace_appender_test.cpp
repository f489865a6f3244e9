// The wrapper's records of how a process ended (cli/trace_appender.h), written into the trace
// after the process: into a chunk the process never wrote when there is one, else a new chunk.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "trace_appender.h"
#include "trace_builder.h"
#include "trace_reader.h"

using namespace tidemark;
using tmtest::TraceBuilder;

namespace {

std::string tempTrace(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tm-append-" + std::to_string(getpid()) + "-" + name)).string();
}

// The process's trace (4 KiB chunks), then `unused` bytes of slots it took and never wrote (zeros),
// as the header counts them: whole chunks kept ready, or one cut where the disk filled.
void writeTrace(const std::string& path, uint64_t unused_chunks, uint64_t unused_bytes) {
  TraceBuilder b;
  b.processInfo(1, 1, "/bin/prog", "prog").stackDef(2, 1, {0x401000}).alloc(3, 1, 0x1000, 64);
  b.write(path);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  format::FileHeader h{};
  f.read(reinterpret_cast<char*>(&h), sizeof h);
  h.chunks_allocated += unused_chunks;
  f.seekp(0);
  f.write(reinterpret_cast<const char*>(&h), sizeof h);
  f.close();
  std::filesystem::resize_file(path, std::filesystem::file_size(path) + unused_bytes);
}

// The code of the ProcessEnd the reader finds, -1 when there is none.
int64_t endCode(const std::string& path, std::vector<std::string>& warnings) {
  TraceReader reader(path);
  int64_t code = -1;
  reader.forEach([&](const Record& r) {
    if (r.type == format::RecordType::ProcessEnd) code = static_cast<int64_t>(r.get<format::ProcessEnd>().code);
  });
  warnings = reader.warnings();
  return code;
}

}  // namespace

TEST(TraceAppender, HowTheProcessEndedGoesIntoAChunkItNeverWrote) {
  struct Case {
    const char* what;
    uint64_t unused_chunks, unused_bytes, grows_by;
  };
  const uint64_t chunk = 4096;
  for (const Case& c : {Case{"no unused chunk: a new one", 0, 0, chunk},
                        Case{"two ready chunks never taken: the first of them", 2, 2 * chunk, 0},
                        Case{"a chunk cut where the disk filled: that one, made whole", 1, 1024, chunk - 1024},
                        Case{"a slot taken, never grown: that one", 1, 0, chunk},
                        Case{"two threads' chunks cut where the disk filled: the first; the second stays zeros", 2,
                             chunk + 1024, 0}}) {
    SCOPED_TRACE(c.what);
    std::string path = tempTrace("t.tmtrace");
    writeTrace(path, c.unused_chunks, c.unused_bytes);
    const uint64_t before = std::filesystem::file_size(path);
    appendProcessEnd(path, 1, {.signaled = false, .code = 3});
    EXPECT_EQ(std::filesystem::file_size(path), before + c.grows_by);
    std::vector<std::string> warnings;
    EXPECT_EQ(endCode(path, warnings), 3);
    EXPECT_TRUE(warnings.empty()) << warnings.front();
    std::filesystem::remove(path);
  }
}
