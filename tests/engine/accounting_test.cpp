// Orders, fills, slippage, commission and the ledger, to the cent; the order/fill cycle.
#include <gtest/gtest.h>

#include "data/bundle.h"
#include "data/calendar.h"
#include "data/data_portal.h"
#include "execution/blotter.h"
#include "portfolio/ledger.h"
#include "test_support.h"

using namespace tidemark::engine;
using tmengine::TempDir;

namespace {

Money dollars(double d) { return Money::fromDollars(d); }

TEST(Money, FormatsToTheCent) {
  EXPECT_EQ(dollars(1234567.891).str(), "$1,234,567.89");
  EXPECT_EQ(dollars(-0.105).str(), "-$0.11");  // halves away from zero
  EXPECT_EQ(dollars(0.004).str(), "$0.00");
  EXPECT_EQ(dollars(999.995).str(), "$1,000.00");
  EXPECT_EQ(Money::fromTicks(10).cents(), 0);
  EXPECT_EQ((dollars(10.005) * 100).ticks(), 10005000);
}

// Two assets at a flat $10.00 (asset 1: $20.00), 10,000 shares every minute, for three sessions.
class AccountingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmengine::writeTestBundle(dir_.file("flat.bundle"), tradingSessions(Date::fromCivil(2024, 1, 2), 3), 2, true,
                              [](uint32_t a, uint64_t) {
                                double p = a == 0 ? 10.0 : 20.0;
                                return tmengine::TestBar{p, p, p, p, 10000};
                              });
    bundle_ = std::make_unique<Bundle>(dir_.file("flat.bundle"));
    portal_ = std::make_unique<DataPortal>(*bundle_, Frequency::Minute, DataPortalConfig{});
    portal_->startSession(0);
  }

  // Advances to minute m of session 0 and fills what the bar allows.
  void bar(Blotter& blotter, Ledger& ledger, uint32_t m) {
    portal_->advanceBar(m);
    blotter.processBar(m + 1, *portal_, [&](const Fill& f) {
      ledger.apply(f);
      fills_.push_back({f.amount, f.price, f.commission});
    });
  }

  struct Seen {
    int64_t amount;
    Money price, commission;
  };
  TempDir dir_;
  std::unique_ptr<Bundle> bundle_;
  std::unique_ptr<DataPortal> portal_;
  std::vector<Seen> fills_;
};

TEST_F(AccountingTest, BuyAndSellWithFixedBasisPointsToTheCent) {
  Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.1), PerShareCommission{});
  Ledger ledger(dollars(1000000));
  blotter.place(assetId(0), 100, 0);
  bar(blotter, ledger, 0);
  ASSERT_EQ(fills_.size(), 1u);
  EXPECT_EQ(fills_[0].price, dollars(10.005));  // $10.00 + 5 bps
  EXPECT_EQ(fills_[0].commission, dollars(0.10));
  EXPECT_EQ(ledger.cash(), dollars(998999.40));  // 1,000,000 - 1,000.50 - 0.10
  EXPECT_EQ(ledger.shares(assetId(0)), 100);
  EXPECT_EQ(ledger.positions().at(assetId(0)).cost_basis, dollars(10.005));
  EXPECT_EQ(ledger.portfolioValue(*portal_), dollars(999999.40));  // marked at $10.00

  blotter.place(assetId(0), -100, 1);
  bar(blotter, ledger, 1);
  ASSERT_EQ(fills_.size(), 2u);
  EXPECT_EQ(fills_[1].price, dollars(9.995));
  EXPECT_EQ(ledger.cash(), dollars(999998.80));  // + 999.50 - 0.10
  EXPECT_TRUE(ledger.positions().empty());
  EXPECT_EQ(ledger.commissions(), dollars(0.20));
  EXPECT_EQ(ledger.portfolioValue(*portal_).str(), "$999,998.80");
}

TEST_F(AccountingTest, AnOrderPlacedInABarFillsFromTheNext) {
  Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.1), PerShareCommission{});
  Ledger ledger(dollars(1000));
  portal_->advanceBar(0);
  blotter.place(assetId(0), 10, 1);  // placed during bar 1
  blotter.processBar(1, *portal_, [&](const Fill&) { FAIL() << "filled in its own bar"; });
  bar(blotter, ledger, 1);  // bar 2
  EXPECT_EQ(ledger.shares(assetId(0)), 10);
}

TEST_F(AccountingTest, VolumeLimitSplitsAnOrderAcrossBars) {
  Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.1), PerShareCommission{});
  Ledger ledger(dollars(1000000));
  blotter.place(assetId(0), 2500, 0);  // 10% of 10,000 shares = 1,000 a bar
  for (uint32_t m = 0; m < 4; ++m) bar(blotter, ledger, m);
  ASSERT_EQ(fills_.size(), 3u);
  EXPECT_EQ(fills_[0].amount, 1000);
  EXPECT_EQ(fills_[1].amount, 1000);
  EXPECT_EQ(fills_[2].amount, 500);
  EXPECT_EQ(blotter.openOrders(), 0u);
  EXPECT_EQ(ledger.cash(), dollars(1000000 - 25012.50 - 2.50));
  EXPECT_EQ(blotter.stats().fills, 3u);
  EXPECT_EQ(blotter.stats().shares, 2500u);
}

TEST_F(AccountingTest, TwoOrdersShareOneBarsVolume) {
  Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.1), PerShareCommission{});
  Ledger ledger(dollars(1000000));
  blotter.place(assetId(0), 800, 0);
  blotter.place(assetId(0), 800, 0);
  bar(blotter, ledger, 0);
  ASSERT_EQ(fills_.size(), 2u);
  EXPECT_EQ(fills_[0].amount, 800);
  EXPECT_EQ(fills_[1].amount, 200);
  EXPECT_EQ(blotter.openAmount(assetId(0)), 600);
}

TEST_F(AccountingTest, VolumeShareImpactIsQuadratic) {
  Blotter blotter(std::make_unique<VolumeShareSlippage>(0.025, 0.1), PerShareCommission{});
  Ledger ledger(dollars(1000000));
  blotter.place(assetId(1), 100, 0);   // 1% of the bar: impact 0.01^2 * 0.1 = 0.001% of $20.00
  blotter.place(assetId(0), -400, 0);  // capped at 250 (2.5%): 0.025^2 * 0.1 of $10.00, down
  bar(blotter, ledger, 0);
  ASSERT_EQ(fills_.size(), 2u);
  EXPECT_EQ(fills_[0].price, dollars(20.0002));
  EXPECT_EQ(fills_[1].amount, -250);
  EXPECT_EQ(fills_[1].price, Money::fromTicks(100000 - 6));  // 6.25 ticks, rounded
  EXPECT_EQ(ledger.cash(), dollars(1000000) - dollars(2000.02) + Money::fromTicks(99994 * 250) - dollars(0.35));
}

TEST_F(AccountingTest, MinimumCommissionIsPerOrder) {
  PerShareCommission commission{dollars(0.001), dollars(1.00)};
  Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(0.0, 0.1), commission);
  Ledger ledger(dollars(100000));
  blotter.place(assetId(0), 100, 0);   // $0.10 by the share: pays the $1.00 minimum
  blotter.place(assetId(1), 2500, 0);  // 3 fills: $1.00 (minimum), $1.00, $0.50
  for (uint32_t m = 0; m < 3; ++m) bar(blotter, ledger, m);
  ASSERT_EQ(fills_.size(), 4u);
  EXPECT_EQ(fills_[0].commission, dollars(1.00));
  EXPECT_EQ(fills_[1].commission, dollars(1.00));
  EXPECT_EQ(fills_[2].commission, dollars(1.00));
  EXPECT_EQ(fills_[3].commission, dollars(0.50));
  EXPECT_EQ(ledger.commissions(), dollars(3.50));
  EXPECT_EQ(ledger.cash(), dollars(100000 - 1000 - 50000 - 3.50));
}

TEST_F(AccountingTest, CostBasisAveragesAndFlips) {
  Ledger ledger(dollars(100000));
  auto order = makeOrder(OrderId{1}, assetId(0), 0, 0);
  auto fill = [&](int64_t amount, double price) { ledger.apply(*makeFill(order, amount, dollars(price), Money(), 0)); };
  fill(100, 10.00);
  fill(100, 12.00);
  EXPECT_EQ(ledger.positions().at(assetId(0)).cost_basis, dollars(11.00));
  fill(-50, 13.00);  // a partial sale keeps the average
  EXPECT_EQ(ledger.positions().at(assetId(0)).cost_basis, dollars(11.00));
  EXPECT_EQ(ledger.shares(assetId(0)), 150);
  fill(-200, 9.00);  // through zero: short 50 at the sale price
  EXPECT_EQ(ledger.shares(assetId(0)), -50);
  EXPECT_EQ(ledger.positions().at(assetId(0)).cost_basis, dollars(9.00));
  EXPECT_EQ(ledger.cash(), dollars(100000 - 1000 - 1200 + 650 + 1800));
  ledger.liquidate(assetId(0), dollars(8.00));
  EXPECT_EQ(ledger.cash(), dollars(100000 - 1000 - 1200 + 650 + 1800 - 400));
  order->releaseFills();
}

TEST_F(AccountingTest, EndOfSessionCancelsWhatHadABarToFill) {
  Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.001), PerShareCommission{});
  Ledger ledger(dollars(1000000));
  blotter.place(assetId(0), 1000, 0);  // 10 shares a bar: never completes
  bar(blotter, ledger, 0);
  blotter.place(assetId(1), 5, 1);  // placed in the last bar: waits for the next one
  blotter.endOfSession(1);
  EXPECT_EQ(blotter.stats().cancelled, 1u);
  EXPECT_EQ(blotter.openOrders(), 1u);
  EXPECT_EQ(blotter.openAmount(assetId(1)), 5);
}

TEST_F(AccountingTest, ClosedOrdersAndFillsAreFreed) {
  std::weak_ptr<Order> order;
  std::weak_ptr<Fill> fill;
  {
    Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.1), PerShareCommission{});
    Ledger ledger(dollars(1000000));
    blotter.place(assetId(0), 100, 0);
    portal_->advanceBar(0);
    blotter.processBar(1, *portal_, [&](const Fill& f) {
      order = f.order;
      fill = f.order->fills.back();
    });
    EXPECT_FALSE(order.expired());
    blotter.endOfSession(1);
    EXPECT_TRUE(order.expired());
    EXPECT_TRUE(fill.expired());
  }
}

TEST_F(AccountingTest, TheLeakCyclesFaultKeepsOrderAndFillAlive) {
  std::weak_ptr<Order> order;
  {
    Blotter blotter(std::make_unique<FixedBasisPointsSlippage>(5.0, 0.1), PerShareCommission{},
                    /*break_cycles=*/false);
    blotter.place(assetId(0), 100, 0);
    portal_->advanceBar(0);
    blotter.processBar(1, *portal_, [&](const Fill& f) { order = f.order; });
    blotter.endOfSession(1);
  }
  // Nothing outside holds them, yet they are alive: each keeps the other.
  ASSERT_FALSE(order.expired());
  auto o = order.lock();
  EXPECT_EQ(o.use_count(), 2);  // ours and the fill's
  EXPECT_EQ(o->fills.size(), 1u);
  o->releaseFills();  // break it, so the test itself does not leak
  o.reset();
  EXPECT_TRUE(order.expired());
}

}  // namespace
