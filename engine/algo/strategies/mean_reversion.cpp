// mean-reversion: intraday, on the most liquid names. Every few minutes, the z-score of the last
// price against a short trailing window of minute bars: buy a stretched fall, short a stretched
// rise, close when the price is back near its mean, and flat before the close.
#include <algorithm>
#include <cmath>

#include "algo/strategy_registry.h"

namespace tidemark::engine {

namespace {

class MeanReversion final : public Algorithm {
 public:
  explicit MeanReversion(const StrategyParams& p)
      : assets_(p.count("assets")),
        window_(p.count("window", 3)),
        interval_(p.count("interval")),
        liquidity_days_(p.count("liquidity-days")),
        entry_z_(p.get("entry-z")),
        exit_z_(p.get("exit-z")),
        leverage_(p.get("leverage")) {}

  void initialize(TradingContext& context) override {
    context.scheduleFunction(
        "close-out",
        [](TradingContext& c, DataPortal&) {
          std::vector<AssetId> held;
          for (const auto& [asset, position] : c.positions()) held.push_back(asset);
          for (AssetId a : held) c.orderTarget(a, 0);
        },
        DateRule::everyDay(), TimeRule::marketClose(5));
  }

  // Once a week, the universe: the most traded names by dollar volume over recent sessions.
  void beforeTradingStart(TradingContext&, DataPortal& data) override {
    if (sessions_seen_++ % 5 != 0) return;
    std::vector<AssetId> all;
    for (uint32_t a = 0; a < data.assetCount(); ++a)
      if (data.canTrade(assetId(a))) all.push_back(assetId(a));
    static constexpr Field kFields[] = {Field::Price, Field::Volume};
    HistoryFrame frame = data.history(all, kFields, liquidity_days_, Frequency::Daily);
    std::vector<std::pair<double, AssetId>> liquidity;
    for (size_t j = 0; j < all.size(); ++j) {
      auto price = frame.series(0, j), volume = frame.series(1, j);
      double sum = 0;
      for (size_t i = 0; i < price.size(); ++i)
        if (std::isfinite(price[i]) && std::isfinite(volume[i])) sum += price[i] * volume[i];
      liquidity.emplace_back(sum, all[j]);
    }
    std::sort(liquidity.begin(), liquidity.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    universe_.clear();
    for (size_t i = 0; i < liquidity.size() && i < assets_; ++i) universe_.push_back(liquidity[i].second);
  }

  void handleData(TradingContext& context, DataPortal& data) override {
    uint32_t m = data.minute();
    if (universe_.empty() || m % interval_ != 0 || m < window_ || m >= kMinutesPerSession - 10) return;
    static constexpr Field kPrice[] = {Field::Price};
    HistoryFrame frame = data.history(universe_, kPrice, window_, Frequency::Minute);
    const double weight = leverage_ / static_cast<double>(universe_.size());
    for (size_t j = 0; j < universe_.size(); ++j) {
      auto p = frame.series(0, j);
      double sum = 0, sum2 = 0;
      for (double x : p) {
        sum += x;
        sum2 += x * x;
      }
      double mean = sum / window_, sd = std::sqrt(std::max(0.0, sum2 / window_ - mean * mean));
      if (!std::isfinite(mean) || !(sd > 0)) continue;
      double z = (p.back() - mean) / sd;
      int64_t held = context.position(universe_[j]);
      if (z < -entry_z_ && held <= 0)
        context.orderTargetPercent(universe_[j], weight);
      else if (z > entry_z_ && held >= 0)
        context.orderTargetPercent(universe_[j], -weight);
      else if (std::fabs(z) < exit_z_ && held != 0)
        context.orderTarget(universe_[j], 0);
    }
  }

 private:
  uint32_t assets_, window_, interval_, liquidity_days_;
  double entry_z_, exit_z_, leverage_;
  uint32_t sessions_seen_ = 0;
  std::vector<AssetId> universe_;
};

}  // namespace

StrategyInfo meanReversionStrategy() {
  StrategyInfo s;
  s.name = "mean-reversion";
  s.description = "intraday z-score reversion on the most liquid names, over short windows of minute bars";
  s.bundle_frequency = Frequency::Minute;
  s.bundle_assets = 200;
  s.bundle_days = 60;
  s.needs_minute_bars = true;
  s.params = {
      {"assets", 20, "names traded: the most liquid by dollar volume, chosen weekly"},
      {"window", 30, "minute bars in the trailing window"},
      {"interval", 5, "minutes between checks"},
      {"entry-z", 2.0, "z-score that opens a position"},
      {"exit-z", 0.5, "z-score that closes it"},
      {"liquidity-days", 20, "sessions of dollar volume that rank liquidity"},
      {"leverage", 1.0, "gross exposure when every name is held"},
  };
  s.warmup = [](const StrategyParams& p) { return p.count("liquidity-days"); };
  s.make = [](const StrategyParams& p) { return std::make_unique<MeanReversion>(p); };
  return s;
}

}  // namespace tidemark::engine
