// Programs whose allocations are known, run under `tidemark run`: the summary must match to the byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness.h"

using namespace tmtest;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// Every test runs with the full event log and with the aggregated trace: both must be exact.
class Summary : public ::testing::TestWithParam<std::string> {};

TEST_P(Summary, KnownPeakIsExactAndAttributedToSites) {
  std::string trace = tempDir() + "/peak";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-known_peak")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("run written to " + trace), std::string::npos) << r.err;
  auto s = summary(trace);
  const auto& peak = s["top_at_peak"];
  // The program does not use libstdc++, and the tracker must not load it either: exactly 20 MiB.
  EXPECT_EQ(s["peak_heap"]["bytes"], 20 * kMiB);
  const auto* a = group(peak, "allocateInSiteA");
  const auto* b = group(peak, "allocateInSiteB");
  ASSERT_TRUE(a && b) << peak.dump(1);
  EXPECT_EQ((*a)["peak_bytes"], 10 * kMiB);
  EXPECT_EQ((*a)["peak_blocks"], 10);
  EXPECT_EQ((*b)["peak_bytes"], 10 * kMiB);
  EXPECT_EQ((*b)["peak_blocks"], 5);
  EXPECT_EQ((*a)["frames"][0]["file"], "tests/programs/known_peak.cpp");
  EXPECT_EQ((*a)["frames"][0]["line"], 11);
  EXPECT_EQ((*a)["frames"][1]["function"], "main");
  EXPECT_EQ(group(peak, "allocateInSiteC"), nullptr);  // C came after the peak

  // Leaks: C's 3 MiB and B's last 2 MiB block; glibc's stdout buffer (4,096 bytes, made by printf
  // in main) is the C library's and counted apart.
  const auto& leaks = s["leaks"]["stacks"];
  const auto* c = group(leaks, "allocateInSiteC");
  const auto* b_left = group(leaks, "allocateInSiteB");
  ASSERT_TRUE(c && b_left) << leaks.dump(1);
  EXPECT_EQ((*c)["live_bytes"], 3 * kMiB);
  EXPECT_EQ((*c)["live_blocks"], 1);
  EXPECT_EQ((*b_left)["live_bytes"], 2 * kMiB);
  EXPECT_EQ(s["leaks"]["bytes"], 5 * kMiB);
  EXPECT_EQ(s["leaks"]["blocks"], 2);
  EXPECT_EQ(s["leaks"]["runtime_bytes"], 4096);
  EXPECT_EQ(s["end"]["state"], "exited");
  EXPECT_EQ(s["end"]["code"], 0);

  // The text summary says the same in human units, with function names and file:line.
  Result text = run({tidemark(), "summary", trace});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("peak heap 20.0 MiB (20,971,520 bytes)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("allocateInSiteA (tests/programs/known_peak.cpp:11)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Leaked at exit: 5.00 MiB (5,242,880 bytes) in 2 blocks"), std::string::npos) << text.out;
}

TEST_P(Summary, EightThreadsWithCrossThreadFreesAreExact) {
  std::string trace = tempDir() + "/threads.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-threads")});
  ASSERT_EQ(r.code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("allocations=(\\d+) live_bytes=(\\d+) live_blocks=(\\d+)"))) << r.out;
  uint64_t allocations = std::stoull(m[1]), live_bytes = std::stoull(m[2]), live_blocks = std::stoull(m[3]);
  auto s = summary(trace);
  const auto* site = group(s["sites"], "workerAllocate");
  ASSERT_TRUE(site) << s["sites"].dump(1);
  EXPECT_EQ((*site)["allocations"], allocations);
  EXPECT_EQ((*site)["live_bytes"], live_bytes);
  EXPECT_EQ((*site)["live_blocks"], live_blocks);
  // Every free matched an allocation and no address was handed out twice: the merge is exact.
  EXPECT_EQ(s["anomalies"]["unknown_frees"], 0);
  EXPECT_EQ(s["anomalies"]["overwritten_allocations"], 0);
  EXPECT_EQ(s["final_heap_bytes"], s["leaks"]["bytes"].get<uint64_t>() + s["leaks"]["runtime_bytes"].get<uint64_t>());
}

// Each of the eight worker threads allocates 200,000 blocks of 16 + (id * 7919 + i * 31) % 500
// bytes and keeps its last 1,000: whatever its id, 53,100,000 bytes allocated and 265,500 kept
// (31 is prime to 500: every 500 blocks take each size once). Half of the freed blocks are freed
// by another thread; they count for the thread that allocated them.
TEST(Threads, EachWorkerThreadHoldsExactlyWhatItAllocated) {
  std::string dir = tempDir(), trace = dir + "/threads.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-threads")});
  ASSERT_EQ(r.code, 0) << r.err;
  uint64_t allocated = 0, kept = 0;
  for (int i = 0; i < 200000; ++i) {
    uint64_t size = 16 + static_cast<uint64_t>((3 * 7919 + i * 31) % 500);
    allocated += size;
    if (i >= 199000) kept += size;
  }
  ASSERT_EQ(allocated, 53'100'000u);
  ASSERT_EQ(kept, 265'500u);
  // The flamegraphs and the report below read the replay kept beside the trace by this first
  // command (TIDEMARK_CHECKPOINT=1: whatever the trace's size): one replay, not eighteen.
  ASSERT_EQ(run({tidemark(), "summary", "--json", trace}, {"TIDEMARK_CHECKPOINT=1"}).code, 0);
  ASSERT_TRUE(std::filesystem::exists(onlyTrace(trace) + ".tmcheckpoint"));
  auto s = summary(trace);
  const auto& threads = s["threads"];
  ASSERT_EQ(threads.size(), 9u) << threads.dump(1);  // the workers and main
  uint64_t sum_allocated = 0, sum_allocations = 0, sum_live = 0, sum_peak = 0, mains = 0;
  for (const auto& t : threads) {
    sum_allocated += t["allocated_bytes"].get<uint64_t>();
    sum_allocations += t["allocations"].get<uint64_t>();
    sum_live += t["live_bytes"].get<uint64_t>();
    sum_peak += t["peak_bytes"].get<uint64_t>();
    mains += t["main"].get<bool>();
  }
  // The threads' shares add up to the process's figures.
  EXPECT_EQ(mains, 1u);
  EXPECT_EQ(sum_allocated, s["allocated_bytes"].get<uint64_t>());
  EXPECT_EQ(sum_allocations, s["allocations"].get<uint64_t>());
  EXPECT_EQ(sum_live, s["final_heap_bytes"].get<uint64_t>());
  EXPECT_EQ(sum_peak, s["peak_heap"]["bytes"].get<uint64_t>());
  for (const auto& t : threads) {
    if (t["main"].get<bool>()) continue;
    std::string tid = std::to_string(t["tid"].get<uint64_t>());
    for (auto [metric, bytes] : {std::pair{"allocated", allocated}, std::pair{"leaked", kept}}) {
      Result f = run({tidemark(), "flamegraph", trace, "--thread", tid, "--metric", metric, "--format", "folded"});
      ASSERT_EQ(f.code, 0) << f.err;
      EXPECT_NE(f.out.find(fmt::format(";workerThread;workerAllocate {}\n", bytes)), std::string::npos) << tid << " " << metric << "\n" << f.out;
    }
  }
  // The report: a choice of thread over the flamegraphs, every thread's first, then the eight that
  // allocated most, each drawn from that thread's figures.
  Result rep = run({tidemark(), "report", trace, "-o", dir + "/report.html"});
  ASSERT_EQ(rep.code, 0) << rep.err;
  std::string html = readFile(dir + "/report.html");
  EXPECT_NE(html.find("<select id=\"flame-thread\">"), std::string::npos);
  std::vector<nlohmann::json> sets = reportFlameData(html, "flame-allocated");
  ASSERT_EQ(sets.size(), 9u);
  EXPECT_EQ(sets[0]["total"], s["allocated_bytes"]);
  for (size_t i = 1; i < sets.size(); ++i) EXPECT_EQ(sets[i]["total"], threads[i - 1]["allocated_bytes"]) << i;
  EXPECT_EQ(reportFlameData(html, "flame-leaked")[1]["total"], threads[0]["live_bytes"]);
  // The diagnosis counts every leaked block, not only those of the stacks it lists (--top 1 lists one).
  Result top1 = run({tidemark(), "summary", "--json", "--top", "1", trace});
  ASSERT_EQ(top1.code, 0) << top1.err;
  auto one = nlohmann::json::parse(top1.out);
  std::string blocks = std::to_string(one["leaks"]["blocks"].get<uint64_t>());
  for (int at = static_cast<int>(blocks.size()) - 3; at > 0; at -= 3) blocks.insert(static_cast<size_t>(at), ",");
  bool said = false;
  for (const auto& line : one["diagnosis"])
    if (line["kind"] == "leak")
      said = line["detail"].get<std::string>().find(" in " + blocks + " blocks never freed") != std::string::npos &&
             line["detail"].get<std::string>().find("heap scan") == std::string::npos;  // no scan in this run
  EXPECT_TRUE(said) << one["diagnosis"].dump(1) << "\nleaked blocks: " << blocks;
  // A thread that is not there, or a name several threads have: one line, exit code 2.
  for (const char* bad : {"nosuch", "tm-test-threads"}) {
    Result f = run({tidemark(), "flamegraph", trace, "--thread", bad, "--format", "folded"});
    EXPECT_EQ(f.code, 2) << bad;
    EXPECT_EQ(std::count(f.err.begin(), f.err.end(), '\n'), 1) << f.err;
    EXPECT_TRUE(f.out.empty());
  }
}

TEST_P(Summary, ForkedChildWritesItsOwnTrace) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/fork";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", run_dir, "--", program("tm-test-fork_child")});
  ASSERT_EQ(r.code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("child (\\d+)"))) << r.out;
  std::string child_trace = run_dir + "/" + m[1].str() + ".tmtrace";
  ASSERT_EQ(tracesIn(run_dir).size(), 2u);
  std::string trace = tracesIn(run_dir)[0] == child_trace ? tracesIn(run_dir)[1] : tracesIn(run_dir)[0];
  auto parent = summary(trace);
  auto child = summary(child_trace);
  EXPECT_EQ(total(parent["leaks"]["stacks"], "leakInParent", "live_bytes"), 4000u) << parent.dump(1);
  EXPECT_EQ(group(parent["leaks"]["stacks"], "leakInChild"), nullptr);
  const auto* child_leak = group(child["leaks"]["stacks"], "leakInChild");
  ASSERT_TRUE(child_leak) << child.dump(1);
  EXPECT_EQ((*child_leak)["live_bytes"], 2000);
  EXPECT_EQ(group(child["leaks"]["stacks"], "leakInParent"), nullptr);
  EXPECT_EQ(child["ppid"], parent["pid"]);
  // `lines` reads one process of a run: where that one never ran the code asked for, it says
  // which process it read and how to read another.
  const std::string parent_pid = std::to_string(parent["pid"].get<uint64_t>());
  Result lines = run({tidemark(), "lines", run_dir, "leakInChild", "--process", parent_pid});
  EXPECT_EQ(lines.code, 2);
  EXPECT_EQ(lines.err, "tidemark: lines: no allocation was made from a function named leakInChild (native code is found by its debug "
                       "information) in "
                       "tm-test-fork_child (pid " + parent_pid + "), the one chosen of the run's 2 processes: read another "
                       "with --process PID\n");
}

// Forks while other threads hold the tracker's locks, and libunwind's while they unwind new stacks
// (fork_gate.h): every child must run to its end (a lock copied held into a child hangs it; the
// test's timeout would catch that; before the gate, a loop of aggregate-mode runs hung at its third)
// and trace its own stacks.
// The 101 traces are read as written (--no-pack): packing them under the sanitizers took the test
// to 125 s in CI (80-90 s before packing), and packed traces are read by every other test.
TEST_P(Summary, ForksWhileThreadsAllocateNeverHang) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/forks";
  Result r = run({tidemark(), "run", "--no-pack", "--mode", GetParam(), "-o", run_dir, "--", program("tm-test-fork_child"),
                  "stress"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("forks 100 failures 0"), std::string::npos) << r.out;
  EXPECT_EQ(tracesIn(run_dir).size(), 101u);  // the parent and its 100 children
  EXPECT_NE(r.err.find("101 processes"), std::string::npos) << r.err;
  auto s = summary(run_dir);
  ASSERT_EQ(s["run"]["processes"].size(), 101u);
  size_t reaped = 0;
  for (const auto& p : s["run"]["processes"]) {
    EXPECT_EQ(p["death"], "none") << p.dump();
    reaped += p["end"]["state"] == "exited" && p["parent"] == 0;
    EXPECT_EQ(p["anomalies"]["unknown_frees"], 0) << p.dump();  // each traced its own blocks
  }
  EXPECT_EQ(reaped, 100u);  // every child, as its parent saw it end
}

// glibc does not free in a forked child the lock a walk of the loaded modules holds: a child forked
// while another thread walks hangs in its first walk, and under the tracker every child walks at
// once (its module map; its new stacks). Here a thread holds that lock 20 ms at a time, nearly
// always: each fork waits for the walk to end, and each child runs and traces its own 40 stacks.
// (Forks while threads unwind, libunwind's own lock: ForksWhileThreadsAllocateNeverHang.)
TEST_P(Summary, AForkWaitsForAWalkOfTheLoadedModules) {
  std::string run_dir = tempDir() + "/walks";
  Result r = run({tidemark(), "run", "--no-pack", "--mode", GetParam(), "-o", run_dir, "--", program("tm-test-fork_child"),
                  "walking", "20", "10"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("forks 10 failures 0"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("stopped early"), std::string::npos) << r.err;
  auto run_summary = summary(run_dir);
  ASSERT_EQ(run_summary["run"]["processes"].size(), 11u);
  size_t children = 0;
  for (const auto& p : run_summary["run"]["processes"]) {
    EXPECT_FALSE(p["stopped_early"].get<bool>()) << p.dump();
    if (p["parent"].is_null()) continue;
    ++children;
    auto child = summary(p["trace"].get<std::string>());
    EXPECT_TRUE(child["incomplete"].is_null()) << child["incomplete"];
    EXPECT_EQ(child["allocations"], 40) << p.dump();  // one at each depth
    EXPECT_EQ(child["frees"], 40);
  }
  EXPECT_EQ(children, 10u);
}

TEST_P(Summary, DlopenChurnIsSymbolizedAfterUnload) {
  std::string trace = tempDir() + "/dl.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-dlopen_churn"), program("libtm-test-plugin.so")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  const auto* site = group(s["leaks"]["stacks"], "pluginAllocate");
  ASSERT_TRUE(site) << s["leaks"].dump(1);
  EXPECT_EQ((*site)["live_bytes"], 5000);  // the kept blocks: one call site in main
  EXPECT_EQ((*site)["live_blocks"], 50);
  EXPECT_EQ((*site)["frames"][0]["file"], "tests/programs/plugin.cpp");
  EXPECT_EQ(total(s["sites"], "pluginAllocate", "allocations"), 100u);
  EXPECT_EQ(total(s["leaks"]["stacks"], "pluginAllocate", "live_bytes"), 5000u);
}

TEST_P(Summary, ReallocAndAlignedEdgeCases) {
  std::string trace = tempDir() + "/edge.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-edge_cases")});
  ASSERT_EQ(r.code, 0) << r.out << r.err;  // the program checks errno, alignment and contents itself
  auto s = summary(trace);
  // main keeps 7 blocks through keepBlock: what is live from main's allocation sites.
  uint64_t bytes = 0, blocks = 0;
  for (const auto& g : s["leaks"]["stacks"]) {
    for (const auto& f : g["frames"]) {
      if (f["function"] == "main") {
        bytes += g["live_bytes"].get<uint64_t>();
        blocks += g["live_blocks"].get<uint64_t>();
        break;
      }
    }
  }
  EXPECT_EQ(bytes, 100 + 64 + 4096 + 128 + 8192 + 256 + 4096);
  EXPECT_EQ(blocks, 7);
  EXPECT_EQ(s["anomalies"]["unknown_frees"], 0);
}

TEST_P(Summary, AllocationsBeforeMainAreTracked) {
  std::string trace = tempDir() + "/start.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-startup_alloc")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  // Held since start-up by static initialisers: for the life of the process, not leaked.
  const auto* global = group(s["leaks"]["held_for_life"], "AllocatesAtStartup::AllocatesAtStartup");
  const auto* ctor = group(s["leaks"]["held_for_life"], "constructorFunction");
  ASSERT_TRUE(global && ctor) << s["leaks"].dump(1);
  EXPECT_EQ((*global)["live_bytes"], 12345);
  EXPECT_EQ((*ctor)["live_bytes"], 777);
  EXPECT_EQ((*global)["holder"], "startup");
  EXPECT_EQ(s["leaks"]["startup_bytes"], 12345 + 777);
  EXPECT_EQ(s["leaks"]["startup_blocks"], 2);
  EXPECT_FALSE(group(s["leaks"]["stacks"], "constructorFunction"));
  EXPECT_EQ(s["leaks"]["bytes"], 0) << s["leaks"].dump(1);
}

// GCC's OpenMP runtime keeps its thread pool and team from the first parallel region for the next
// and never frees them: the runtime's, held for life, as libstdc++'s pool is. Only the program's
// own block is leaked (QuantLib's examples had libgomp's as their leak).
TEST_P(Summary, TheOpenMpRuntimesThreadPoolIsHeldForLifeNotLeaked) {
  std::string trace = tempDir() + "/omp.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-openmp_pool")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "749250.0\n");
  auto s = summary(trace);
  EXPECT_EQ(s["leaks"]["bytes"], 4321) << s["leaks"].dump(1);
  EXPECT_EQ(s["leaks"]["blocks"], 1);
  ASSERT_TRUE(group(s["leaks"]["stacks"], "leakFromTheProgram")) << s["leaks"].dump(1);
  uint64_t pool = 0;
  for (const auto& g : s["leaks"]["held_for_life"])
    for (const auto& f : g["frames"])
      if (f["function"] == "GOMP_parallel") {
        EXPECT_EQ(g["holder"], "runtime") << g.dump(1);
        pool += g["live_bytes"].get<uint64_t>();
        break;
      }
  EXPECT_GT(pool, 0u) << s["leaks"]["held_for_life"].dump(1);
}

TEST_P(Summary, AnonymousMappingsAreTheirOwnKind) {
  std::string trace = tempDir() + "/mmap.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-anon_mmap")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  EXPECT_EQ(s["mmap"]["final_bytes"], 176 * 1024);
  EXPECT_EQ(s["mmap"]["peak_bytes"], 240 * 1024);
}

TEST_P(Summary, ExecKeepsThePathForTheNewImage) {
  std::string dir = tempDir();
  std::string trace = dir + "/exec";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", "/bin/sh", "-c",
                  "exec " + program("tm-test-known_peak")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace, "known_peak");  // the program's, not the shell's
  const auto* a = group(s["top_at_peak"], "allocateInSiteA");
  ASSERT_TRUE(a) << s.dump(1);
  EXPECT_EQ((*a)["peak_bytes"], 10 * kMiB);
  EXPECT_EQ(s["end"]["state"], "exited");
  // The shell's trace, kept aside, is the program's parent in the tree.
  std::string pid = std::to_string(s["pid"].get<uint64_t>());
  EXPECT_TRUE(std::filesystem::exists(trace + "/" + pid + ".pre-exec.tmtrace"));
  ASSERT_EQ(s["run"]["processes"].size(), 2u);
  EXPECT_EQ(s["run"]["processes"][0]["end"]["state"], "exec");
  EXPECT_EQ(s["run"]["processes"][1]["exec_of_parent"], true);
  EXPECT_EQ(s["run"]["processes"][1]["parent"], 0);
}

// Bytes allocated by every site whose stack passes through `function` (at any depth).
uint64_t bytesThrough(const nlohmann::json& groups, const std::string& function) {
  uint64_t bytes = 0;
  for (const auto& g : groups) {
    for (const auto& f : g["frames"]) {
      std::string name = f["function"];
      if (name == function || name.ends_with("::" + function)) {
        bytes += g["allocated_bytes"].get<uint64_t>();
        break;
      }
    }
  }
  return bytes;
}

// The tracker's stack cache and its own unwinder against libunwind on stacks that defeat simple
// caching: one wrapper called from eight places at the same depth, compensating VLAs, recursion
// of random depth, frame-pointer code with alloca, exceptions, four threads.
TEST_P(Summary, HardStackShapesAreAttributedExactly) {
  std::string trace = tempDir() + "/shapes.tmtrace";
  Result r = run({tidemark(), "run", "--mode", GetParam(), "-o", trace, "--", program("tm-test-stack_shapes")},
                 {"TIDEMARK_VERIFY_STACKS=1"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex("stack cache: hits (\\d+), misses (\\d+), uncacheable (\\d+), verified (\\d+), mismatches (\\d+)")))
      << r.err;
  EXPECT_GT(std::stoull(m[1]), 100000u);  // the cache is used...
  EXPECT_EQ(std::stoull(m[5]), 0u);       // ...and never disagrees with a fresh libunwind unwind
  auto s = summary(trace);
  std::istringstream expected(r.out);
  std::string site;
  uint64_t bytes = 0;
  int sites = 0;
  while (expected >> site >> bytes) {
    EXPECT_EQ(bytesThrough(s["sites"], site), bytes) << site;
    ++sites;
  }
  EXPECT_EQ(sites, 14) << r.out;
}

const nlohmann::json* finding(const nlohmann::json& findings, const std::string& function) {
  for (const auto& f : findings["sites"])
    if (f["function"] == function) return &f;
  return nullptr;
}

// 200 simulated days with date markers: a leak of 64 KiB a day, a 40-entry LRU cache, results
// dropped every 25 days, a one-day 24 MiB spike. Each behaviour must get its verdict.
TEST(Findings, GrowthVerdictsOnKnownPatterns) {
  std::string trace = tempDir() + "/growth.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-growth_patterns")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  const auto& f = s["findings"];
  ASSERT_TRUE(f["available"].get<bool>()) << f.dump(1);
  EXPECT_EQ(f["simulated_days"], 200);

  const auto* leak = finding(f, "leakPerDay");
  ASSERT_TRUE(leak) << f.dump(1);
  EXPECT_EQ((*leak)["verdict"], "unbounded growth");
  EXPECT_NEAR((*leak)["rate_bytes_per_day"].get<double>(), 65536.0, 65536.0 * 0.05);

  const auto* cache = finding(f, "cacheInsert");
  ASSERT_TRUE(cache) << f.dump(1);
  EXPECT_EQ((*cache)["verdict"], "plateau");
  EXPECT_NEAR((*cache)["level_bytes"].get<double>(), 40 * 32768.0, 40 * 32768.0 * 0.05);
  EXPECT_NEAR((*cache)["level_reached_day"].get<double>(), 40, 5);

  const auto* chunks = finding(f, "chunkResults");
  ASSERT_TRUE(chunks) << f.dump(1);
  EXPECT_EQ((*chunks)["verdict"], "periodic");
  EXPECT_NEAR((*chunks)["period_days"].get<double>(), 25, 2);

  const auto* spike = finding(f, "spikeWorkspace");
  ASSERT_TRUE(spike) << f.dump(1);
  EXPECT_EQ((*spike)["verdict"], "transient");
  EXPECT_EQ((*spike)["peak_bytes"], 24u << 20);

  int unbounded = 0;
  for (const auto& site : f["sites"]) unbounded += site["verdict"] == "unbounded growth";
  EXPECT_EQ(unbounded, 1) << f.dump(1);

  // The diagnosis calls the cache bounded and not a leak, unless it is still held at exit: then
  // bounded, and counted with what leaked (12.5 MiB from leakPerDay, 1.25 MiB of cache).
  auto cacheLine = [](const nlohmann::json& summary) -> nlohmann::json {
    for (const auto& line : summary["diagnosis"])
      if (line["kind"] == "bounded-cache" && line["site"].get<std::string>().rfind("cacheInsert", 0) == 0) return line;
    return nullptr;
  };
  nlohmann::json freed = cacheLine(s);
  ASSERT_FALSE(freed.is_null()) << s["diagnosis"].dump(1);
  EXPECT_EQ(freed["headline"].get<std::string>().rfind("Bounded, not a leak: ", 0), 0u) << freed.dump();
  std::string kept_trace = tempDir() + "/kept.tmtrace";
  r = run({tidemark(), "run", "-o", kept_trace, "--", program("tm-test-growth_patterns"), "--keep-cache"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto kept = summary(kept_trace);
  EXPECT_EQ(kept["leaks"]["bytes"], 200u * 65536u + 40u * 32768u);
  nlohmann::json held = cacheLine(kept);
  ASSERT_FALSE(held.is_null()) << kept["diagnosis"].dump(1);
  EXPECT_EQ(held["headline"].get<std::string>().rfind("Bounded, and still held at exit: ", 0), 0u) << held.dump();
  EXPECT_NE(held["detail"].get<std::string>().find("; 1.25 MiB of it never freed"), std::string::npos) << held.dump();
}

// Aggregate mode's stack levels (at the timeline's samples and at the program's simulated dates)
// give every site of growth_patterns the verdict the full event log gives it.
TEST(Findings, AggregatedTraceGivesFullModesSiteVerdicts) {
  std::map<std::string, std::string> verdicts[2];
  const char* modes[2] = {"full", "aggregate"};
  for (int m = 0; m < 2; ++m) {
    std::string trace = tempDir() + "/growth.tmtrace";
    Result r = run({tidemark(), "run", "--mode", modes[m], "-o", trace, "--", program("tm-test-growth_patterns")});
    ASSERT_EQ(r.code, 0) << r.err;
    auto s = summary(trace);
    ASSERT_TRUE(s["findings"]["available"].get<bool>()) << modes[m];
    for (const auto& f : s["findings"]["sites"]) verdicts[m][f["function"]] = f["verdict"];
  }
  EXPECT_EQ(verdicts[1], verdicts[0]);
  std::set<std::string> kinds;
  for (const auto& [site, verdict] : verdicts[0]) kinds.insert(verdict);
  EXPECT_EQ(kinds, (std::set<std::string>{"unbounded growth", "plateau", "periodic", "transient"}));
}

// Without levels (no sampler thread, no simulated dates) an aggregate trace says why it has no site
// trends, and the gate will not judge growth it cannot see.
TEST(Findings, AggregatedTraceWithoutLevelsSaysWhyThereAreNoSiteTrends) {
  std::string trace = tempDir() + "/threads.tmtrace";
  Result r = run({tidemark(), "run", "--mode", "aggregate", "--interval-ms", "0", "-o", trace, "--", program("tm-test-threads")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  EXPECT_FALSE(s["findings"]["available"].get<bool>());
  EXPECT_NE(s["findings"]["unavailable_reason"].get<std::string>().find("TIDEMARK_INTERVAL_MS=0"), std::string::npos)
      << s["findings"];
  Result gate = run({tidemark(), "gate", trace, "--no-unbounded-growth"});
  EXPECT_EQ(gate.code, 2) << gate.out;
  EXPECT_NE(gate.err.find("no stack levels"), std::string::npos) << gate.err;
}

// N2 Order<->Fill cycles, N3 Node->Edge->Label cycles, M plain leaks, K reachable cycles.
TEST_P(Summary, HeapScanFindsExactlyTheLeakedCycles) {
  std::string trace = tempDir() + "/cycles.tmtrace";
  Result r = run({tidemark(), "run", "--scan", "--mode", GetParam(), "-o", trace, "--", program("tm-test-cycles"),
                  "1000", "500", "300", "200"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  const auto& h = s["heap_scan"];
  ASSERT_TRUE(h["available"].get<bool>()) << h.dump(1);
  EXPECT_EQ(h["leaked_cycles"]["count"], 1500);
  ASSERT_EQ(h["leaked_cycles"]["groups"].size(), 2u) << h.dump(1);
  const auto& pairs = h["leaked_cycles"]["groups"][0];
  EXPECT_EQ(pairs["cycles"], 1000);
  EXPECT_EQ(pairs["blocks"], 2000);
  ASSERT_EQ(pairs["sites"].size(), 2u);
  EXPECT_NE(pairs["sites"][0].get<std::string>().find("makeFill"), std::string::npos) << pairs.dump();
  EXPECT_NE(pairs["sites"][1].get<std::string>().find("makeOrder"), std::string::npos) << pairs.dump();
  const auto& triples = h["leaked_cycles"]["groups"][1];
  EXPECT_EQ(triples["cycles"], 500);
  EXPECT_EQ(triples["blocks"], 1500);
  EXPECT_EQ(triples["sites"].size(), 3u);
  // The plain leaks, by site; the cycles a global still holds are not leaks.
  EXPECT_EQ(h["plain_leaks"]["blocks"], 300);
  EXPECT_EQ(h["plain_leaks"]["bytes"], 300 * 40);
  ASSERT_EQ(h["plain_leaks"]["sites"].size(), 1u);
  EXPECT_NE(h["plain_leaks"]["sites"][0]["site"].get<std::string>().find("plainLeak"), std::string::npos);
  EXPECT_EQ(h["held_by_lost"]["blocks"], 0);
  EXPECT_EQ(h["reachable_cycles"], 200);
  // Every lost block is the program's: 2 × 1,000 + 3 × 500 + 300.
  EXPECT_EQ(h["program_lost"]["blocks"], 3800);
  EXPECT_EQ(h["program_lost"]["bytes"], h["valgrind"]["definitely_lost_bytes"].get<uint64_t>() +
                                            h["valgrind"]["indirectly_lost_bytes"].get<uint64_t>());
  // The leak's line says what the scan at exit found of it: lost here (a run without the scan, as
  // the threads test's, says nothing of the kind).
  bool said = false;
  for (const auto& line : s["diagnosis"])
    if (line["kind"] == "leak")
      said = line["detail"].get<std::string>().find("; the heap scan at exit found ") != std::string::npos &&
             line["detail"].get<std::string>().find(" in 3,800 blocks of the program's lost (nothing reachable points to them)") !=
                 std::string::npos;
  EXPECT_TRUE(said) << s["diagnosis"].dump(1);
}

// Only the K cycles a global still holds: 200 Orders (48 bytes with make_shared's count) and 200
// Fills (40), and the global vector's 200 shared_ptrs (3,200 bytes): 20,800 bytes in 401 blocks
// live at exit, none of it lost. Held to the end and freed by the exit: healthy, not a leak.
TEST_P(Summary, MemoryStillReachableAtExitIsHeldNotLeaked) {
  std::string trace = tempDir() + "/reachable.tmtrace";
  Result r = run({tidemark(), "run", "--scan", "--mode", GetParam(), "-o", trace, "--", program("tm-test-cycles"), "0", "0",
                  "0", "200"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  EXPECT_EQ(s["leaks"]["bytes"], 20800);
  EXPECT_EQ(s["leaks"]["blocks"], 401);
  EXPECT_EQ(s["heap_scan"]["valgrind"]["definitely_lost_bytes"], 0);
  EXPECT_EQ(s["heap_scan"]["valgrind"]["indirectly_lost_bytes"], 0);
  size_t held = 0;
  for (const auto& line : s["diagnosis"]) {
    EXPECT_FALSE(line["problem"].get<bool>()) << line.dump();
    EXPECT_NE(line["kind"], "leak") << line.dump();
    if (line["kind"] != "held-at-exit") continue;
    ++held;
    EXPECT_EQ(line["headline"], "Held until exit, all still reachable: makeOrder (tests/programs/cycles.cpp:48)");
    EXPECT_NE(line["detail"].get<std::string>().find("in 401 blocks never freed in all"), std::string::npos) << line.dump();
    EXPECT_NE(line["detail"].get<std::string>().find("the heap scan at exit found none of it lost"), std::string::npos) << line.dump();
  }
  EXPECT_EQ(held, 1u) << s["diagnosis"].dump(1);
  Result text = run({tidemark(), "summary", trace});
  EXPECT_NE(text.out.find("\nLive at exit, all still reachable (heap scan): 20.3 KiB (20,800 bytes) in 401 blocks\n"),
            std::string::npos)
      << text.out;
}

// The scan signal: a scan while the program runs, kept in the trace when the program is then killed.
TEST(HeapScan, ScanSignalLeavesAScanInAKilledRunsTrace) {
  std::string trace = tempDir() + "/cycles.tmtrace";
  Result r = run({tidemark(), "run", "--mode", "aggregate", "-o", trace, "--", program("tm-test-cycles"), "100", "50",
                  "30", "20", "signal"},
                 {"TIDEMARK_SCAN_SIGNAL=12"});
  EXPECT_EQ(r.code, 128 + 9) << r.err;  // tidemark run passes a death by SIGKILL on as 137
  auto s = summary(trace);
  const auto& h = s["heap_scan"];
  ASSERT_TRUE(h["available"].get<bool>()) << h.dump(1);
  EXPECT_EQ(h["reason"], "signal");
  // While the program runs its live registers and stack are roots, and the last object it touched
  // may still be in one: a cycle or two can look reachable (never the other way round).
  uint64_t leaked = h["leaked_cycles"]["count"], reachable = h["reachable_cycles"];
  EXPECT_EQ(leaked + reachable, 150u + 20u);
  EXPECT_GE(leaked, 147u);
  EXPECT_GE(h["plain_leaks"]["blocks"].get<uint64_t>(), 28u);
  EXPECT_LE(h["plain_leaks"]["blocks"].get<uint64_t>(), 30u);
}

// tidemark flamegraph on the known peak: folded stacks with the exact bytes of each site.
TEST(Flamegraph, KnownPeakFoldedAndSvg) {
  std::string dir = tempDir();
  std::string trace = dir + "/peak.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-known_peak")});
  ASSERT_EQ(r.code, 0) << r.err;
  Result folded = run({tidemark(), "flamegraph", trace, "--format", "folded"});
  ASSERT_EQ(folded.code, 0) << folded.err;
  EXPECT_NE(folded.out.find("main;allocateInSiteA 10485760\n"), std::string::npos) << folded.out;
  EXPECT_NE(folded.out.find("main;allocateInSiteB 10485760\n"), std::string::npos) << folded.out;
  EXPECT_EQ(folded.out.find("allocateInSiteC"), std::string::npos) << folded.out;  // after the peak
  Result leaked = run({tidemark(), "flamegraph", trace, "--metric", "leaked", "--format", "folded"});
  EXPECT_NE(leaked.out.find("main;allocateInSiteC 3145728\n"), std::string::npos) << leaked.out;
  Result svg = run({tidemark(), "flamegraph", trace, "-o", dir + "/peak.svg"});
  ASSERT_EQ(svg.code, 0) << svg.err;
  EXPECT_TRUE(std::filesystem::file_size(dir + "/peak.svg") > 1000);
  Result bad = run({tidemark(), "flamegraph", trace, "--metric", "nonsense"});
  EXPECT_EQ(bad.code, 2);
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// tidemark report: one self-contained file; the timeline with one hover band per simulated date;
// the findings; and a command line crafted to inject script comes out as text.
TEST(Report, SelfContainedEscapedAndComplete) {
  std::string dir = tempDir();
  std::string trace = dir + "/growth.tmtrace";
  std::string evil = "<script>alert(1)</script>&\"'";
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-growth_patterns"), evil});
  ASSERT_EQ(r.code, 0) << r.err;
  Result rep = run({tidemark(), "report", trace, "-o", dir + "/report.html"});
  ASSERT_EQ(rep.code, 0) << rep.err;
  std::ifstream in(dir + "/report.html");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string html = buffer.str();
  EXPECT_LT(html.size(), 5u << 20);
  // tidemark's own: the flamegraphs' and range's, the tabs' and line view's, the line view's data, the range's data,
  // and the data of the five flamegraphs: peak, leaked, allocated, temporary, callers
  EXPECT_EQ(occurrences(html, "<script"), 9u);
  EXPECT_EQ(occurrences(html, "<script type=\"application/json\" class=\"flame-data\">"), 5u);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org"));  // no link outside but XML namespaces
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);  // nothing loaded from anywhere
  EXPECT_EQ(occurrences(html, " href="), occurrences(html, " href=\"#"));  // links inside the page only
  EXPECT_EQ(occurrences(html, "class=\"series\""), 2u);  // RSS and heap
  EXPECT_EQ(occurrences(html, "class=\"date\""), 200u);  // one per simulated day
  EXPECT_NE(html.find("simulated day-120"), std::string::npos);
  EXPECT_NE(html.find("id=\"peak-mark\""), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_NE(html.find("<td>leakPerDay (tests/programs/growth_patterns.cpp:22)</td><td>unbounded growth</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>chunkResults (tests/programs/growth_patterns.cpp:34)</td><td>periodic</td>"), std::string::npos);
  // The growth findings are drawn on the timeline: one mark per unbounded, plateau and periodic
  // site of the findings table.
  for (const char* verdict : {"unbounded growth", "plateau", "periodic"})
    EXPECT_EQ(occurrences(html, std::string("class=\"finding\" data-verdict=\"") + verdict + "\""),
              occurrences(html, std::string("</td><td>") + verdict + "</td>"))
        << verdict;
  EXPECT_NE(html.find("<g class=\"finding\" data-verdict=\"unbounded growth\" data-site=\"leakPerDay "
                      "(tests/programs/growth_patterns.cpp:22)\"><title>leakPerDay (tests/programs/growth_patterns.cpp:22): "
                      "unbounded growth, +"),
            std::string::npos);
  EXPECT_NE(html.find("<g class=\"finding\" data-verdict=\"periodic\" data-site=\"chunkResults"), std::string::npos);
  // Each is named on the chart, and so are the peak.
  EXPECT_NE(html.find(">leakPerDay</text>"), std::string::npos);
  // The sites over time: each named with its line (one function can hold at several).
  EXPECT_NE(html.find("</span> leakPerDay (growth_patterns.cpp:22) &nbsp;"), std::string::npos);
  EXPECT_NE(html.find(">peak heap "), std::string::npos);
  // The diagnosis comes first: the first section of the page, naming the growing site.
  EXPECT_LT(html.find("<section id=\"diagnosis\">"), html.find("<h2"));
  EXPECT_NE(html.find("data-kind=\"unbounded-growth\" data-site=\"leakPerDay (tests/programs/growth_patterns.cpp:22)\""),
            std::string::npos);
  EXPECT_EQ(html.find("id=\"death\""), std::string::npos);  // it exited
}

// The same program under valgrind memcheck: the same definitely and indirectly lost totals.
// valgrind's own scan is conservative too: once in CI it found 599 of the 600 lost blocks (a stale
// word in its run's roots; tidemark's trace of that run said 600, as valgrind does every time here),
// so valgrind runs again, at most three times, until it agrees; every run's figures are printed.
TEST(HeapScan, AgreesWithValgrind) {
  Result which = run({"/bin/sh", "-c", "command -v valgrind"});
  if (which.code != 0) GTEST_SKIP() << "valgrind is not installed";
  std::string trace = tempDir() + "/cycles.tmtrace";
  Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", program("tm-test-cycles"), "300", "200", "100", "50"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  const nlohmann::json mine = s["heap_scan"]["valgrind"];
  std::string seen;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result vg = run({"valgrind", "--leak-check=full", program("tm-test-cycles"), "300", "200", "100", "50"});
    ASSERT_EQ(vg.code, 0) << vg.err;
    std::smatch m;
    auto figure = [&](const std::string& what) {
      std::regex re(what + ": ([0-9,]+) bytes in ([0-9,]+) blocks");
      EXPECT_TRUE(std::regex_search(vg.err, m, re)) << vg.err;
      auto number = [](std::string x) {
        std::erase(x, ',');
        return std::stoull(x);
      };
      return std::pair{number(m[1]), number(m[2])};
    };
    auto [definite_bytes, definite_blocks] = figure("definitely lost");
    auto [indirect_bytes, indirect_blocks] = figure("indirectly lost");
    const nlohmann::json theirs = {{"definitely_lost_blocks", definite_blocks},
                                   {"definitely_lost_bytes", definite_bytes},
                                   {"indirectly_lost_blocks", indirect_blocks},
                                   {"indirectly_lost_bytes", indirect_bytes}};
    if (theirs == mine) return;
    seen += theirs.dump() + "\n";
  }
  ADD_FAILURE() << "tidemark: " << mine.dump() << "\nvalgrind, three runs:\n" << seen;
}

INSTANTIATE_TEST_SUITE_P(Modes, Summary, ::testing::Values("full", "aggregate"));

}  // namespace

// `tidemark lines`: per source line, the bytes allocated from it (calls included), held at the
// peak and at the end, exact where the program knows them.
TEST(Lines, TheLinesOfAFunctionCarryTheirKnownBytes) {
  std::string trace = tempDir() + "/lines.tmtrace";
  ASSERT_EQ(run({tidemark(), "run", "-o", trace, "--", program("tm-test-known_peak")}).code, 0);
  EXPECT_TRUE(summary(trace)["python"].is_null());  // a C++ program
  std::string source_root = programSource("../..");
  Result r = run({tidemark(), "lines", trace, "main", "--json", "--source-dir", source_root});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["files"].size(), 1u) << r.out;
  const auto& file = j["files"][0];
  EXPECT_FALSE(file["source_path"].get<std::string>().empty());
  std::map<std::string, nlohmann::json> by_call;
  for (const auto& line : file["lines"])
    for (const char* call : {"allocateInSiteA(kMiB)", "allocateInSiteB(2 * kMiB)", "allocateInSiteC(3 * kMiB)"})
      if (line["source"].get<std::string>().find(call) != std::string::npos) by_call[call] = line;
  ASSERT_EQ(by_call.size(), 3u) << r.out;
  constexpr uint64_t kMiB = 1 << 20;
  const auto& a = by_call["allocateInSiteA(kMiB)"];
  EXPECT_EQ(a["allocated_bytes"], 10 * kMiB);
  EXPECT_EQ(a["allocations"], 10);
  EXPECT_EQ(a["peak_bytes"], 10 * kMiB);
  EXPECT_EQ(a["end_bytes"], 0);
  const auto& b = by_call["allocateInSiteB(2 * kMiB)"];
  EXPECT_EQ(b["allocated_bytes"], 10 * kMiB);
  EXPECT_EQ(b["peak_bytes"], 10 * kMiB);
  EXPECT_EQ(b["end_bytes"], 2 * kMiB);
  const auto& c = by_call["allocateInSiteC(3 * kMiB)"];
  EXPECT_EQ(c["allocated_bytes"], 3 * kMiB);
  EXPECT_EQ(c["peak_bytes"], 0);
  EXPECT_EQ(c["end_bytes"], 3 * kMiB);

  // The HTML report shows the same view of main when one of its frames is clicked.
  std::string html = trace + ".html";
  ASSERT_EQ(run({tidemark(), "report", trace, "-o", html, "--source-dir", source_root}).code, 0);
  const nlohmann::json views = reportLineData(readFile(html));
  ASSERT_TRUE(views.is_object()) << "no line-data in the report";
  const nlohmann::json* in_report = nullptr;
  for (const auto& view : views["files"])
    if (view["function"] == "main" && view["file"] == file["file"]) in_report = &view;
  ASSERT_NE(in_report, nullptr) << views.dump(1);
  for (const auto& line : (*in_report)["lines"])  // and shows them as the text output does
    if (line["source"].get<std::string>().find("allocateInSiteA(kMiB)") != std::string::npos) {
      EXPECT_EQ(line["shown"], nlohmann::json({"10.0 MiB", "10", "10.0 MiB", "."})) << line;
    }
  nlohmann::json figures = (*in_report)["lines"];
  for (auto& line : figures) line.erase("shown");  // what the page shows; the figures are what `lines` gives
  EXPECT_EQ(figures, file["lines"]);

  // A range of a file: the malloc inside allocateInSiteA, with its text.
  r = run({tidemark(), "lines", trace, "known_peak.cpp:10-14", "--json", "--source-dir", source_root});
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  uint64_t allocated = 0;
  for (const auto& line : j["files"][0]["lines"])
    if (line["source"].get<std::string>().find("malloc(n)") != std::string::npos) allocated += line["allocated_bytes"].get<uint64_t>();
  EXPECT_EQ(allocated, 10 * kMiB) << r.out;
  EXPECT_EQ(j["files"][0]["lines"].size(), 5u);

  // Nothing from there, or a WHERE that is not one: one line, exit 2.
  r = run({tidemark(), "lines", trace, "noSuchFunction"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no allocation was made from a function named noSuchFunction"), std::string::npos) << r.err;
  r = run({tidemark(), "lines", trace, "known_peak.cpp:9-3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is not a range of lines"), std::string::npos) << r.err;
}

// A trace names its source files; `lines` and `report` read only what looks like source: a file
// the trace names that is neither source nor a script (here a Python program saved without ".py"
// or "#!", standing for ~/.ssh/id_rsa named by a hostile trace) is not copied into the output.
TEST(Lines, OnlyWhatLooksLikeSourceIsRead) {
  const std::string python = pythonInterpreters().front();
  const std::string dir = tempDir();
  const std::string code = "kept = bytearray(1 << 20)  # THE LINE\nprint(len(kept))\n";
  for (const bool script : {false, true}) {
    SCOPED_TRACE(script ? "a script" : "not source");
    const std::string path = dir + (script ? "/script" : "/secret");
    std::ofstream(path) << (script ? "#!/usr/bin/env python3\n" : "") << code;
    const std::string trace = path + ".tmtrace";
    ASSERT_EQ(run({tidemark(), "run", "-o", trace, "--", python, path}).code, 0);
    Result r = run({tidemark(), "lines", trace, path, "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto file = nlohmann::json::parse(r.out)["files"][0];
    EXPECT_EQ(file["source_path"].get<std::string>().empty(), !script) << r.out;
    bool shown = false;
    for (const auto& line : file["lines"]) shown = shown || line["source"].get<std::string>().find("THE LINE") != std::string::npos;
    EXPECT_EQ(shown, script) << r.out;
  }
}
