// random-universe: every session, 50 assets drawn at random out of thousands, 150 sessions of all
// six fields pulled through history for each, the best ten by a risk-adjusted score held. This is
// the access pattern that makes a history cache grow: a wide, shifting universe of long windows.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "algo/strategies/portfolio_targets.h"
#include "algo/strategy_registry.h"

namespace tidemark::engine {

namespace {

class RandomUniverse final : public Algorithm {
 public:
  explicit RandomUniverse(const StrategyParams& p)
      : universe_size_(p.count("universe")),
        lookback_(p.count("lookback", 2)),
        hold_(p.count("hold")),
        leverage_(p.get("leverage")),
        min_dollar_volume_(p.get("min-dollar-volume")) {}

  void initialize(TradingContext& context) override {
    context.scheduleFunction(
        "rebalance", [this](TradingContext& c, DataPortal&) { rebalanceEqualWeight(c, targets_, weight()); },
        DateRule::everyDay(), TimeRule::marketOpen(30));
  }

  void beforeTradingStart(TradingContext& context, DataPortal& data) override {
    pickUniverse(context, data);
    HistoryFrame frame = data.history(universe_, kAllFields, lookback_, Frequency::Daily);
    std::vector<std::pair<double, AssetId>> scored;
    for (size_t j = 0; j < universe_.size(); ++j) {
      double s = score(frame, j);
      if (std::isfinite(s)) scored.emplace_back(s, universe_[j]);
    }
    std::sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    targets_.clear();
    for (size_t i = 0; i < scored.size() && i < hold_; ++i) targets_.push_back(scored[i].second);
  }

 private:
  double weight() const { return targets_.empty() ? 0.0 : leverage_ / static_cast<double>(targets_.size()); }

  void pickUniverse(TradingContext& context, DataPortal& data) {
    const uint32_t n = data.assetCount();
    const uint32_t want = std::min(universe_size_, n);
    universe_.clear();
    chosen_.assign(n, false);
    for (uint32_t attempt = 0; universe_.size() < want && attempt < want * 20; ++attempt) {
      uint32_t a = static_cast<uint32_t>(context.rng().below(n));
      if (chosen_[a] || !data.canTrade(assetId(a))) continue;
      chosen_[a] = true;
      universe_.push_back(assetId(a));
    }
  }

  // Momentum over the window per unit of volatility, penalised for a wide daily range and for
  // overnight gaps; NaN for an asset with too little history or too little liquidity.
  double score(const HistoryFrame& frame, size_t j) const {
    auto open = frame.series(index(Field::Open), j), high = frame.series(index(Field::High), j);
    auto low = frame.series(index(Field::Low), j), close = frame.series(index(Field::Close), j);
    auto volume = frame.series(index(Field::Volume), j), price = frame.series(index(Field::Price), j);
    size_t first = 0;
    while (first < price.size() && !(price[first] > 0)) ++first;
    const size_t n = price.size();
    if (n - first < std::max<size_t>(lookback_ / 2, 3) || !(price[n - 1] > 0)) return NAN;
    double sum = 0, sum2 = 0, range = 0, gap = 0, dollar_volume = 0;
    size_t returns = 0, bars = 0, gaps = 0;
    for (size_t i = first + 1; i < n; ++i) {
      double r = price[i] / price[i - 1] - 1.0;
      sum += r;
      sum2 += r * r;
      ++returns;
      if (std::isfinite(close[i]) && close[i] > 0) {
        range += (high[i] - low[i]) / close[i];
        dollar_volume += close[i] * volume[i];
        ++bars;
        if (std::isfinite(open[i]) && std::isfinite(close[i - 1])) {
          gap += std::fabs(open[i] / close[i - 1] - 1.0);
          ++gaps;
        }
      }
    }
    if (bars == 0 || dollar_volume / bars < min_dollar_volume_) return NAN;
    double mean = sum / returns;
    double sd = std::sqrt(std::max(1e-12, sum2 / returns - mean * mean));
    double momentum = price[n - 1] / price[first] - 1.0;
    return momentum / (sd * std::sqrt(double(returns))) - 2.0 * range / bars - 5.0 * (gaps ? gap / gaps : 0.0);
  }

  uint32_t universe_size_, lookback_, hold_;
  double leverage_, min_dollar_volume_;
  std::vector<AssetId> universe_, targets_;
  std::vector<bool> chosen_;
};

}  // namespace

StrategyInfo randomUniverseStrategy() {
  StrategyInfo s;
  s.name = "random-universe";
  s.description =
      "each session, draws a random universe, pulls long windows of all six fields through history "
      "and holds the best names (the pattern that grows a history cache)";
  s.bundle_frequency = Frequency::Daily;
  s.bundle_assets = 3000;
  s.bundle_days = 2520;
  s.params = {
      {"universe", 50, "assets drawn at random each session"},
      {"lookback", 150, "sessions of history pulled for each drawn asset"},
      {"hold", 10, "assets held: the best by score"},
      {"leverage", 1.0, "gross exposure as a fraction of the portfolio"},
      {"min-dollar-volume", 1e6, "average daily dollar volume below which an asset is not held"},
  };
  s.warmup = [](const StrategyParams& p) { return p.count("lookback", 2); };
  s.make = [](const StrategyParams& p) { return std::make_unique<RandomUniverse>(p); };
  return s;
}

}  // namespace tidemark::engine
