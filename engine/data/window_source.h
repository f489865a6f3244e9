// Where the history cache decodes windows from: a bundle's daily or minute bars, or a fake in tests.
#pragma once

#include <cstdint>
#include <span>

#include "data/market.h"

namespace tidemark::engine {

class WindowSource {
 public:
  virtual ~WindowSource() = default;
  // Bars per asset (sessions, or sessions * 390).
  virtual uint32_t barCount() const = 0;
  // Bars [first, first + out.size()) of one field: dollars for prices, shares for volume, NaN where
  // nothing traded. Price is the close carried forward (NaN before the asset's first trade).
  virtual void decode(AssetId asset, Field field, uint32_t first, std::span<double> out) const = 0;
};

}  // namespace tidemark::engine
