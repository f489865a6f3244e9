// Replay on hand-made traces: exact peak attribution, cross-stream ordering, realloc, mmap.
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "error.h"
#include "replay.h"
#include "trace_builder.h"

using namespace tidemark;
using tmtest::TraceBuilder;

namespace {

std::string tempTrace(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("tm-unit-") + std::to_string(getpid()) + "-" + name)).string();
}

ReplayResult replayOf(const TraceBuilder& b, const char* name) {
  struct RemovedAtEnd {
    std::string path;
    ~RemovedAtEnd() { std::filesystem::remove(path); }
  } file{tempTrace(name)};  // also when the replay throws
  b.write(file.path);
  TraceReader reader(file.path);
  return replay(reader);
}

TEST(Replay, PeakAttributionIsTheStateAtThePeak) {
  TraceBuilder b;
  // stack 1: 100, stack 2: 50 -> peak 150 (1:100, 2:50); free 1's block; stack 2 grows to 130 total.
  b.alloc(1, 1, 0x1000, 100).alloc(2, 2, 0x2000, 50).free(3, 0x1000).alloc(4, 2, 0x3000, 80);
  // Then a new, higher peak: 2 holds 130, 3 adds 40 -> 170; 3 frees afterwards.
  b.alloc(5, 3, 0x4000, 40).free(6, 0x4000).free(7, 0x2000);
  ReplayResult r = replayOf(b, "peak");
  EXPECT_EQ(r.heap_peak, 170u);
  EXPECT_EQ(r.peakBytes(1), 0u);
  EXPECT_EQ(r.peakBytes(2), 130u);
  EXPECT_EQ(r.peakBlocks(2), 2u);
  EXPECT_EQ(r.peakBytes(3), 40u);
  EXPECT_EQ(r.heap_live, 80u);
  EXPECT_EQ(r.stacks[2].live_bytes, 80u);
}

// Sample mode: a sampled block of n bytes (mean R) stands for n / (1 - exp(-n/R)) bytes, with a
// variance of that squared times exp(-n/R); a stack's and the heap's figures are their sums.
TEST(Replay, SampledBlocksAreWeighedByTheChanceOfTheirSampling) {
  TraceBuilder b;
  b.sampled(1000).alloc(1, 1, 0x1000, 500).alloc(2, 1, 0x2000, 5000).alloc(3, 2, 0x3000, 100).free(4, 0x3000);
  ReplayResult r = replayOf(b, "sampled");
  EXPECT_EQ(r.sample_bytes, 1000u);
  // 500 / (1 - e^-0.5) = 1270.7, 5000 / (1 - e^-5) = 5034.1, 100 / (1 - e^-0.1) = 1050.8
  EXPECT_EQ(r.heap_peak, 1271u + 5034u + 1051u);
  EXPECT_EQ(r.stacks[1].live_bytes, 1271u + 5034u);
  EXPECT_EQ(r.stacks[2].live_bytes, 0u);
  auto variance = [](double size) {
    double bytes = size / (1 - std::exp(-size / 1000));
    return bytes * bytes * std::exp(-size / 1000);
  };
  EXPECT_NEAR(r.stacks[1].live_variance, variance(500) + variance(5000), 1e-6);
  EXPECT_EQ(r.stacks[2].live_variance, 0.0);  // its block was freed
  EXPECT_NEAR(r.heap_peak_variance, variance(500) + variance(5000) + variance(100), 1e-6);
  EXPECT_EQ(errorBytes(r.stacks[1].live_variance), static_cast<uint64_t>(std::llround(1.96 * std::sqrt(r.stacks[1].live_variance))));
  // A mean of one byte: every block larger than a few dozen bytes is certain, and weighs its size.
  EXPECT_EQ(weighSample(4096, 1).bytes, 4096u);
  EXPECT_EQ(weighSample(0, 1000).bytes, 0u);
}

TEST(Replay, FirstPeakKeptWhenNeverExceeded) {
  TraceBuilder b;
  b.alloc(1, 1, 0x1000, 1000).alloc(2, 2, 0x2000, 500).free(3, 0x1000).free(4, 0x2000).alloc(5, 3, 0x5000, 10);
  ReplayResult r = replayOf(b, "first");
  EXPECT_EQ(r.heap_peak, 1500u);
  EXPECT_EQ(r.peakBytes(1), 1000u);
  EXPECT_EQ(r.peakBytes(2), 500u);
  EXPECT_EQ(r.peakBytes(3), 0u);
}

TEST(Replay, StreamsAreMergedBySeqSoAddressReuseAcrossThreadsIsExact) {
  TraceBuilder b;
  // Thread 1 frees 0x1000 at seq 2; thread 2 gets 0x1000 back at seq 3. In file order thread 2's
  // chunk comes first, so only the seq merge gets this right.
  b.onStream(2).alloc(3, 2, 0x1000, 64).free(5, 0x1000);
  b.onStream(1).alloc(1, 1, 0x1000, 32).free(2, 0x1000).alloc(4, 1, 0x9000, 16);
  ReplayResult r = replayOf(b, "merge");
  EXPECT_EQ(r.anomalies.unknown_frees, 0u);
  EXPECT_EQ(r.anomalies.overwritten_allocs, 0u);
  EXPECT_EQ(r.heap_live, 16u);
  EXPECT_EQ(r.heap_peak, 80u);
  EXPECT_EQ(r.peakBytes(2), 64u);
  EXPECT_EQ(r.peakBytes(1), 16u);
}

TEST(Replay, ReallocMovesTheBlockToTheNewStack) {
  TraceBuilder b;
  b.alloc(1, 1, 0x1000, 10).realloc(2, 2, 0x1000, 0x8000, 1000).realloc(3, 3, 0x8000, 0x8000, 500);
  ReplayResult r = replayOf(b, "realloc");
  EXPECT_EQ(r.heap_live, 500u);
  EXPECT_EQ(r.heap_peak, 1000u);
  EXPECT_EQ(r.stacks[1].live_bytes, 0u);
  EXPECT_EQ(r.stacks[3].live_bytes, 500u);
  EXPECT_EQ(r.reallocs, 2u);
}

TEST(Replay, PartialMunmapSplitsRegions) {
  TraceBuilder b;
  b.mmap(1, 1, 0x100000, 0x10000).munmap(2, 0x104000, 0x4000).mmap(3, 2, 0x200000, 0x1000);
  b.munmap(4, 0x0, 0x101000);  // cuts the first page off
  ReplayResult r = replayOf(b, "mmap");
  EXPECT_EQ(r.mmap_peak, 0x10000u);
  EXPECT_EQ(r.mmap_live, 0x10000u - 0x4000u - 0x1000u + 0x1000u);
  EXPECT_EQ(r.stacks[1].mmap_bytes, 0xb000u);
}

TEST(Replay, TimeOfThePeakIsInterpolatedBetweenSamples) {
  TraceBuilder b;
  b.sample(1, 0, 100).alloc(2, 1, 0x10, 5).alloc(3, 1, 0x20, 5).sample(5, 4000, 200).exit(6, 5000);
  ReplayResult r = replayOf(b, "time");
  EXPECT_EQ(r.heap_peak_seq, 3u);
  EXPECT_EQ(r.heap_peak_time_ns, 2000u);
  EXPECT_EQ(r.rss_peak, 200u);
  EXPECT_EQ(r.end.state, EndState::ExitCalled);
}

// Each timeline point keeps the heap at that moment and the highest it was since the point before:
// blocks made and freed between two samples are resident all the same (the RSS rule's envelope).
TEST(Replay, EachTimelinePointKeepsTheHeapsHighestSinceTheOneBefore) {
  TraceBuilder b;
  b.sample(1, 0, 100).alloc(2, 1, 0x10, 5000).alloc(3, 1, 0x2000, 300).free(4, 0x10).sample(5, 1000, 200);
  b.free(6, 0x2000).sample(7, 2000, 200).alloc(8, 1, 0x10, 40).sample(9, 3000, 200).exit(10, 4000);
  ReplayResult r = replayOf(b, "high");
  ASSERT_EQ(r.timeline.size(), 4u);
  EXPECT_EQ(r.timeline[0].heap, 0u);
  EXPECT_EQ(r.timeline[0].heap_high, 0u);
  EXPECT_EQ(r.timeline[1].heap, 300u);
  EXPECT_EQ(r.timeline[1].heap_high, 5300u);  // both blocks, between the two samples
  EXPECT_EQ(r.timeline[2].heap, 0u);
  EXPECT_EQ(r.timeline[2].heap_high, 300u);  // what was live at the point before
  EXPECT_EQ(r.timeline[3].heap, 40u);
  EXPECT_EQ(r.timeline[3].heap_high, 40u);
}

// In aggregate mode the tracker did the replay: every counter it kept must land in its own field.
TEST(Replay, AggregateModeTakesEveryCounterByName) {
  TraceBuilder b;
  b.processInfo(1, 42, "/bin/agg", std::string("agg\0--x", 7)).stackDef(2, 1, {0x401000}).stackDef(3, 2, {0x402000});
  b.sample(4, 1'000'000, 8192).exit(5, 2'000'000);
  std::vector<format::StackCounters> counters(3, format::StackCounters{});
  counters[1] = {.live_bytes = 11, .live_blocks = 12, .peak_bytes = 13, .peak_blocks = 14, .touched_epoch = 5,
                 .alloc_count = 16, .alloc_bytes = 17, .mmap_bytes = 18};
  counters[2] = {.live_bytes = 21, .live_blocks = 22, .peak_bytes = 23, .peak_blocks = 24, .touched_epoch = 4,
                 .alloc_count = 26, .alloc_bytes = 27, .mmap_bytes = 28};
  b.aggregate({.heap_live = 32, .heap_peak = 100, .peak_epoch = 5, .peak_seq = 3, .allocations = 42, .frees = 9,
               .reallocs = 3, .allocated_bytes = 44, .unknown_frees = 2, .mmap_live = 46, .mmap_peak = 47,
               .max_stack_id = 2},
              counters);
  ReplayResult r = replayOf(b, "aggregate");
  ASSERT_TRUE(r.aggregated);
  ASSERT_EQ(r.timeline.size(), 1u);
  EXPECT_EQ(r.timeline[0].heap_high, 100u);  // its samples cannot see between them: the peak
  ASSERT_EQ(r.stacks.size(), 2u);  // stack 0's counters are zeros: no figures
  EXPECT_EQ(r.stacks.find(0), nullptr);
  for (StackId id : {1u, 2u}) {
    const StackStats& s = r.stacks[id];
    const format::StackCounters& c = counters[id];
    EXPECT_EQ(s.live_bytes, c.live_bytes);
    EXPECT_EQ(s.live_blocks, c.live_blocks);
    EXPECT_EQ(s.peak_bytes, c.peak_bytes);
    EXPECT_EQ(s.peak_blocks, c.peak_blocks);
    EXPECT_EQ(s.touched_epoch, c.touched_epoch);
    EXPECT_EQ(s.alloc_count, c.alloc_count);
    EXPECT_EQ(s.alloc_bytes, c.alloc_bytes);
    EXPECT_EQ(s.mmap_bytes, c.mmap_bytes);  // the defect: it landed in temporary_count
    EXPECT_EQ(s.temporary_count, 0u);       // aggregate mode does not know temporaries
    EXPECT_EQ(s.temporary_bytes, 0u);
  }
  // Touched in the final peak epoch (5): its peak values; touched before: its live values.
  EXPECT_EQ(r.peakBytes(1), 13u);
  EXPECT_EQ(r.peakBlocks(1), 14u);
  EXPECT_EQ(r.peakBytes(2), 21u);
  EXPECT_EQ(r.peakBlocks(2), 22u);
  EXPECT_EQ(r.heap_live, 32u);  // the sum of the stacks
  EXPECT_EQ(r.live_blocks, 34u);
  EXPECT_EQ(r.heap_peak, 100u);
  EXPECT_EQ(r.heap_peak_seq, 3u);
  EXPECT_EQ(r.peak_epoch, 5u);
  EXPECT_EQ(r.allocations, 42u);
  EXPECT_EQ(r.frees, 9u);
  EXPECT_EQ(r.reallocs, 3u);
  EXPECT_EQ(r.allocated_bytes, 44u);
  EXPECT_EQ(r.anomalies.unknown_frees, 2u);
  EXPECT_EQ(r.mmap_live, 46u);
  EXPECT_EQ(r.mmap_peak, 47u);
  EXPECT_EQ(r.pid, 42u);
  EXPECT_EQ(r.exe, "/bin/agg");
  EXPECT_EQ(r.argv, (std::vector<std::string>{"agg", "--x"}));
  EXPECT_EQ(r.rss_peak, 8192u);
  EXPECT_EQ(r.end.state, EndState::ExitCalled);
  EXPECT_FALSE(r.has_series);
}

}  // namespace

namespace {

// A scan at time_ns holding one object of type `type_id` at `address` (no blocks).
void pythonScan(TraceBuilder& b, uint64_t& seq, uint64_t time_ns, uint64_t address, uint64_t type_id) {
  namespace f = tidemark::format;
  b.record(seq++, f::ScanBegin{.time_ns = time_ns, .block_count = 0, .reason = 2});
  b.record(seq++, f::PythonGraph{.object_count = 1, .problem = {}});
  b.record(seq++, f::PythonType{.type_id = type_id, .address = 0x9000, .name = "Order"});
  b.record(seq++, f::PythonObjects{.first_index = 0, .count = 1},
           std::vector<f::PythonObject>{{.address = address, .type_id = type_id, .refcount = 1, .flags = 0}});
  b.record(seq++, f::ScanEnd{.time_ns = time_ns + 1, .words = 0, .root_bytes = 0, .duration_ns = 1});
}

}  // namespace

TEST(Replay, TheFirstScanWithAnObjectGraphIsKeptBesideTheLast) {
  TraceBuilder b;
  uint64_t seq = 1;
  pythonScan(b, seq, 100, 0x5000, 1);
  pythonScan(b, seq, 200, 0x6000, 1);
  pythonScan(b, seq, 300, 0x7000, 1);
  ReplayResult r = replayOf(b, "scans");
  ASSERT_TRUE(r.first_python_scan.python.present);
  EXPECT_EQ(r.first_python_scan.time_ns, 100u);
  EXPECT_EQ(r.first_python_scan.python.addr, std::vector<uint64_t>{0x5000});
  EXPECT_EQ(r.scan.time_ns, 300u);
  EXPECT_EQ(r.scan.python.addr, std::vector<uint64_t>{0x7000});
}

TEST(Replay, APythonTypeIdPastTheFormatsBoundIsCorrupt) {
  TraceBuilder b;
  uint64_t seq = 1;
  pythonScan(b, seq, 100, 0x5000, tidemark::format::kMaxPythonTypeId);
  EXPECT_THROW(
      {
        try {
          replayOf(b, "typeid");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("corrupt trace: a Python type id of 1048576"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
}
