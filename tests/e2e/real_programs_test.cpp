// Programs nobody here wrote, from Debian packages: their own libraries' frames stay in the stacks
// and their leaks count, wherever they are installed (issue: /usr/lib is not "the runtime").
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "harness.h"

using namespace tmtest;

namespace {

bool installed(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

TEST(RealPrograms, ACompilerUnderUsrLibLeaksAsItsOwnCode) {
  if (!installed("/usr/bin/g++")) GTEST_SKIP() << "g++ is not installed";
  std::string dir = tempDir();
  std::ofstream(dir + "/x.cpp") << "int twice(int x) { return 2 * x; }\n";
  Result r = run({tidemark(), "run", "-o", dir + "/gxx.tmtrace", "--", "g++", "-O2", "-c", dir + "/x.cpp", "-o", dir + "/x.o"});
  ASSERT_EQ(r.code, 0) << r.err;
  // cc1plus, under /usr/lib/gcc, writes its own trace beside the driver's.
  std::string cc1plus;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".tmtrace") continue;
    auto s = summary(entry.path().string());
    if (s["exe"].get<std::string>().find("/cc1plus") != std::string::npos) cc1plus = entry.path().string();
  }
  ASSERT_FALSE(cc1plus.empty()) << "no trace of cc1plus";
  auto s = summary(cc1plus);
  EXPECT_GT(s["leaks"]["bytes"].get<uint64_t>(), 100'000u) << "cc1plus's allocations were taken for the runtime's";
  EXPECT_LT(s["leaks"]["runtime_bytes"].get<uint64_t>(), 100'000u);
  const std::string site = s["leaks"]["stacks"][0]["site"];
  EXPECT_NE(site.find("cc1plus"), std::string::npos) << site;  // its own xmalloc, named in its module
  EXPECT_EQ(run({tidemark(), "gate", cc1plus, "--max-leaked", "1KiB"}).code, 1);
}

TEST(RealPrograms, ALibrarysOwnFunctionsStayInItsStacks) {
  if (!installed("/usr/bin/sqlite3")) GTEST_SKIP() << "sqlite3 is not installed";
  std::string trace = tempDir() + "/sqlite.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", "sqlite3", ":memory:",
                  "create table t(a); with recursive c(x) as (select 1 union all select x+1 from c where x<50000) "
                  "insert into t select x from c; select count(*) from t;"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "50000\n");
  auto s = summary(trace);
  const auto& top = s["top_at_peak"][0];
  // libsqlite3 is under /lib: its frames are the library's own code, not folded away.
  bool named = false;
  for (size_t i = 0; i < 3 && i < top["frames"].size(); ++i)
    named = named || top["frames"][i]["function"].get<std::string>().rfind("sqlite3", 0) == 0;
  EXPECT_TRUE(named) << top["frames"].dump(1);
  EXPECT_NE(top["site"].get<std::string>().find("libsqlite3"), std::string::npos) << top["site"];
}

TEST(RealPrograms, WithFullStacksSitesAreStillNamedByTheProgramsCode) {
  std::string trace = tempDir() + "/cycles.tmtrace";
  ASSERT_EQ(run({tidemark(), "run", "-o", trace, "--", program("tm-test-cycles"), "100", "0", "0", "0"}).code, 0);
  auto folded = summary(trace);
  Result full = run({tidemark(), "summary", "--json", "--full", trace});
  ASSERT_EQ(full.code, 0) << full.err;
  auto f = nlohmann::json::parse(full.out);
  // make_shared's stack: operator new in libstdc++ first when every frame is kept...
  EXPECT_EQ(f["leaks"]["stacks"][0]["frames"][0]["function"], std::string("operator new")) << f["leaks"]["stacks"][0].dump(1);
  // ...and the same site either way: the program's function, not the allocator.
  EXPECT_EQ(f["leaks"]["stacks"][0]["site"], folded["leaks"]["stacks"][0]["site"]);
  EXPECT_EQ(folded["leaks"]["stacks"][0]["site"].get<std::string>().find("operator new"), std::string::npos);
}

}  // namespace


TEST(RealPrograms, AWorkingSetFreedBeforeExitIsNotALeakAndReadsTheSameEveryRun) {
  std::string dir = tempDir();
  std::map<std::string, std::string> first;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string trace = dir + "/ws" + std::to_string(attempt) + ".tmtrace";
    Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-working_set"), "2.5"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto s = summary(trace);
    auto v = verdicts(s);
    EXPECT_EQ(v["heap"], "grows with the work") << s["findings"].dump(1);
    EXPECT_TRUE(s["findings"]["process"]["rss_follows_heap"].get<bool>()) << s["findings"]["process"].dump(1);
    EXPECT_EQ(v["main (tests/programs/working_set.cpp:15)"], "grows with the work") << s["findings"].dump(1);
    for (const auto& [site, verdict] : v) EXPECT_NE(verdict, "unbounded growth") << site;
    EXPECT_EQ(run({tidemark(), "gate", trace, "--no-unbounded-growth", "--max-leaked", "0"}).code, 0);
    if (attempt == 0) first = v;
    else EXPECT_EQ(v, first);
  }
}

// The diagnosis's kinds, in order.
std::vector<std::string> diagnosisKinds(const nlohmann::json& s) {
  std::vector<std::string> kinds;
  for (const auto& line : s["diagnosis"]) kinds.push_back(line["kind"]);
  return kinds;
}

// sqlite3 building a table and an index in memory: its anonymous RSS stays about 2.3 MiB above its
// heap from its first allocations to its end (libraries, malloc's own, the tracker's stack cache and
// depot; in aggregate mode its table of live blocks too). The RSS rule measured from the first
// sample, taken as the tracker starts, before any of that, and called it growth outside the heap,
// the first problem of the diagnosis, in both modes.
TEST(RealPrograms, RssThatFollowsTheHeapIsNotGrowthOutsideIt) {
  if (!installed("/usr/bin/sqlite3")) GTEST_SKIP() << "sqlite3 is not installed";
  std::string sql = "create table t(a, b);\n";
  for (int i = 1; i <= 200'000; ++i) sql += "insert into t values(" + std::to_string(i) + ", hex(randomblob(16)));\n";
  sql += "create index i on t(b); select count(*) from t;\n";
  for (const std::string mode : {"full", "aggregate"}) {
    SCOPED_TRACE(mode);
    std::string trace = tempDir() + "/index-" + mode + ".tmtrace";
    Result r = run({tidemark(), "run", "--mode", mode, "-o", trace, "--", "sqlite3", ":memory:"}, {}, sql);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "200000\n");
    auto s = summary(trace);
    const auto& p = s["findings"]["process"];
    EXPECT_TRUE(p["rss_follows_heap"].get<bool>()) << p.dump(1);
    for (const std::string& kind : diagnosisKinds(s)) EXPECT_NE(kind, "rss-outside-heap") << s["diagnosis"].dump(1);
  }
}

// ...and RSS that does grow outside the heap is still said to: a static array written a MiB at a
// time, 50 MiB a second, the heap flat; in aggregate mode too, where the heap's high-water mark is
// taken to be its peak all along (its samples do not see between them).
TEST(RealPrograms, RssGrowingWhereNoAllocationIsIsGrowthOutsideTheHeap) {
  for (const std::string mode : {"full", "aggregate"}) {
    SCOPED_TRACE(mode);
    std::string trace = tempDir() + "/static-" + mode + ".tmtrace";
    Result r = run({tidemark(), "run", "--mode", mode, "-o", trace, "--", program("tm-test-static_growth"), "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto s = summary(trace);
    const auto& p = s["findings"]["process"];
    EXPECT_FALSE(p["rss_follows_heap"].get<bool>()) << p.dump(1);
    EXPECT_EQ(p["rss_verdict"], "unbounded growth") << p.dump(1);
    const std::vector<std::string> kinds = diagnosisKinds(s);
    ASSERT_FALSE(kinds.empty());
    EXPECT_EQ(kinds[0], "rss-outside-heap") << s["diagnosis"].dump(1);
  }
}

// What CPython and numpy keep to the end (caches filled on first use) is a few KiB never freed in a
// pandas script that holds nothing: no problem in the diagnosis, but a healthy line that says what
// it is; the heap scan finds nearly all of it still reachable.
TEST(RealPrograms, APythonScriptsCachesAtExitAreNotALeak) {
  if (!installed("/usr/bin/python3") || run({"/usr/bin/python3", "-c", "import pandas"}).code != 0)
    GTEST_SKIP() << "Debian's python3 with pandas is not installed";
  const std::string script = programSource("python/pandas_stats.py");
  for (bool scan : {false, true}) {
    SCOPED_TRACE(scan ? "--scan" : "no scan");
    std::string dir = tempDir() + "/stats";
    std::vector<std::string> argv = {tidemark(), "run", "-o", dir};
    if (scan) argv.push_back("--scan");
    argv.insert(argv.end(), {"--", "/usr/bin/python3", script});
    Result r = run(argv);
    ASSERT_EQ(r.code, 0) << r.err;
    auto s = summary(dir);
    const uint64_t never_freed = s["leaks"]["bytes"];
    EXPECT_GT(never_freed, 0u);
    EXPECT_LT(never_freed, 64u * 1024);
    const std::vector<std::string> kinds = diagnosisKinds(s);
    for (const std::string& kind : kinds) EXPECT_NE(kind, "leak") << s["diagnosis"].dump(1);
    if (!scan) {
      EXPECT_NE(std::find(kinds.begin(), kinds.end(), "interpreter-residue"), kinds.end()) << s["diagnosis"].dump(1);
      for (const std::string& kind : kinds) EXPECT_NE(kind, "small-leak") << s["diagnosis"].dump(1);
    } else {
      // The scan reaches nearly all of it: in some runs it misses two or three of numpy's small
      // blocks (144-216 bytes of 4,888), which it then calls a small leak.
      EXPECT_LT(s["heap_scan"]["program_lost"]["bytes"].get<uint64_t>(), 1024u) << s["heap_scan"].dump(1);
    }
  }
}

TEST(RealPrograms, ABufferFilledSlowlyIsNotRssGrowth) {
  if (!installed("/usr/bin/xz")) GTEST_SKIP() << "xz is not installed";
  std::string dir = tempDir();
  {
    std::ofstream text(dir + "/input.txt");
    for (int i = 0; i < 200'000; ++i) text << "line " << i * 7919 % 100'003 << " of a file that xz compresses\n";
  }
  std::map<std::string, std::string> first;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string trace = dir + "/xz" + std::to_string(attempt) + ".tmtrace";
    // -9 allocates its 674 MiB of tables at once and touches their pages as the input comes.
    Result r = run({tidemark(), "run", "-o", trace, "--", "xz", "-9", "-T1", "-k", "-f", dir + "/input.txt"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto s = summary(trace);
    const auto& p = s["findings"]["process"];
    ASSERT_TRUE(p.is_object()) << s["findings"].dump(1);
    EXPECT_TRUE(p["rss_follows_heap"].get<bool>()) << p.dump(1);
    EXPECT_NE(p["rss_verdict"], "unbounded growth") << p.dump(1);
    EXPECT_NE(p["heap_verdict"], "unbounded growth") << p.dump(1);
    EXPECT_EQ(run({tidemark(), "gate", trace, "--no-unbounded-growth"}).code, 0);
    Result text = run({tidemark(), "summary", trace});
    EXPECT_NE(text.out.find("RSS: follows the heap"), std::string::npos) << text.out;
    if (attempt == 0) first = verdicts(s);
    else EXPECT_EQ(verdicts(s), first);
  }
}

TEST(RealPrograms, AShortRunGetsNoGrowthVerdictItCannotSupport) {
  if (!installed("/usr/bin/git")) GTEST_SKIP() << "git is not installed";
  std::string trace = tempDir() + "/git.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", "git", "--version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("git version ", 0), 0u) << r.out;
  auto s = summary(trace);
  for (const auto& [site, verdict] : verdicts(s)) {
    EXPECT_NE(verdict, "unbounded growth") << site;
    EXPECT_NE(verdict, "periodic") << site;
    EXPECT_NE(verdict, "plateau") << site;
  }
  EXPECT_EQ(run({tidemark(), "gate", trace, "--no-unbounded-growth"}).code, 0);
}
