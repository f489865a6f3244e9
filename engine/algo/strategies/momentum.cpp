// momentum: the pipeline ranks every asset by risk-adjusted trailing return each session; on the
// first session of each week the portfolio is rebalanced to the top N, equally weighted.
#include "algo/strategies/portfolio_targets.h"
#include "algo/strategy_registry.h"

namespace tidemark::engine {

namespace {

PipelineSpec pipelineSpec(const StrategyParams& p) {
  PipelineSpec spec;
  spec.top_n = p.count("top-n");
  spec.returns_window = p.count("returns-window");
  spec.volatility_window = p.count("volatility-window", 2);
  return spec;
}

class Momentum final : public Algorithm {
 public:
  explicit Momentum(const StrategyParams& p) : spec_(pipelineSpec(p)), leverage_(p.get("leverage")) {}

  void initialize(TradingContext& context) override {
    context.attachPipeline(spec_);
    context.scheduleFunction(
        "rebalance",
        [this](TradingContext& c, DataPortal&) {
          rebalanceEqualWeight(c, top_, top_.empty() ? 0.0 : leverage_ / static_cast<double>(top_.size()));
        },
        DateRule::weekStart(), TimeRule::marketOpen(30));
  }

  void beforeTradingStart(TradingContext& context, DataPortal&) override {
    auto top = context.pipelineTop();
    top_.assign(top.begin(), top.end());
  }

 private:
  PipelineSpec spec_;
  double leverage_;
  std::vector<AssetId> top_;
};

}  // namespace

StrategyInfo momentumStrategy() {
  StrategyInfo s;
  s.name = "momentum";
  s.description = "weekly rebalance to the pipeline's top N by risk-adjusted trailing return";
  s.bundle_frequency = Frequency::Daily;
  s.bundle_assets = 2000;
  s.bundle_days = 1260;
  s.params = {
      {"top-n", 20, "assets held"},
      {"returns-window", 60, "sessions of the trailing return"},
      {"volatility-window", 20, "sessions of the volatility that scales it"},
      {"leverage", 1.0, "gross exposure as a fraction of the portfolio"},
  };
  s.warmup = [](const StrategyParams& p) { return pipelineSpec(p).lookback() + 1; };
  s.make = [](const StrategyParams& p) { return std::make_unique<Momentum>(p); };
  return s;
}

}  // namespace tidemark::engine
