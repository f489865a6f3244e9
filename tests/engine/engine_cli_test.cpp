// End to end: the tidemark-engine program, as a user runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"

using tmengine::lineCount;
using tmengine::ProcessResult;
using tmengine::readFile;
using tmengine::TempDir;

namespace {

const std::string kEngine = TM_ENGINE_BIN;
// The faults leak on purpose: LeakSanitizer (in sanitized builds) must not turn that into a failure.
const std::vector<std::string> kNoLeakCheck = {"ASAN_OPTIONS=detect_leaks=0"};

ProcessResult engine(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), kEngine);
  return tmengine::runProcess(args, env);
}

class EngineCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_EQ(engine({"ingest", "--assets", "40", "--days", "90", "--seed", "5", "--frequency", "daily", "-o",
                      dir_->file("daily.bundle")})
                  .code,
              0);
    ASSERT_EQ(
        engine({"ingest", "--assets", "15", "--days", "6", "--seed", "6", "-o", dir_->file("minute.bundle")}).code, 0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string daily() { return dir_->file("daily.bundle"); }
  static std::string minute() { return dir_->file("minute.bundle"); }
  // random-universe, scaled down to the test bundle.
  static std::vector<std::string> randomUniverse(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run",         "-q",      "--bundle",    daily(),   "--param",
                                     "lookback=20", "--param", "universe=15", "--param", "hold=4"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  static TempDir* dir_;
};

TempDir* EngineCli::dir_ = nullptr;

TEST_F(EngineCli, IngestInfoAndRun) {
  ProcessResult info = engine({"info", minute()});
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("15 assets, 6 sessions 2020-01-02 .. 2020-01-09, minute and daily bars"), std::string::npos)
      << info.out;
  std::string results = dir_->file("bh.json");
  ProcessResult run = engine({"run", "--bundle", minute(), "--strategy", "buy-and-hold", "--results", results});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("buy-and-hold on 15 assets, 2020-01-02 .. 2020-01-09 (6 sessions, minute bars)"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.err.find("[100.0%] 2020-01-09"), std::string::npos) << run.err;  // the progress line
  auto doc = nlohmann::json::parse(readFile(results));
  EXPECT_EQ(doc["runs"][0]["summary"]["sessions"], 6);
  EXPECT_EQ(doc["runs"][0]["summary"]["bar_events"], 6 * 390 * 15);
  EXPECT_EQ(doc["bundle"]["minute_bars"], true);
}

TEST_F(EngineCli, SameSeedSameResultsFile) {
  for (const char* ext : {".json", ".csv"}) {
    std::string a = dir_->file(std::string("a") + ext), b = dir_->file(std::string("b") + ext);
    ASSERT_EQ(engine(randomUniverse({"--results", a})).code, 0);
    ASSERT_EQ(engine(randomUniverse({"--results", b})).code, 0);
    EXPECT_EQ(readFile(a), readFile(b)) << ext;
    EXPECT_GT(readFile(a).size(), 1000u);
  }
}

TEST_F(EngineCli, SweepInWorkersEqualsSweepInOneProcess) {
  std::string one = dir_->file("one.json"), four = dir_->file("four.json");
  ProcessResult r1 = engine(randomUniverse({"--sweep", "hold=2,3,5,8", "--results", one}));
  ProcessResult r4 = engine(randomUniverse({"--sweep", "hold=2,3,5,8", "--workers", "4", "--results", four}));
  ASSERT_EQ(r1.code, 0) << r1.err;
  ASSERT_EQ(r4.code, 0) << r4.err;
  EXPECT_EQ(readFile(one), readFile(four));
  auto doc = nlohmann::json::parse(readFile(four));
  ASSERT_EQ(doc["runs"].size(), 4u);
  EXPECT_EQ(doc["runs"][2]["label"], "hold=5");
  EXPECT_EQ(doc["runs"][2]["params"]["hold"], 5.0);
  EXPECT_NE(r4.out.find("4 runs in"), std::string::npos) << r4.out;
}

TEST_F(EngineCli, GeneratesAndReusesABundleWhenNoneIsGiven) {
  TempDir cache;
  std::vector<std::string> args = {
      "run",     "--bundle-cache", cache.path(), "--assets",           "30", "--days", "15",
      "--param", "lookback=10",    "--results",  cache.file("r1.json")};
  ProcessResult first = engine(args);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.err.find("generating 30 assets x 25 sessions of daily bars"), std::string::npos) << first.err;
  args.back() = cache.file("r2.json");
  ProcessResult second = engine(args);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.err.find("generating"), std::string::npos) << second.err;
  EXPECT_EQ(readFile(cache.file("r1.json")), readFile(cache.file("r2.json")));
}

TEST_F(EngineCli, FaultsDoWhatTheySay) {
  std::string results = dir_->file("faults.json");
  ProcessResult r = engine(randomUniverse({"--fault", "leak-per-day", "--leak-bytes-per-day", "4096", "--fault",
                                           "leak-cycles", "--fault", "spike", "--spike-bytes", "1048576", "--fault",
                                           "unbounded-cache", "--history-cache-assets", "5", "--results", results}),
                           kNoLeakCheck);
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(readFile(results));
  const auto& s = doc["runs"][0]["summary"];
  EXPECT_EQ(s["leaked_bytes"], 70 * 4096);  // 90 sessions - 20 of warm-up
  EXPECT_EQ(s["spike_bytes"], 1048576);
  EXPECT_EQ(s["history_cache_daily"]["evictions"], 0);
  EXPECT_GT(s["history_cache_daily"]["peak_assets"], 5);
  auto faults = doc["runs"][0]["config"]["faults"];
  EXPECT_EQ(faults.size(), 4u);
  EXPECT_NE(r.out.find("faults: unbounded-cache, leak-cycles, leak-per-day, spike; leaked 0.3 MiB; spike 1.0 MiB"),
            std::string::npos)
      << r.out;
  // Faults change memory, not results.
  std::string clean = dir_->file("clean.json");
  ASSERT_EQ(engine(randomUniverse({"--results", clean})).code, 0);
  EXPECT_EQ(nlohmann::json::parse(readFile(clean))["runs"][0]["daily"], doc["runs"][0]["daily"]);
}

// Bad input: exit code 2, one line on stderr that says what is wrong, nothing on stdout.
TEST_F(EngineCli, BadInputGetsOneLine) {
  std::string garbage = dir_->file("garbage.bundle");
  tmengine::writeFile(garbage, std::string(10000, 'g'));
  std::string truncated = dir_->file("truncated.bundle");
  tmengine::writeFile(truncated, readFile(daily()).substr(0, 20000));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"run", "--no-such-flag"}, "The following argument was not expected: --no-such-flag"},
      {{"frobnicate"}, "A subcommand is required"},
      {{"run", "--bundle", "/no/such.bundle"}, "cannot open bundle /no/such.bundle: No such file or directory"},
      {{"run", "--bundle", garbage}, "not a tidemark bundle"},
      {{"run", "--bundle", truncated}, "truncated: 20000 bytes"},
      {{"info", truncated}, "truncated: 20000 bytes"},
      {{"run", "--bundle", daily(), "--strategy", "yolo"}, "unknown strategy 'yolo'"},
      {{"run", "--bundle", daily(), "--fault", "gremlins"}, "unknown fault 'gremlins'"},
      {{"run", "--bundle", daily(), "--param", "lookback"}, "bad parameter 'lookback' (expected NAME=NUMBER)"},
      {{"run", "--bundle", daily(), "--param", "color=3"}, "unknown strategy parameter 'color'"},
      {{"run", "--bundle", daily(), "--param", "lookback=1.5"}, "must be a whole number"},
      {{"run", "--bundle", daily(), "--sweep", "hold="}, "--sweep hold= has no values"},
      {{"run", "--bundle", daily(), "--results", "out.txt"}, "must end in .json or .csv"},
      {{"run", "--bundle", daily(), "--start", "2031-01-01"}, "no session to simulate"},
      {{"run", "--bundle", daily(), "--start", "2020-02-30"}, "bad date '2020-02-30'"},
      {{"run", "--bundle", daily(), "--strategy", "mean-reversion"}, "trades minute bars"},
      {{"run", "--bundle", daily(), "--data-frequency", "1m"}, "has daily bars only"},
      {{"run", "--bundle", daily(), "--slippage", "magic"}, "unknown slippage model 'magic'"},
      {{"run", "--bundle", daily(), "--workers", "0"}, "--workers must be between 1 and 256"},
      {{"run", "--bundle", daily(), "--fault", "spike", "--spike-date", "2019-01-02"}, "is outside the simulated"},
      {{"run", "--bundle", daily(), "--history-cache-assets", "-3"}, "--history-cache-assets"},
      {{"ingest", "--assets", "0", "-o", "x"}, "--assets"},
      {{"ingest-csv", "/no/such/dir", "-o", "x"}, "/no/such/dir: not a directory"},
  };
  for (const Case& c : cases) {
    ProcessResult r = engine(c.args);
    std::string cmd;
    for (const auto& a : c.args) cmd += a + " ";
    EXPECT_EQ(r.code, 2) << cmd << r.err;
    EXPECT_EQ(lineCount(r.err), 1) << cmd << r.err;
    EXPECT_EQ(r.err.rfind("tidemark-engine: ", 0), 0u) << cmd << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << cmd << r.err;
    EXPECT_EQ(r.out, "") << cmd;
  }
}

TEST_F(EngineCli, HelpListsTheOptionsTable) {
  ProcessResult r = engine({"run", "--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--history-cache-assets", "--history-cache-bytes", "--pipeline-first-chunk", "--fault",
                           "--leak-bytes-per-day", "--spike-date", "--workers", "--sweep", "--results"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  ProcessResult s = engine({"strategies"});
  EXPECT_EQ(s.code, 0);
  EXPECT_NE(s.out.find("--param universe=50"), std::string::npos) << s.out;
}

}  // namespace
