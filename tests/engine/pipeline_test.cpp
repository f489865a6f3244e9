// The pipeline: the 5-then-126 chunk schedule, lazy chunk computation, factor values by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "data/bundle.h"
#include "data/calendar.h"
#include "error.h"
#include "pipeline/pipeline_engine.h"
#include "test_support.h"

using namespace tidemark::engine;
using tmengine::TempDir;

namespace {

using Ranges = std::vector<SessionRange>;

TEST(PipelineChunks, FirstFiveThenChunksOf126) {
  EXPECT_EQ(pipelineChunks(0, 300, 5, 126), (Ranges{{0, 5}, {5, 131}, {131, 257}, {257, 300}}));
  EXPECT_EQ(pipelineChunks(150, 412, 5, 126), (Ranges{{150, 155}, {155, 281}, {281, 407}, {407, 412}}));
  EXPECT_EQ(pipelineChunks(0, 131, 5, 126), (Ranges{{0, 5}, {5, 131}}));
  EXPECT_EQ(pipelineChunks(0, 3, 5, 126), (Ranges{{0, 3}}));
  EXPECT_TRUE(pipelineChunks(7, 7, 5, 126).empty());
}

TEST(PipelineChunks, SizesAreConfigurable) {
  EXPECT_EQ(pipelineChunks(0, 10, 1, 4), (Ranges{{0, 1}, {1, 5}, {5, 9}, {9, 10}}));
  EXPECT_THROW(pipelineChunks(0, 10, 0, 4), EngineError);
  EXPECT_THROW(pipelineChunks(0, 10, 5, 0), EngineError);
}

// Three assets over 40 sessions: one rises a dollar a day, one falls a cent a day, one never moves.
class PipelineOnHandMadeBundle : public ::testing::Test {
 protected:
  static double close(uint32_t asset, uint64_t s) {
    switch (asset) {
      case 0:
        return 10.0 + s;
      case 1:
        return 100.0 - 0.01 * s;
      default:
        return 50.0;
    }
  }
  void SetUp() override {
    tmengine::writeTestBundle(dir_.file("b.bundle"), tradingSessions(Date::fromCivil(2024, 1, 2), 40), 3, false,
                              [](uint32_t a, uint64_t s) {
                                double c = close(a, s);
                                return tmengine::TestBar{c, c, c, c, 1000000};
                              });
    bundle_ = std::make_unique<Bundle>(dir_.file("b.bundle"));
    spec_.returns_window = 5;
    spec_.sma_short = 3;
    spec_.sma_long = 5;
    spec_.volatility_window = 3;
    spec_.liquidity_window = 3;
    spec_.top_n = 1;
    spec_.min_price = 1;
    spec_.min_dollar_volume = 0;
  }
  TempDir dir_;
  std::unique_ptr<Bundle> bundle_;
  PipelineSpec spec_;
};

TEST_F(PipelineOnHandMadeBundle, ChunksAreComputedWhenTheSimulationEntersThem) {
  PipelineEngine engine(*bundle_, spec_, {10, 40}, 5, 126);
  EXPECT_EQ(engine.schedule(), (Ranges{{10, 15}, {15, 40}}));
  EXPECT_EQ(engine.chunksComputed(), 0u);
  for (uint32_t s = 10; s < 15; ++s) EXPECT_EQ(engine.outputFor(s).sessions(), (SessionRange{10, 15}));
  EXPECT_EQ(engine.chunksComputed(), 1u);
  EXPECT_EQ(engine.outputFor(15).sessions(), (SessionRange{15, 40}));
  for (uint32_t s = 16; s < 40; ++s) engine.outputFor(s);
  EXPECT_EQ(engine.chunksComputed(), 2u);
  EXPECT_THROW(engine.outputFor(40), EngineError);
}

TEST_F(PipelineOnHandMadeBundle, FactorsUseBarsUpToTheDayBefore) {
  PipelineEngine engine(*bundle_, spec_, {10, 40}, 5, 126);
  const PipelineChunk& c = engine.outputFor(20);
  // Session 20 sees closes of sessions 15..19.
  EXPECT_DOUBLE_EQ(c.value(Factor::SmaShort, 20, assetId(0)), (27.0 + 28.0 + 29.0) / 3);
  EXPECT_DOUBLE_EQ(c.value(Factor::SmaLong, 20, assetId(0)), (25.0 + 26 + 27 + 28 + 29) / 5);
  EXPECT_DOUBLE_EQ(c.value(Factor::TrailingReturn, 20, assetId(0)), 29.0 / 24.0 - 1.0);
  EXPECT_NEAR(c.value(Factor::TrailingReturn, 20, assetId(1)), 99.81 / 99.86 - 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(c.value(Factor::DollarVolume, 20, assetId(2)), 50.0 * 1e6);
  EXPECT_DOUBLE_EQ(c.value(Factor::Volatility, 20, assetId(2)), 0.0);
  // The rising asset ranks first, the falling one second; the flat one has no score (no volatility).
  EXPECT_EQ(c.value(Factor::Rank, 20, assetId(0)), 1.0);
  EXPECT_EQ(c.value(Factor::Rank, 20, assetId(1)), 2.0);
  EXPECT_TRUE(std::isnan(c.value(Factor::Rank, 20, assetId(2))));
  ASSERT_EQ(c.top(20).size(), 1u);
  EXPECT_EQ(c.top(20)[0], assetId(0));
}

TEST_F(PipelineOnHandMadeBundle, TooLittleHistoryGivesNaN) {
  PipelineEngine engine(*bundle_, spec_, {0, 40}, 5, 126);
  const PipelineChunk& c = engine.outputFor(0);
  EXPECT_TRUE(std::isnan(c.value(Factor::SmaShort, 0, assetId(0))));        // no bar before session 0
  EXPECT_TRUE(std::isnan(c.value(Factor::TrailingReturn, 3, assetId(0))));  // 3 bars < 5 + 1
  EXPECT_DOUBLE_EQ(c.value(Factor::SmaShort, 3, assetId(0)), 11.0);         // closes 10, 11, 12
  EXPECT_TRUE(c.top(0).empty());
}

}  // namespace
