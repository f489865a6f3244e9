// Damaged and hostile input: crafted traces, FIFOs and devices, bytes that are not UTF-8, a baseline
// with absurd numbers, a full standard output. Every command answers with one line and exit 2, or
// reads what can be read and says what is damaged; none crashes, hangs or prints a wrong number.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "harness.h"
#include "trace_builder.h"

using namespace tmtest;
namespace format = tidemark::format;

namespace {

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// Every reading command on one input: each must refuse it with one line and exit 2.
// dump prints records as they are, without replaying them: it refuses files it cannot read, not
// figures that make no sense.
void expectRefusedEverywhere(const std::string& input, const std::string& why, const std::string& dir,
                             bool dump_too = true) {
  for (std::vector<std::string> argv : std::vector<std::vector<std::string>>{
           {"summary", input},
           {"summary", "--json", input},
           {"report", input, "-o", dir + "/r.html"},
           {"flamegraph", input, "-o", dir + "/f.svg"},
           {"recommend", input},
           {"gate", input, "--max-peak", "1GiB"},
           {"diff", input, input}}) {
    argv.insert(argv.begin(), "timeout");
    argv.insert(argv.begin() + 1, "20");
    argv.insert(argv.begin() + 2, tmtest::tidemark());
    Result r = run(argv);
    EXPECT_EQ(r.code, 2) << argv[3] << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1) << argv[3] << ": " << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << argv[3] << ": " << r.err;
  }
  if (dump_too) {
    Result r = run({"timeout", "20", tmtest::tidemark(), "dump", input});
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
}

// Writes the trace into the test's directory (made afresh by this call) and checks every command.
void expectRefusedEverywhere(TraceBuilder& b, const std::string& why) {
  std::string dir = tempDir();
  b.write(dir + "/crafted.tmtrace");
  expectRefusedEverywhere(dir + "/crafted.tmtrace", why, dir, false);
}

TEST(HostileInput, AStackIdPastTheFileIsAnError) {
  TraceBuilder b;
  b.processInfo(1, 7, "/bin/x", "x").alloc(2, 0xFFFFFFFF, 0x1000, 100).exit(3, 10);
  expectRefusedEverywhere(b, "stack id 4294967295");
}

TEST(HostileInput, AHugeHeapScanIsAnError) {
  TraceBuilder b;
  b.processInfo(1, 7, "/bin/x", "x").record(2, format::ScanBegin{.time_ns = 1, .block_count = 1ull << 32, .reason = 0});
  expectRefusedEverywhere(b, "a heap scan of 4294967296 blocks");
}

TEST(HostileInput, AnAggregateTablePastTheFileIsAnError) {
  TraceBuilder b;
  b.processInfo(1, 7, "/bin/x", "x").sample(2, 1, 4096);
  b.aggregate({.heap_live = 0, .heap_peak = 0, .peak_epoch = 0, .peak_seq = 0, .allocations = 0, .frees = 0,
               .reallocs = 0, .allocated_bytes = 0, .unknown_frees = 0, .mmap_live = 0, .mmap_peak = 0,
               .max_stack_id = 1ull << 26},
              {format::StackCounters{}});
  expectRefusedEverywhere(b, "aggregate chunks hold");
}

TEST(HostileInput, ASampledTraceWithoutAMeanIsAnError) {
  TraceBuilder b;
  b.sampled(0).processInfo(1, 7, "/bin/x", "x").alloc(2, 1, 0x1000, 100).exit(3, 10);
  expectRefusedEverywhere(b, "sample mode with a mean of 0 bytes");
}

TEST(HostileInput, FifosAndDevicesAreRefusedWithoutWaiting) {
  std::string dir = tempDir();
  std::string fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expectRefusedEverywhere(fifo, "it is a FIFO, not a regular file", dir);
  expectRefusedEverywhere("/dev/zero", "it is a character device, not a regular file", dir);
}

TEST(HostileInput, AModulePathThatNamesAFifoIsNotOpened) {
  std::string dir = tempDir();
  std::string fifo = dir + "/module-fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  TraceBuilder b;
  b.processInfo(1, 7, "/bin/x", "x")
      .record(2, format::ModuleMapBegin{.generation = 1, .module_count = 1})
      .record(3, format::Module{.generation = 1, .load_bias = 0x400000, .path = fifo, .build_id = "", .segment_count = 1},
              std::vector<format::ModuleSegment>{{.vaddr = 0, .memsz = 0x10000}})
      .stackDef(4, 1, {0x401234})
      .alloc(5, 1, 0x7000, 4096)
      .exit(6, 10);
  std::string trace = dir + "/m.tmtrace";
  b.write(trace);
  Result r = run({"timeout", "20", tmtest::tidemark(), "summary", trace});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("module-fifo+0x1233"), std::string::npos) << r.out;
}

TEST(HostileInput, BytesThatAreNotUtf8NeverBreakAnOutput) {
  std::string dir = tempDir();
  // A Latin-1 program name, a terminal escape in argv and in a marker, a lone continuation byte.
  const std::string exe = "/opt/caf\xe9/backtest";
  const std::string argv = std::string("backtest\0--title=\x1b[2J\x1b[31mred\0\x80", 31);
  TraceBuilder b;
  b.processInfo(1, 7, exe, argv)
      .record(2, format::Marker{.time_ns = 5, .kind = 0, .text = "\x1b]0;owned\x07"})
      .alloc(3, 1, 0x1000, 100)
      .exit(4, 10);
  std::string trace = dir + "/utf8.tmtrace";
  b.write(trace);
  Result json = run({tmtest::tidemark(), "summary", "--json", trace});
  ASSERT_EQ(json.code, 0) << json.err;
  auto s = nlohmann::json::parse(json.out);  // throws on invalid UTF-8 or broken JSON
  EXPECT_EQ(s["exe"], "/opt/caf\xef\xbf\xbd/backtest");
  EXPECT_EQ(s["argv"][1], "--title=?[2J?[31mred");
  Result text = run({tmtest::tidemark(), "summary", trace});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << "a terminal escape reached the terminal";
  for (const char* format : {"speedscope", "svg", "folded"}) {
    Result f = run({tmtest::tidemark(), "flamegraph", trace, "--format", format, "--metric", "allocated"});
    EXPECT_EQ(f.code, 0) << format << ": " << f.err;
    EXPECT_EQ(f.out.find('\x1b'), std::string::npos) << format;
  }
  EXPECT_EQ(run({tmtest::tidemark(), "report", trace, "-o", dir + "/r.html"}).code, 0);
  EXPECT_EQ(readFile(dir + "/r.html").find('\x1b'), std::string::npos);
}

TEST(HostileInput, ABaselineWithAbsurdNumbersIsRefused) {
  std::string dir = tempDir();
  std::string trace = dir + "/t.tmtrace";
  ASSERT_EQ(run({tmtest::tidemark(), "run", "-o", trace, "--", program("tm-test-known_peak")}).code, 0);
  auto s = summary(trace);
  for (const char* bad : {"1e300", "-1", "0.5", "\"12\""}) {
    nlohmann::json j = s;
    j["peak_heap"]["bytes"] = nlohmann::json::parse(bad);
    std::ofstream(dir + "/base.json") << j.dump();
    Result r = run({tmtest::tidemark(), "gate", trace, "--baseline", dir + "/base.json", "--max-peak-increase", "1"});
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("not a byte count"), std::string::npos) << r.err;
  }
}

TEST(HostileInput, DamageIsReportedNotAbsorbed) {
  std::string dir = tempDir();
  // One thread's stream over several 4 KiB chunks.
  TraceBuilder b(4096);
  b.processInfo(1, 7, "/bin/x", "x").stackDef(2, 1, {0x401000});
  uint64_t seq = 3;
  for (int i = 0; i < 2000; ++i) b.alloc(seq++, 1, 0x10000 + 64 * static_cast<uint64_t>(i), 32);
  b.exit(seq, 10);
  std::string whole = dir + "/whole.tmtrace";
  std::string bytes = b.write(whole);
  ASSERT_GE(bytes.size(), 4096u + 3 * 4096u);  // three chunks at least: the second can go
  auto clean = summary(whole);
  EXPECT_TRUE(clean["warnings"].empty()) << clean["warnings"];

  // A chunk in the middle of the stream lost (its header zeroed): the gap is named.
  std::string gap = bytes;
  std::fill(gap.begin() + 4096 + 4096, gap.begin() + 4096 + 4096 + 16, '\0');
  std::ofstream(dir + "/gap.tmtrace", std::ios::binary) << gap;
  auto s = summary(dir + "/gap.tmtrace");
  ASSERT_EQ(s["warnings"].size(), 1u) << s["warnings"];
  EXPECT_NE(s["warnings"][0].get<std::string>().find("1 chunk of events is missing"), std::string::npos);
  Result text = run({tmtest::tidemark(), "summary", dir + "/gap.tmtrace"});
  EXPECT_EQ(text.out.rfind("warning: the trace is damaged", 0), 0u) << text.out.substr(0, 300);

  // Zeros in the middle of a chunk's records: what follows them is not read, and that is said.
  std::string zeroed = bytes;
  std::fill(zeroed.begin() + 4096 + 1000, zeroed.begin() + 4096 + 1064, '\0');
  std::ofstream(dir + "/zeroed.tmtrace", std::ios::binary) << zeroed;
  s = summary(dir + "/zeroed.tmtrace");
  ASSERT_EQ(s["warnings"].size(), 1u) << s["warnings"];
  EXPECT_NE(s["warnings"][0].get<std::string>().find("zeroed part-way"), std::string::npos);

  // A process killed while writing a record: its fields are there, its type byte (stored last) is
  // not. That record is not read, and the trace is not damaged: nothing was lost after it.
  auto killedAfter = [&](int allocations) {
    TraceBuilder k(4096);
    k.processInfo(1, 7, "/bin/x", "x").stackDef(2, 1, {0x401000});
    for (int i = 0; i < allocations; ++i) k.alloc(3 + static_cast<uint64_t>(i), 1, 0x10000 + 64 * static_cast<uint64_t>(i), 32);
    return k.write(dir + "/killed.tmtrace");
  };
  auto used = [](const std::string& file) { return file.find_last_not_of('\0') + 1; };
  const size_t last_record = used(killedAfter(100));  // where the 101st allocation starts
  std::string killed = killedAfter(101);
  ASSERT_GT(used(killed), last_record);
  ASSERT_NE(killed[last_record], '\0');
  killed[last_record] = '\0';
  std::ofstream(dir + "/killed.tmtrace", std::ios::binary | std::ios::trunc) << killed;
  s = summary(dir + "/killed.tmtrace");
  EXPECT_TRUE(s["warnings"].empty()) << s["warnings"];
  EXPECT_EQ(s["allocations"], 100);
}

TEST(HostileInput, AFullStandardOutputFailsTheCommand) {
  std::string trace = tempDir() + "/t.tmtrace";
  ASSERT_EQ(run({tmtest::tidemark(), "run", "-o", trace, "--", program("tm-test-known_peak")}).code, 0);
  for (const char* command : {"summary", "dump", "recommend"}) {
    Result r = run({"sh", "-c", tmtest::tidemark() + " " + command + " " + trace + " > /dev/full"});
    EXPECT_EQ(r.code, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("cannot write to standard output"), std::string::npos) << r.err;
  }
}

}  // namespace
