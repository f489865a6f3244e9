// Whole simulations: same seed, same results; workers change nothing; accounting adds up; the
// pipeline and the caches behave inside a run.
#include "run/simulation.h"

#include <gtest/gtest.h>

#include "algo/strategy_registry.h"
#include "data/bar_generator.h"
#include "data/bundle.h"
#include "error.h"
#include "run/results.h"
#include "run/workers.h"
#include "test_support.h"

using namespace tidemark::engine;

namespace {

class SimulationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new tmengine::TempDir;
    GeneratorConfig daily;
    daily.assets = 80;
    daily.sessions = 160;
    daily.seed = 3;
    daily.minute_bars = false;
    generateBundle(daily, dir_->file("daily.bundle"));
    GeneratorConfig minute;
    minute.assets = 12;
    minute.sessions = 8;
    minute.seed = 4;
    generateBundle(minute, dir_->file("minute.bundle"));
    daily_ = new Bundle(dir_->file("daily.bundle"));
    minute_ = new Bundle(dir_->file("minute.bundle"));
  }
  static void TearDownTestSuite() {
    delete daily_;
    delete minute_;
    delete dir_;
  }

  static SimulationConfig config(const std::string& strategy, const Bundle& bundle,
                                 std::vector<std::pair<std::string, double>> params = {}) {
    const StrategyInfo& info = findStrategy(strategy);
    SimulationConfig c;
    c.strategy = strategy;
    c.params = StrategyParams(info.params);
    for (const auto& [name, value] : params) c.params.set(name, value);
    c.frequency = bundle.hasMinuteBars() ? Frequency::Minute : Frequency::Daily;
    c.run = {info.warmup(c.params), bundle.sessionCount()};
    c.progress = false;
    return c;
  }
  static SimulationConfig randomUniverse() {
    return config("random-universe", *daily_, {{"universe", 20}, {"lookback", 30}, {"hold", 5}});
  }
  static std::string json(const RunResult& r) { return runResultJson(r).dump(); }

  static tmengine::TempDir* dir_;
  static Bundle* daily_;
  static Bundle* minute_;
};

tmengine::TempDir* SimulationTest::dir_ = nullptr;
Bundle* SimulationTest::daily_ = nullptr;
Bundle* SimulationTest::minute_ = nullptr;

TEST_F(SimulationTest, SameSeedSameResults) {
  SimulationConfig c = randomUniverse();
  RunResult a = runSimulation(*daily_, c), b = runSimulation(*daily_, c);
  EXPECT_EQ(json(a), json(b));
  EXPECT_GT(a.summary.fills, 100u);
  c.seed = 2;
  EXPECT_NE(json(runSimulation(*daily_, c)), json(a));
}

TEST_F(SimulationTest, DailyProfitAndLossAddUpToTheTick) {
  for (SimulationConfig c : {randomUniverse(), config("momentum", *daily_, {{"top-n", 5}, {"returns-window", 20}}),
                             config("mean-reversion", *minute_, {{"liquidity-days", 2}, {"assets", 6}})}) {
    RunResult r = runSimulation(c.frequency == Frequency::Minute ? *minute_ : *daily_, c);
    Money sum;
    for (const DailyRecord& d : r.days) sum += d.pnl;
    EXPECT_EQ(sum, r.summary.final_value - r.summary.starting_value) << c.strategy;
    EXPECT_EQ(r.summary.pnl, r.summary.final_value - c.capital) << c.strategy;
    EXPECT_EQ(r.days.size(), c.run.size()) << c.strategy;
    EXPECT_GT(r.summary.fills, 0u) << c.strategy;
  }
}

TEST_F(SimulationTest, ResultsSurviveTheWorkersPipe) {
  RunResult r = runSimulation(*daily_, randomUniverse());
  EXPECT_EQ(runResultJson(runResultFromJson(runResultJson(r))).dump(), json(r));
}

TEST_F(SimulationTest, WorkersGiveTheSameResultsAsOneProcess) {
  std::vector<SimulationConfig> sweep;
  for (double hold : {2.0, 4.0, 6.0}) {
    SimulationConfig c = randomUniverse();
    c.params.set("hold", hold);
    c.label = "hold=" + std::to_string(hold);
    sweep.push_back(c);
  }
  std::vector<RunResult> one = runAll(*daily_, sweep, 1), forked = runAll(*daily_, sweep, 2);
  ASSERT_EQ(forked.size(), 3u);
  EXPECT_EQ(resultsDocument(*daily_, sweep, one).dump(), resultsDocument(*daily_, sweep, forked).dump());
  EXPECT_NE(json(one[0]), json(one[1]));
  EXPECT_EQ(resultsCsv(one), resultsCsv(forked));
}

TEST_F(SimulationTest, WorkerErrorsReachTheParent) {
  SimulationConfig bad = randomUniverse();
  bad.run = {5, 1000};  // past the bundle's end
  std::vector<SimulationConfig> sweep = {randomUniverse(), bad};
  try {
    runAll(*daily_, sweep, 2);
    FAIL() << "no error";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no session"), std::string::npos) << e.what();
  }
}

TEST_F(SimulationTest, PipelineChunksFollowTheSchedule) {
  SimulationConfig c = config("momentum", *daily_, {{"top-n", 5}, {"returns-window", 20}});
  c.pipeline_chunk = 30;
  RunResult r = runSimulation(*daily_, c);
  // 160 - 51 warm-up = 109 sessions: 5, 30, 30, 30, 14.
  EXPECT_EQ(c.run.size(), 109u);
  EXPECT_EQ(r.summary.pipeline_chunks, 5u);
  EXPECT_GT(r.summary.pipeline_peak_bytes, 0u);
}

TEST_F(SimulationTest, HistoryCacheBoundHoldsInARun) {
  SimulationConfig c = randomUniverse();
  c.portal.cache.max_assets = 10;
  RunResult bounded = runSimulation(*daily_, c);
  EXPECT_EQ(bounded.summary.daily_cache.peak_assets, 10u);
  EXPECT_GT(bounded.summary.daily_cache.evictions, 0u);
  c.portal.cache.max_assets = 0;
  RunResult unbounded = runSimulation(*daily_, c);
  EXPECT_GT(unbounded.summary.daily_cache.peak_assets, 60u);
  EXPECT_EQ(unbounded.summary.daily_cache.evictions, 0u);
  EXPECT_GT(unbounded.summary.daily_cache.peak_bytes, bounded.summary.daily_cache.peak_bytes * 5);
  // The cache changes memory, not results.
  EXPECT_EQ(runResultJson(bounded)["daily"].dump(), runResultJson(unbounded)["daily"].dump());
  c.portal.cache.max_assets = 10;
  c.faults.unbounded_cache = true;
  EXPECT_EQ(runSimulation(*daily_, c).summary.daily_cache.evictions, 0u);
}

TEST_F(SimulationTest, MinuteStrategiesNeedMinuteBars) {
  SimulationConfig c = config("mean-reversion", *daily_);
  EXPECT_THROW(runSimulation(*daily_, c), EngineError);
}

TEST_F(SimulationTest, DailyOrdersFillAtTheNextBar) {
  SimulationConfig c = config("buy-and-hold", *daily_, {{"assets", 3}});
  RunResult r = runSimulation(*daily_, c);
  // Ordered at the first session's bar, filled at the second's, and never traded again.
  EXPECT_EQ(r.days[0].orders, 3u);
  EXPECT_EQ(r.days[0].fills, 0u);
  EXPECT_EQ(r.days[0].positions, 0u);
  EXPECT_GE(r.days[1].fills, 3u);
  EXPECT_EQ(r.days[1].positions, 3u);
  EXPECT_EQ(r.summary.orders, 3u);
}

}  // namespace
