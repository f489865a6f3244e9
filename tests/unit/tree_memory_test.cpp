// A tree's PSS adds up readings of one moment: what a reading says of a shared page holds only
// while the same processes map it.
#include <gtest/gtest.h>

#include "process_tree.h"

using namespace tidemark;

namespace {

constexpr uint64_t kMs = 1'000'000, kMiB = 1 << 20;

// A worker sampled every 10 ms from `start` to `end`; it reads PSS at `reads` (ms), saying `pss`.
RunProcess worker(uint64_t start, uint64_t end, uint64_t anon, std::vector<std::pair<uint64_t, uint64_t>> reads) {
  RunProcess p;
  p.pss_on_grid = true;
  for (uint64_t t = start; t <= end; t += 10) p.memory.push_back({t * kMs, anon + 64 * kMiB, anon});
  for (auto [t, pss] : reads) p.pss_readings.push_back({t * kMs, pss, anon});
  return p;
}

// Two workers share a 64 MiB file and hold 16 MiB each. They read PSS on the run's grid of the
// wall clock (a few ms late), B every 100 ms, A, larger and slower to read, every 200 ms. A reads
// the file through at 150 ms, alone: its reading at 200 ms says all 64 MiB are its share. B reads
// it at 250 ms: its reading at 300 ms says 32 MiB, while A's latest still says 64 until 400 ms.
// Each reading is true of its own moment; added up from 300 ms to 400 ms they would count the file
// one and a half times (80 + 48 MiB), as CI once saw. Taken at one moment, the tree holds it once.
TEST(TreeMemory, ReadingsOfDifferentMomentsAreNotAddedUp) {
  RunTree tree;
  tree.processes.push_back(worker(0, 450, 16 * kMiB, {{0, 16 * kMiB}, {200, 80 * kMiB}, {401, 48 * kMiB}}));
  tree.processes.push_back(
      worker(0, 450, 16 * kMiB, {{2, 16 * kMiB}, {101, 16 * kMiB}, {203, 16 * kMiB}, {301, 48 * kMiB}, {402, 48 * kMiB}}));
  TreeMoment peak = peakOf(tree, {0, 1});
  EXPECT_EQ(peak.pss, (64 + 2 * 16) * kMiB);
  ASSERT_EQ(peak.pss_by_process.size(), 2u);
}

// Seen on CI, two samplers starved by a busy machine: worker C's first reading came at 0 ms, when
// it had read 56 MiB of the file alone; D's first came 6 ms later, when D had read 11 MiB of it
// (and C's share had shrunk: 67 MiB of a 64 MiB file), and C read next at 110 ms, late for the grid
// point of 100 ms. Until 100 ms, the tree is C's reading of 0 ms and what D gained since it started
// (nothing anonymous); from 100 ms, D's reading then and the lesser of C's around it.
TEST(TreeMemory, AProcessThatDidNotReadAtTheGridPointCountsTheLeastOfItsReadingsAround) {
  RunTree tree;
  tree.processes.push_back(worker(0, 200, 16 * kMiB, {{0, 72 * kMiB}, {110, 48 * kMiB}}));
  tree.processes.push_back(worker(2, 200, 16 * kMiB, {{6, 27 * kMiB}, {100, 48 * kMiB}, {200, 48 * kMiB}}));
  TreeMoment peak = peakOf(tree, {0, 1});
  EXPECT_EQ(peak.pss, (64 + 2 * 16) * kMiB);
  EXPECT_EQ(peak.time_ns, 100 * kMs);
  tree.processes[1].memory.front().anon = 0;  // D gained 16 MiB after it started: its own
  EXPECT_EQ(peakOf(tree, {0, 1}).pss, (64 + 2 * 16) * kMiB);
}

// Forked workers share their parent's pages: each one's reading splits them among the processes
// that map them then. A worker forked after the grid point counts only what it gained since.
TEST(TreeMemory, AWorkerForkedAfterTheGridPointCountsWhatItGainedSince) {
  RunTree tree;
  // The parent holds 96 MiB; at 0 ms one worker shares all of it (48 each).
  RunProcess parent = worker(0, 300, 96 * kMiB, {{0, 48 * kMiB}, {100, 32 * kMiB}, {200, 32 * kMiB}});
  RunProcess first = worker(0, 300, 96 * kMiB, {{1, 48 * kMiB}, {100, 32 * kMiB}, {200, 32 * kMiB}});
  // A second worker forks at 50 ms (now 32 each) and fills 8 MiB of its own by 60 ms.
  RunProcess second = worker(50, 300, 96 * kMiB, {{52, 32 * kMiB}, {100, 40 * kMiB}, {200, 40 * kMiB}});
  for (RunProcess::Point& p : second.memory)
    if (p.time_ns >= 60 * kMs) p.anon += 8 * kMiB, p.rss += 8 * kMiB;
  for (RunProcess::PssReading& r : second.pss_readings)
    if (r.time_ns >= 60 * kMs) r.anon += 8 * kMiB;
  for (RunProcess* p : {&parent, &first, &second})
    for (RunProcess::Point& point : p->memory) point.rss -= 64 * kMiB;  // no file pages here
  tree.processes = {parent, first, second};
  TreeMoment peak = peakOf(tree, {0, 1, 2});
  EXPECT_EQ(peak.pss, (96 + 8) * kMiB);  // never 48 + 48 + 32 + 8
}

// Between readings, anonymous pages a process gains are its own and count at once.
TEST(TreeMemory, AnonymousPagesCountBetweenReadings) {
  RunTree tree;
  tree.processes.push_back(worker(0, 250, 16 * kMiB, {{0, 48 * kMiB}, {100, 48 * kMiB}, {200, 48 * kMiB}}));
  tree.processes.push_back(worker(0, 250, 16 * kMiB, {{0, 48 * kMiB}, {100, 48 * kMiB}, {200, 48 * kMiB}}));
  for (RunProcess::Point& p : tree.processes[1].memory)
    if (p.time_ns >= 150 * kMs && p.time_ns < 200 * kMs) p.anon += 8 * kMiB, p.rss += 8 * kMiB;
  TreeMoment peak = peakOf(tree, {0, 1});
  EXPECT_EQ(peak.pss, (64 + 2 * 16 + 8) * kMiB);
  EXPECT_GE(peak.time_ns, 150 * kMs);
  EXPECT_LT(peak.time_ns, 200 * kMs);
}

// A process that never read PSS counts its whole RSS; one that has ended counts nothing.
TEST(TreeMemory, UnreadAndEndedProcesses) {
  RunTree tree;
  tree.processes.push_back(worker(0, 100, 16 * kMiB, {}));
  tree.processes.push_back(worker(0, 300, 8 * kMiB, {{0, 8 * kMiB}, {100, 8 * kMiB}, {200, 8 * kMiB}}));
  TreeMoment peak = peakOf(tree, {0, 1});
  EXPECT_EQ(peak.pss, (16 + 64 + 8) * kMiB);
  std::vector<size_t> last = {1};
  EXPECT_EQ(peakOf(tree, last).pss, 8 * kMiB);
}

}  // namespace

namespace {

// A trace written before readings fell on the grid (format 10 without kFlagPssOnGrid): each
// process counts its own latest reading, as such traces always read.
TEST(TreeMemory, TracesFromBeforeTheGridCountTheirLatestReading) {
  RunTree tree;
  tree.processes.push_back(worker(0, 300, 16 * kMiB, {{0, 16 * kMiB}, {130, 80 * kMiB}, {230, 48 * kMiB}}));
  tree.processes.push_back(worker(0, 300, 16 * kMiB, {{7, 16 * kMiB}, {180, 48 * kMiB}, {280, 48 * kMiB}}));
  for (RunProcess& p : tree.processes) p.pss_on_grid = false;
  TreeMoment peak = peakOf(tree, {0, 1});
  EXPECT_EQ(peak.pss, (80 + 48) * kMiB);  // 180 ms to 230 ms: the overcount the grid removes
  EXPECT_EQ(peak.time_ns, 180 * kMs);
}

}  // namespace
