// The data portal: current and history at both frequencies, as the clock moves.
#include "data/data_portal.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/bundle.h"
#include "data/calendar.h"
#include "error.h"
#include "test_support.h"

using namespace tidemark::engine;

namespace {

// One asset over 3 sessions of minute bars: close = 10 + bar / 100 dollars, nothing traded in
// every minute whose index is 3 mod 7; volume = 100 + minute of the session.
class DataPortalTest : public ::testing::Test {
 protected:
  static double close(uint64_t bar) { return 10.0 + bar / 100.0; }
  static bool traded(uint64_t bar) { return bar % 7 != 3; }
  static double close_of_session(uint32_t s) {
    uint64_t bar = uint64_t{s} * kMinutesPerSession + kMinutesPerSession - 1;
    while (!traded(bar)) --bar;
    return close(bar);
  }
  void SetUp() override {
    tmengine::writeTestBundle(dir_.file("m.bundle"), tradingSessions(Date::fromCivil(2024, 1, 2), 3), 1, true,
                              [](uint32_t, uint64_t bar) {
                                if (!traded(bar)) return tmengine::TestBar{0, 0, 0, 0, 0};
                                double c = close(bar);
                                return tmengine::TestBar{c - 0.005, c + 0.02, c - 0.02, c,
                                                         static_cast<uint32_t>(100 + bar % kMinutesPerSession)};
                              });
    bundle_ = std::make_unique<Bundle>(dir_.file("m.bundle"));
  }
  tmengine::TempDir dir_;
  std::unique_ptr<Bundle> bundle_;
  const AssetId a_ = assetId(0);
  const std::vector<AssetId> assets_ = {assetId(0)};
};

TEST_F(DataPortalTest, MinuteHistoryEndsAtTheCurrentBar) {
  DataPortal p(*bundle_, Frequency::Minute, {});
  p.startSession(1);
  for (uint32_t m = 0; m <= 8; ++m) p.advanceBar(m);
  const Field fields[] = {Field::Close, Field::Price, Field::Volume};
  HistoryFrame f = p.history(assets_, fields, 5, Frequency::Minute);
  const uint64_t g = 390 + 8;  // bars 394 .. 398, of which 395 did not trade
  for (uint64_t i = 0; i < 5; ++i) {
    uint64_t bar = g - 4 + i;
    if (traded(bar)) {
      EXPECT_NEAR(f.series(0, 0)[i], close(bar), 1e-9);
      EXPECT_EQ(f.series(2, 0)[i], 100.0 + bar % 390);
    } else {
      EXPECT_TRUE(std::isnan(f.series(0, 0)[i]));  // close: nothing traded
      EXPECT_TRUE(std::isnan(f.series(2, 0)[i]));
      EXPECT_NEAR(f.series(1, 0)[i], close(bar - 1), 1e-9);  // price: carried forward
    }
  }
  EXPECT_NEAR(p.current(a_, Field::Close), close(g), 1e-9);
}

TEST_F(DataPortalTest, DailyHistoryInMinuteModeEndsWithTodaySoFar) {
  DataPortal p(*bundle_, Frequency::Minute, {});
  p.startSession(1);
  const Field fields[] = {Field::Open, Field::Close, Field::Volume, Field::High};
  // Before the first bar: yesterday is the last row; the day before the bundle is NaN.
  HistoryFrame before = p.history(assets_, fields, 3, Frequency::Daily);
  EXPECT_TRUE(std::isnan(before.series(0, 0)[0]));
  EXPECT_TRUE(std::isnan(before.series(0, 0)[1]));
  EXPECT_NEAR(before.series(1, 0)[2], close(389), 1e-9);
  for (uint32_t m = 0; m <= 4; ++m) p.advanceBar(m);
  HistoryFrame after = p.history(assets_, fields, 2, Frequency::Daily);
  EXPECT_NEAR(after.series(1, 0)[0], close(389), 1e-9);  // yesterday's close
  // Today so far: minutes 0..4 are bars 390..394, all traded.
  EXPECT_NEAR(after.series(0, 0)[1], close(390) - 0.005, 1e-9);
  EXPECT_NEAR(after.series(1, 0)[1], close(394), 1e-9);
  EXPECT_EQ(after.series(2, 0)[1], 100.0 + 101 + 102 + 103 + 104);
  EXPECT_NEAR(after.series(3, 0)[1], close(394) + 0.02, 1e-9);
}

TEST_F(DataPortalTest, DailyModeSeesTheSessionBarOnlyOnceItIsPast) {
  DataPortal p(*bundle_, Frequency::Daily, {});
  p.primeLastPrices(2);
  p.startSession(2);
  const Field kClose[] = {Field::Close};
  EXPECT_NEAR(p.history(assets_, kClose, 1, Frequency::Daily).series(0, 0)[0], close_of_session(1), 1e-9);
  EXPECT_NEAR(p.current(a_, Field::Close), close_of_session(1), 1e-9);  // before the bar: yesterday's
  EXPECT_NEAR(p.current(a_, Field::Price), close_of_session(1), 1e-9);  // primed
  p.advanceBar(0);
  EXPECT_NEAR(p.history(assets_, kClose, 1, Frequency::Daily).series(0, 0)[0], close_of_session(2), 1e-9);
  EXPECT_NEAR(p.current(a_, Field::Close), close_of_session(2), 1e-9);
  EXPECT_EQ(p.barEvents(), 1u);
  // Minute history from a daily-mode run: the minutes up to the session's close.
  HistoryFrame m = p.history(assets_, kClose, 2, Frequency::Minute);
  EXPECT_NEAR(m.series(0, 0)[1], close(3 * 390 - 1), 1e-9);
}

TEST_F(DataPortalTest, CanTradeNeedsAPrice) {
  DataPortal p(*bundle_, Frequency::Minute, {});
  p.startSession(0);
  EXPECT_FALSE(p.canTrade(a_));  // nothing seen yet
  p.advanceBar(0);
  EXPECT_TRUE(p.canTrade(a_));
  EXPECT_THROW(p.history(assets_, std::vector<Field>{Field::Close}, 0, Frequency::Daily), EngineError);
}

}  // namespace
