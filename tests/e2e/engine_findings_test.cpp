// The bundled engine under the tracker, with its switchable faults as the ground truth of the
// findings: what must be a plateau, what must grow, what must cycle, which cycles leak.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.h"

using namespace tmtest;

namespace {

// A small run: 1,500 generated assets, 250 simulated sessions after the strategy's warm-up (at
// most 150 sessions, for random-universe).
struct EngineRun {
  nlohmann::json summary;  // tidemark summary --json
  nlohmann::json results;  // the engine's own results file
};

EngineRun traceEngine(const std::vector<std::string>& engine_args, bool scan = false) {
  std::string dir = tempDir();
  std::string trace = dir + "/engine.tmtrace";
  std::vector<std::string> argv{tidemark(), "run"};
  if (scan) argv.push_back("--scan");
  // The bundle is ingested first, untraced (as a real backtest reads a bundle ingested before):
  // generating it inside the traced run would take nine tenths of the trace's time.
  std::string bundle = dir + "/daily.bundle";
  Result ingest = run({TM_TRACED_ENGINE, "ingest", "--assets", "1500", "--days", "420", "--frequency", "daily", "-o", bundle});
  EXPECT_EQ(ingest.code, 0) << ingest.err;
  for (const char* a : {"-o", trace.c_str(), "--", TM_TRACED_ENGINE, "run", "-q", "--days", "250", "--bundle", bundle.c_str()})
    argv.push_back(a);
  argv.push_back("--results");
  argv.push_back(dir + "/results.json");
  argv.insert(argv.end(), engine_args.begin(), engine_args.end());
  Result r = run(argv);
  EXPECT_EQ(r.code, 0) << r.err;
  EngineRun out;
  out.summary = summary(trace);
  std::ifstream in(dir + "/results.json");
  out.results = nlohmann::json::parse(in);
  return out;
}

const nlohmann::json* site(const nlohmann::json& s, const std::string& function) {
  for (const auto& f : s["findings"]["sites"])
    if (f["function"].get<std::string>().ends_with(function)) return &f;
  return nullptr;
}

int unboundedSites(const nlohmann::json& s) {
  int n = 0;
  for (const auto& f : s["findings"]["sites"]) n += f["verdict"] == "unbounded growth";
  return n;
}

}  // namespace

TEST(EngineFindings, BoundedHistoryCacheIsAPlateauAndNothingGrows) {
  EngineRun e = traceEngine({});
  const auto* cache = site(e.summary, "HistoryCache::decodeColumn");
  ASSERT_TRUE(cache) << e.summary["findings"].dump(1);
  EXPECT_EQ((*cache)["verdict"], "plateau");
  EXPECT_EQ(unboundedSites(e.summary), 0) << e.summary["findings"].dump(1);
  // The cache is the largest holder at the heap peak.
  const auto& top = e.summary["top_at_peak"];
  ASSERT_FALSE(top.empty());
  EXPECT_TRUE(top[0]["frames"][0]["function"].get<std::string>().ends_with("HistoryCache::decodeColumn")) << top[0].dump(1);
}

TEST(EngineFindings, SmallerHistoryCacheLowersThePeak) {
  EngineRun wide = traceEngine({});
  EngineRun narrow = traceEngine({"--history-cache-assets", "100"});
  EXPECT_LT(narrow.summary["peak_heap"]["bytes"].get<uint64_t>() * 2, wide.summary["peak_heap"]["bytes"].get<uint64_t>());
  // Same trades: the cache changes memory, not results.
  EXPECT_EQ(narrow.results["runs"][0]["summary"]["final_value"], wide.results["runs"][0]["summary"]["final_value"]);
}

TEST(EngineFindings, UnboundedCacheFaultIsUnboundedGrowth) {
  EngineRun e = traceEngine({"--fault", "unbounded-cache"});
  const auto* cache = site(e.summary, "HistoryCache::decodeColumn");
  ASSERT_TRUE(cache) << e.summary["findings"].dump(1);
  EXPECT_EQ((*cache)["verdict"], "unbounded growth");
}

TEST(EngineFindings, LeakPerDayIsUnboundedAtTheInjectedRate) {
  EngineRun e = traceEngine({"--fault", "leak-per-day", "--leak-bytes-per-day", "262144"});
  const auto* leak = site(e.summary, "leakDailyScratch");
  ASSERT_TRUE(leak) << e.summary["findings"].dump(1);
  EXPECT_EQ((*leak)["verdict"], "unbounded growth");
  EXPECT_NEAR((*leak)["rate_bytes_per_day"].get<double>(), 262144.0, 262144.0 * 0.05);
  EXPECT_EQ(unboundedSites(e.summary), 1) << e.summary["findings"].dump(1);
}

TEST(EngineFindings, PipelineChunksArePeriodicNotGrowth) {
  EngineRun e = traceEngine({"--strategy", "momentum", "--pipeline-chunk", "42"});
  const auto* chunks = site(e.summary, "computePipelineChunk");
  ASSERT_TRUE(chunks) << e.summary["findings"].dump(1);
  EXPECT_EQ((*chunks)["verdict"], "periodic");
  EXPECT_NEAR((*chunks)["period_days"].get<double>(), 42, 3);
  EXPECT_EQ(unboundedSites(e.summary), 0) << e.summary["findings"].dump(1);
}

TEST(EngineFindings, LeakCyclesFaultGivesTheExactCyclesUnderOneShape) {
  EngineRun e = traceEngine({"--fault", "leak-cycles"}, true);
  uint64_t expected = e.results["runs"][0]["summary"]["leaked_cycles"];
  ASSERT_GT(expected, 100u);
  const auto& h = e.summary["heap_scan"];
  ASSERT_TRUE(h["available"].get<bool>()) << h.dump(1);
  EXPECT_EQ(h["leaked_cycles"]["count"], expected);
  ASSERT_EQ(h["leaked_cycles"]["groups"].size(), 1u) << h.dump(1);
  const auto& group = h["leaked_cycles"]["groups"][0];
  EXPECT_EQ(group["cycles"], expected);
  EXPECT_EQ(group["bytes"], h["leaked_cycles"]["bytes"]);
  std::string shape = group["shape"];
  EXPECT_NE(shape.find("makeOrder (engine/execution/order.cpp"), std::string::npos) << shape;
  EXPECT_NE(shape.find("makeFill (engine/execution/order.cpp"), std::string::npos) << shape;
  EXPECT_EQ(h["plain_leaks"]["blocks"], 0);
}
