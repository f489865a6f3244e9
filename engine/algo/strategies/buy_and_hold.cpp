// buy-and-hold: buys an equal-weight basket at the first bar and holds it. It trades almost
// nothing, so a run measures the engine's own bar loop.
#include "algo/strategy_registry.h"

namespace tidemark::engine {

namespace {

class BuyAndHold final : public Algorithm {
 public:
  explicit BuyAndHold(const StrategyParams& p) : assets_(p.count("assets")) {}

  void initialize(TradingContext&) override {}

  // At the first bar, when the first prices are known (orders fill from the next bar).
  void handleData(TradingContext& context, DataPortal& data) override {
    if (bought_) return;
    std::vector<AssetId> basket;
    for (uint32_t a = 0; a < data.assetCount() && basket.size() < assets_; ++a)
      if (data.canTrade(assetId(a))) basket.push_back(assetId(a));
    for (AssetId a : basket) context.orderTargetPercent(a, 0.98 / static_cast<double>(basket.size()));
    bought_ = !basket.empty();
  }

 private:
  uint32_t assets_;
  bool bought_ = false;
};

}  // namespace

StrategyInfo buyAndHoldStrategy() {
  StrategyInfo s;
  s.name = "buy-and-hold";
  s.description = "an equal-weight basket bought at the first bar and held (measures the bar loop)";
  s.bundle_frequency = Frequency::Minute;
  s.bundle_assets = 500;
  s.bundle_days = 252;
  s.needs_minute_bars = false;
  s.params = {{"assets", 10, "names in the basket: the first that trade"}};
  s.warmup = [](const StrategyParams&) { return 0u; };
  s.make = [](const StrategyParams& p) { return std::make_unique<BuyAndHold>(p); };
  return s;
}

}  // namespace tidemark::engine
