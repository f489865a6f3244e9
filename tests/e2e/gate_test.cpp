// The CI memory gate, the diff of two runs and the resources recommendation, on engine runs whose
// truth is known: the same run twice, a deliberate 10% regression (fault bloated-cache), a leak of
// 1 MiB per simulated day.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <fstream>
#include <algorithm>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness.h"

using namespace tmtest;

namespace {

class Gate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tempDir();
    bundle_ = dir_ + "/daily.bundle";
    Result r = run({TM_TRACED_ENGINE, "ingest", "--assets", "1500", "--days", "420", "--frequency", "daily", "-o", bundle_});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  // A traced engine run (memoized by name).
  std::string trace(const std::string& name, std::vector<std::string> engine_args = {}, std::vector<std::string> run_args = {}) {
    auto it = traces_.find(name);
    if (it != traces_.end()) return it->second;
    std::string path = dir_ + "/" + name + ".tmtrace";
    std::vector<std::string> argv{tidemark(), "run"};
    argv.insert(argv.end(), run_args.begin(), run_args.end());
    for (const std::string& a : {std::string("-o"), path, std::string("--"), std::string(TM_TRACED_ENGINE), std::string("run"),
                                 std::string("-q"), std::string("--days"), std::string("250"), std::string("--bundle"), bundle_})
      argv.push_back(a);
    argv.insert(argv.end(), engine_args.begin(), engine_args.end());
    Result r = run(argv);
    EXPECT_TRUE(r.code == 0 || !run_args.empty()) << r.err;
    return traces_[name] = path;
  }
  std::string clean() { return trace("clean"); }
  std::string leaking() { return trace("leak", {"--fault", "leak-per-day", "--leak-bytes-per-day", "65536"}); }

  std::string summaryJsonFile(const std::string& trace_path, const std::string& name) {
    std::string path = dir_ + "/" + name + ".json";
    Result r = run({tidemark(), "summary", "--json", trace_path});
    EXPECT_EQ(r.code, 0) << r.err;
    std::ofstream(path) << r.out;
    return path;
  }

  Result gate(std::vector<std::string> args) {
    args.insert(args.begin(), {tidemark(), "gate"});
    return run(args);
  }

  std::string dir_, bundle_;
  std::map<std::string, std::string> traces_;
};

bool hasLine(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(start, 0) == 0) return true;
  return false;
}

TEST_F(Gate, TheSameRunTwiceGivesTheSameVerdictAtOnePercent) {
  std::string a = clean(), b = trace("again");
  for (const std::string& base : {a, summaryJsonFile(a, "a")}) {
    Result r = gate({b, "--baseline", base, "--max-peak-increase", "1", "--max-leaked-increase", "1", "--no-unbounded-growth"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_TRUE(hasLine(r.out, "gate: all 5 rules hold")) << r.out;
  }
  // And the other way round.
  Result r = gate({a, "--baseline", b, "--max-peak-increase", "1"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(Gate, ADeliberateTenPercentRegressionIsCaughtAgainstABaseline) {
  std::string base = summaryJsonFile(clean(), "baseline");
  std::string bloated = trace("bloated", {"--fault", "bloated-cache"});
  Result r = gate({bloated, "--baseline", base, "--max-peak-increase", "5", "--junit", dir_ + "/junit.xml"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(hasLine(r.out, "FAIL  peak heap ")) << r.out;
  EXPECT_TRUE(hasLine(r.out, "gate: 1 of 3 rules broken")) << r.out;
  // The measured increase: the cache is nine tenths of the peak and grew by a tenth.
  auto j = nlohmann::json::parse(gate({bloated, "--baseline", base, "--max-peak-increase", "5", "--json"}).out);
  EXPECT_FALSE(j["passed"].get<bool>());
  const auto& rule = j["rules"][2];
  EXPECT_EQ(rule["rule"], "max-peak-increase");
  double base_peak = rule["limit"].get<double>() / 1.05;
  EXPECT_NEAR(rule["measured"].get<double>() / base_peak, 1.09, 0.02);
  std::ifstream junit(dir_ + "/junit.xml");
  std::string xml((std::istreambuf_iterator<char>(junit)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("<testsuites name=\"tidemark gate\" tests=\"3\" failures=\"1\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testcase classname=\"tidemark.gate\" name=\"max-peak-increase\">\n      <failure message=\"peak heap"),
            std::string::npos)
      << xml;
  // The diff names the cache as the change, and nothing else at the peak.
  Result d = run({tidemark(), "diff", clean(), bloated});
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_NE(d.out.find("Sites at the heap peak, largest change first:\n"), std::string::npos) << d.out;
  auto dj = nlohmann::json::parse(run({tidemark(), "diff", "--format", "json", clean(), bloated}).out);
  ASSERT_FALSE(dj["sites"].empty());
  const auto& top = dj["sites"][0];
  EXPECT_NE(top["site"].get<std::string>().find("HistoryCache::decodeColumn"), std::string::npos) << dj.dump(1);
  double growth = top["new_peak_bytes"].get<double>() / top["base_peak_bytes"].get<double>();
  EXPECT_NEAR(growth, 1.10, 0.01);
}

// What a reviewer opens when the gate fails: the report of the new run against the baseline. The
// cache that grew tops the sites, is red in the differential flamegraph, and both timelines are drawn.
TEST_F(Gate, TheReportAgainstABaselineShowsTheCacheAsTheTopGrowth) {
  std::string bloated = trace("bloated", {"--fault", "bloated-cache"});
  std::string html_path = dir_ + "/diff.html";
  Result r = run({tidemark(), "report", bloated, "--baseline", clean(), "-o", html_path});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string html = readFile(html_path);
  size_t section = html.find("<h2 id=\"baseline-section\">");
  ASSERT_NE(section, std::string::npos);
  EXPECT_LT(html.find("<section id=\"diagnosis\">"), section);  // the diagnosis first, then the comparison
  std::smatch m;
  std::string rows = html.substr(html.find("<table id=\"baseline-sites\">"));
  ASSERT_TRUE(std::regex_search(rows, m, std::regex("<tr data-peak-change=\"(-?\\d+)\">.*?<td title=\"([^\"]*)\">"))) << rows.substr(0, 800);
  EXPECT_GT(std::stoll(m[1].str()), 0);
  EXPECT_NE(m[2].str().find("HistoryCache::decodeColumn"), std::string::npos) << m[2].str();
  // In the differential flamegraph the cache's frame grew, and is drawn red.
  std::vector<nlohmann::json> flames = reportFlameData(html, "flame-baseline");
  ASSERT_EQ(flames.size(), 1u);
  const nlohmann::json& data = flames[0];
  ASSERT_TRUE(data["differential"].get<bool>());
  int64_t cache_delta = 0;
  std::string cache_colour;
  for (const auto& f : data["frames"])
    if (data["strings"][f[3].get<size_t>()] == "tidemark::engine::HistoryCache::decodeColumn") {
      cache_delta += f[7].get<int64_t>();
      cache_colour = data["strings"][f[6].get<size_t>()];
    }
  EXPECT_GT(cache_delta, 0);
  EXPECT_EQ(cache_colour.rfind("rgb(255,", 0), 0u) << cache_colour;
  for (const char* id : {"baseline-rss", "baseline-heap", "new-rss", "new-heap"})
    EXPECT_NE(html.find(std::string("<polyline id=\"") + id + "\""), std::string::npos) << id;
  // A JSON summary as the baseline: the same table, and a word on the timeline it cannot have.
  std::string json_base = summaryJsonFile(clean(), "baseline");
  r = run({tidemark(), "report", bloated, "--baseline", json_base, "-o", html_path});
  ASSERT_EQ(r.code, 0) << r.err;
  html = readFile(html_path);
  EXPECT_NE(html.find("The timelines side by side need both runs as traces"), std::string::npos);
  EXPECT_NE(html.find("<table id=\"baseline-sites\">"), std::string::npos);
  // A baseline that is not a run is one line and exit code 2, before the new run is read.
  r = run({tidemark(), "report", bloated, "--baseline", dir_ + "/missing.tmtrace", "-o", html_path});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(Gate, EachAbsoluteRulePassesAndFails) {
  std::string ok = clean(), leak = leaking();
  EXPECT_EQ(gate({ok, "--max-peak", "20MiB"}).code, 0);
  Result r = gate({ok, "--max-peak", "5MiB"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(hasLine(r.out, "FAIL  peak heap ")) << r.out;
  EXPECT_NE(r.out.find("> 5.00 MiB (--max-peak)"), std::string::npos) << r.out;

  EXPECT_EQ(gate({ok, "--max-leaked", "0"}).code, 0);
  // 250 sessions x 64 KiB, leaked exactly.
  r = gate({leak, "--max-leaked", "1MiB", "--json"});
  EXPECT_EQ(r.code, 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rules"][2]["measured"].get<double>(), 250.0 * 65536);
  EXPECT_EQ(gate({leak, "--max-leaked", "16000KiB"}).code, 0);

  EXPECT_EQ(gate({ok, "--no-unbounded-growth"}).code, 0);
  r = gate({leak, "--no-unbounded-growth"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL  1 site grows without bound: tidemark::engine::leakDailyScratch"), std::string::npos) << r.out;

  // Leaks against a clean baseline: up from nothing.
  r = gate({leak, "--baseline", ok, "--max-leaked-increase", "50"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("up from nothing"), std::string::npos) << r.out;
  EXPECT_EQ(gate({ok, "--baseline", leak, "--max-leaked-increase", "0"}).code, 0);
}

TEST_F(Gate, AnOomKilledRunFailsTheGate) {
  std::string t = trace("oom", {"--fault", "leak-per-day"}, {"--memory-limit", "48M"});
  Result r = gate({t, "--max-peak", "1GiB"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(hasLine(r.out, "FAIL  the run did not end normally (oom-killed)")) << r.out;
  // The recommendation starts from the limit it died at: 1.5 and 2 times 48 MiB, at least.
  Result rec = run({tidemark(), "recommend", t});
  EXPECT_EQ(rec.code, 0) << rec.err;
  EXPECT_NE(rec.out.find("OOM-killed at "), std::string::npos) << rec.out;
  auto s = summary(t);
  uint64_t floor = std::max<uint64_t>(48u << 20, s["peak_rss"]["bytes"].get<uint64_t>());
  auto mi = [](double b) { return static_cast<uint64_t>(std::ceil(b / (16 << 20))) * 16; };
  EXPECT_NE(rec.out.find(fmt::format("requests:\n    memory: \"{}Mi\"", mi(floor * 1.5))), std::string::npos) << rec.out;
  EXPECT_NE(rec.out.find(fmt::format("limits:\n    memory: \"{}Mi\"", mi(floor * 2.0))), std::string::npos) << rec.out;
}

TEST_F(Gate, RecommendGivesHeadroomOverThePeakRss) {
  std::string t = clean();
  auto s = summary(t);
  double peak = s["peak_rss"]["bytes"].get<double>();
  Result rec = run({tidemark(), "recommend", t});
  ASSERT_EQ(rec.code, 0) << rec.err;
  auto mi = [](double b) { return static_cast<uint64_t>(std::ceil(b / (16 << 20))) * 16; };
  EXPECT_EQ(rec.out.rfind("# peak RSS ", 0), 0u) << rec.out;
  EXPECT_NE(rec.out.find(fmt::format("resources:\n  requests:\n    memory: \"{}Mi\"\n  limits:\n    memory: \"{}Mi\"\n",
                                     std::max<uint64_t>(16, mi(peak * 1.15)), std::max(mi(peak * 1.15), mi(peak * 1.5)))),
            std::string::npos)
      << rec.out;
}

TEST_F(Gate, BadInputIsExitCodeTwoWithOneLine) {
  std::string ok = clean();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{ok}, "no rule given"},
      {{dir_ + "/missing.tmtrace", "--max-peak", "1GiB"}, "cannot open"},
      {{ok, "--max-peak-increase", "5"}, "need --baseline"},
      {{ok, "--baseline", ok}, "--baseline needs"},
      {{ok, "--max-peak", "lots"}, "tidemark:"},
      {{bundle_, "--max-peak", "1GiB"}, "neither a tidemark trace nor a JSON summary"},
  };
  for (const Case& c : cases) {
    Result r = gate(c.args);
    EXPECT_EQ(r.code, 2) << c.message << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  std::string bad_json = dir_ + "/bad.json";
  std::ofstream(bad_json) << "{\"peak_heap\": {}}";
  Result r = gate({ok, "--baseline", bad_json, "--max-peak-increase", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is not a tidemark summary"), std::string::npos) << r.err;
}

// An aggregate trace judges growth from its stack levels: the leak fails the gate, the clean run
// passes it, as in full mode.
TEST_F(Gate, AnAggregateTraceIsJudgedForGrowthToo) {
  Result clean_run = gate({trace("aggregated", {}, {"--mode", "aggregate"}), "--no-unbounded-growth"});
  EXPECT_EQ(clean_run.code, 0) << clean_run.out << clean_run.err;
  Result leak = gate({trace("aggregated-leak", {"--fault", "leak-per-day", "--leak-bytes-per-day", "65536"}, {"--mode", "aggregate"}),
                      "--no-unbounded-growth"});
  EXPECT_EQ(leak.code, 1) << leak.out << leak.err;
  EXPECT_NE(leak.out.find("leakDailyScratch"), std::string::npos) << leak.out;
}

TEST_F(Gate, DiffFoldedHasBaseAndNewCounts) {
  std::string a = clean(), b = leaking();
  Result r = run({tidemark(), "diff", "--format", "folded", "--metric", "leaked", a, b});
  ASSERT_EQ(r.code, 0) << r.err;
  bool found = false;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    // "main;...;tidemark::engine::leakDailyScratch 0 16384000"
    if (line.find("tidemark::engine::leakDailyScratch ") != std::string::npos) {
      EXPECT_EQ(line.substr(line.rfind(';') + 1), "tidemark::engine::leakDailyScratch 0 16384000");
      EXPECT_EQ(line.rfind("main;", 0), 0u) << line;
      found = true;
    }
  }
  EXPECT_TRUE(found) << r.out;
}

}  // namespace
