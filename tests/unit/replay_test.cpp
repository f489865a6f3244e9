// Replay on hand-made traces: exact peak attribution, cross-stream ordering, realloc, mmap.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "replay.h"
#include "trace_builder.h"

using namespace tidemark;
using tmtest::TraceBuilder;

namespace {

std::string tempTrace(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("tm-unit-") + std::to_string(getpid()) + "-" + name)).string();
}

ReplayResult replayOf(const TraceBuilder& b, const char* name) {
  std::string path = tempTrace(name);
  b.write(path);
  TraceReader reader(path);
  ReplayResult r = replay(reader);
  std::filesystem::remove(path);
  return r;
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
  EXPECT_EQ(r.unknown_frees, 0u);
  EXPECT_EQ(r.overwritten_allocs, 0u);
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

}  // namespace
