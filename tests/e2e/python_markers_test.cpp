// The tidemark Python module (python/tidemark): markers from a Python program on every CPython on
// the machine, and nothing at all without the tracker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "harness.h"

using namespace tmtest;


TEST(PythonMarkers, ADateKeyedCacheGrowsPerSimulatedDayOnEveryInterpreter) {
  std::vector<std::string> pythons = pythonInterpreters();
  if (pythons.empty()) GTEST_SKIP() << "no CPython here";
  for (const std::string& python : pythons) {
    SCOPED_TRACE(python);
    std::string trace = tempDir() + "/cache.tmtrace";
    std::remove(trace.c_str());
    Result r = run({tidemark(), "run", "-o", trace, "--", python, programSource("python/date_cache.py"), "120"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "tracker\ndone\n");
    auto s = summary(trace);
    ASSERT_TRUE(s["python"].is_object()) << s["python"];
    EXPECT_EQ(s["python"]["python_frames"], true);
    const auto& f = s["findings"];
    EXPECT_EQ(f["simulated_days"], 120);
    // The one unbounded site grows by a bytearray a day: 100,000 bytes and its terminating NUL.
    const nlohmann::json* cache = nullptr;
    for (const auto& site : f["sites"])
      if (site["verdict"] == "unbounded growth") {
        EXPECT_EQ(cache, nullptr) << "a second unbounded site: " << site.dump(1);
        cache = &site;
      }
    ASSERT_TRUE(cache) << f.dump(1);
    EXPECT_EQ((*cache)["site"], "<module> (" + programSource("python/date_cache.py") + ":16)");
    // The bytearray's object (56 bytes) and buffer, the dict's growth spread over the days.
    EXPECT_NEAR((*cache)["rate_bytes_per_day"].get<double>(), 100'001 + 56, 1'000) << cache->dump(1);
    EXPECT_GT((*cache)["confidence"].get<double>(), 0.99);
  }
}

// Growth the program never lets go of is unbounded even though the interpreter frees it when it
// finalizes: a Python program's run ends where its interpreter begins to finalize, and what the
// finalization frees is not the program's release ("grows with the work, released before exit").
TEST(PythonMarkers, AHistoryFreedOnlyByFinalizationGrowsWithoutBound) {
  const std::string source = programSource("python/history_list.py");
  const std::string site = "<module> (" + source + ":" + std::to_string(lineOf(source, "HISTORY")) + ")";
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string trace = tempDir() + "/history.tmtrace";
    Result r = run({tidemark(), "run", "-o", trace, "--", python, source});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "400\n");
    auto s = summary(trace);
    const nlohmann::json* history = nullptr;
    for (const auto& f : s["findings"]["sites"])
      if (f["site"] == site) history = &f;
    ASSERT_TRUE(history) << s["findings"].dump(1);
    EXPECT_EQ((*history)["verdict"], "unbounded growth") << history->dump(1);
    EXPECT_EQ((*history)["exit_bytes"], 0u);  // the interpreter did free it, at its end
    // Held where the window ends (at the finalization, to within a step of the sampler's clock: a
    // loaded machine's sampler can be late by a few of the program's steps).
    EXPECT_GE((*history)["final_bytes"].get<uint64_t>(), 300u * (20'001 + 56)) << history->dump(1);
    EXPECT_EQ(s["diagnosis"][0]["headline"], "Grows without bound: " + site) << s["diagnosis"].dump(1);
  }
}

TEST(PythonMarkers, WithoutTheTrackerTheModuleDoesNothing) {
  std::vector<std::string> pythons = pythonInterpreters();
  if (pythons.empty()) GTEST_SKIP() << "no CPython here";
  for (const std::string& python : pythons) {
    SCOPED_TRACE(python);
    Result r = run({python, programSource("python/date_cache.py"), "3"}, {"PYTHONPATH=" + pythonModule()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "no tracker\ndone\n");
    // A text that is not text is the caller's mistake, said as Python says it.
    r = run({python, "-c", "import tidemark\ntidemark.mark(3)"}, {"PYTHONPATH=" + pythonModule()});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("TypeError"), std::string::npos) << r.err;
  }
}

TEST(PythonMarkers, TheRunKeepsTheProgramsOwnPythonPathFirst) {
  std::vector<std::string> pythons = pythonInterpreters();
  if (pythons.empty()) GTEST_SKIP() << "no CPython here";
  std::string dir = tempDir();
  Result r = run({tidemark(), "run", "-o", dir + "/path.tmtrace", "--", pythons[0], "-c",
                  "import os; print(os.environ['PYTHONPATH'])"},
                 {"PYTHONPATH=/opt/mine"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "/opt/mine:" + pythonModule() + "\n");
}
