// Slippage: how much of an order one bar can absorb, and at what price. The two models of zipline:
// a volume share with quadratic price impact (its default), and fixed basis points.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "data/data_portal.h"
#include "data/money.h"
#include "execution/order.h"

namespace tidemark::engine {

struct SlippageResult {
  int64_t amount = 0;  // signed like the order; 0 when nothing fills
  Money price;         // per share, rounded to the tick
};

class SlippageModel {
 public:
  virtual ~SlippageModel() = default;
  // `used` is the number of shares of this asset already filled in this bar by earlier orders.
  virtual SlippageResult simulate(const Order& order, BarQuote bar, int64_t used) const = 0;
  virtual std::string describe() const = 0;
};

// Fills at most volume_limit of the bar's volume; the price moves against the order by
// price_impact * (share of the bar's volume)^2.
class VolumeShareSlippage final : public SlippageModel {
 public:
  VolumeShareSlippage(double volume_limit = 0.025, double price_impact = 0.1)
      : volume_limit_(volume_limit), price_impact_(price_impact) {}
  SlippageResult simulate(const Order& order, BarQuote bar, int64_t used) const override;
  std::string describe() const override;

 private:
  double volume_limit_, price_impact_;
};

// Fills at most volume_limit of the bar's volume, basis_points worse than the close.
class FixedBasisPointsSlippage final : public SlippageModel {
 public:
  FixedBasisPointsSlippage(double basis_points = 5.0, double volume_limit = 0.1)
      : basis_points_(basis_points), volume_limit_(volume_limit) {}
  SlippageResult simulate(const Order& order, BarQuote bar, int64_t used) const override;
  std::string describe() const override;

 private:
  double basis_points_, volume_limit_;
};

}  // namespace tidemark::engine
