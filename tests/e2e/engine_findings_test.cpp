// The bundled engine under the tracker, with its switchable faults as the ground truth of the
// findings: what must be a plateau, what must grow, what must cycle, which cycles leak.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.h"

using namespace tmtest;

namespace {

// A small run: 1,500 generated assets, 250 simulated sessions after the strategy's warm-up (at
// most 150 sessions, for random-universe).
struct EngineRun {
  std::string trace;
  nlohmann::json summary;  // tidemark summary --json
  nlohmann::json results;  // the engine's own results file
};

EngineRun traceEngine(const std::vector<std::string>& engine_args, bool scan = false, const std::string& mode = "full") {
  std::string dir = tempDir();
  std::string trace = dir + "/engine.tmtrace";
  std::vector<std::string> argv{tidemark(), "run", "--mode", mode};
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
  out.trace = trace;
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

// The diagnosis leads, in text and JSON: a healthy run says so and names the cache that levels off.
TEST(EngineFindings, AHealthyRunSaysNoProblemAndNamesItsBoundedCache) {
  EngineRun e = traceEngine({});
  const auto& d = e.summary["diagnosis"];
  ASSERT_GE(d.size(), 2u) << d.dump(1);
  EXPECT_EQ(d[0]["kind"], "no-problem") << d.dump(1);
  bool cache = false;
  for (const auto& line : d) {
    EXPECT_FALSE(line["problem"].get<bool>()) << line.dump();
    cache = cache || (line["kind"] == "bounded-cache" && line["site"].get<std::string>().find("HistoryCache::decodeColumn") != std::string::npos);
  }
  EXPECT_TRUE(cache) << d.dump(1);
  Result text = run({tidemark(), "summary", e.trace});
  EXPECT_EQ(text.out.substr(0, text.out.find('\n')), "Diagnosis: no problem found") << text.out;
  Result json = run({tidemark(), "summary", "--json", e.trace});
  EXPECT_EQ(json.out.rfind("{\n  \"diagnosis\": [", 0), 0u) << json.out.substr(0, 200);
}

// Three faults, three problems, most severe first, in the first ten lines of the summary: the
// leak that grows every day (its growth and its leak on one line), the cache that never evicts,
// the one-day spike. Every line fits in 100 columns.
TEST(EngineFindings, TheSummaryOfAThreeFaultRunOpensWithItsThreeProblems) {
  EngineRun e = traceEngine({"--fault", "leak-per-day", "--leak-bytes-per-day", "262144", "--fault", "unbounded-cache", "--fault",
                             "spike", "--spike-bytes", "67108864"});
  std::vector<std::pair<std::string, std::string>> expected = {
      {"unbounded-growth", "leakDailyScratch"}, {"unbounded-growth", "HistoryCache::decodeColumn"}, {"spike", "StressScenarioMatrix::build"}};
  const auto& d = e.summary["diagnosis"];
  size_t problems = 0;
  for (const auto& line : d) problems += line["problem"].get<bool>();
  ASSERT_EQ(problems, expected.size()) << d.dump(1);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(d[i]["kind"], expected[i].first) << d.dump(1);
    EXPECT_NE(d[i]["site"].get<std::string>().find(expected[i].second), std::string::npos) << d[i].dump();
  }
  EXPECT_NE(d[0]["headline"].get<std::string>().find("and leaks"), std::string::npos) << d[0].dump();
  EXPECT_NE(d[0]["detail"].get<std::string>().find("+256.0 KiB per simulated day"), std::string::npos) << d[0].dump();

  Result text = run({tidemark(), "summary", e.trace});
  ASSERT_EQ(text.code, 0) << text.err;
  std::istringstream lines(text.out);
  std::string line, head;
  for (int n = 0; n < 10 && std::getline(lines, line); ++n) head += line + '\n';
  EXPECT_EQ(head.rfind("Diagnosis: 3 problems, most severe first\n", 0), 0u) << head;
  size_t at = 0;
  for (const auto& [kind, function] : expected) {
    size_t found = head.find(function, at);
    EXPECT_NE(found, std::string::npos) << function << " not in order in the first 10 lines:\n" << head;
    at = found == std::string::npos ? at : found;
  }
  std::istringstream all(text.out);
  while (std::getline(all, line)) {
    size_t columns = 0;
    for (unsigned char c : line) columns += (c & 0xC0) != 0x80;
    EXPECT_LE(columns, 100u) << line;
  }
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

// Aggregate mode keeps each stack's bytes at the timeline's samples (StackLevels, sparser as the
// run gets longer), not every event: its verdicts are full mode's on the faults that make them,
// and the leak's rate is the injected one.
TEST(EngineFindings, AggregateModeGivesFullModesVerdicts) {
  const std::vector<std::vector<std::string>> runs = {
      {},
      {"--fault", "leak-per-day", "--leak-bytes-per-day", "262144", "--fault", "unbounded-cache"},
      {"--strategy", "momentum", "--pipeline-chunk", "42"}};
  for (const auto& args : runs) {
    SCOPED_TRACE(args.empty() ? std::string("healthy") : args[1]);
    EngineRun full = traceEngine(args);
    EngineRun aggregate = traceEngine(args, false, "aggregate");
    EXPECT_EQ(aggregate.summary["mode"], "aggregate");
    ASSERT_TRUE(aggregate.summary["findings"]["available"].get<bool>()) << aggregate.summary["findings"].dump(1);
    int judged = 0;
    for (const auto& f : full.summary["findings"]["sites"]) {
      const std::string verdict = f["verdict"];
      if (verdict != "plateau" && verdict != "unbounded growth" && verdict != "periodic") continue;
      const auto* same = site(aggregate.summary, f["function"].get<std::string>());
      ASSERT_TRUE(same) << f["function"] << " " << aggregate.summary["findings"].dump(1);
      EXPECT_EQ((*same)["verdict"], verdict) << f["function"];
      ++judged;
    }
    EXPECT_GE(judged, 1) << full.summary["findings"].dump(1);
    if (const auto* leak = site(aggregate.summary, "leakDailyScratch")) {
      EXPECT_NEAR((*leak)["rate_bytes_per_day"].get<double>(), 262144.0, 262144.0 * 0.05);
    }
  }
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
