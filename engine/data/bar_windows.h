// The bundle's bars as window sources for the history cache: ticks and shares decoded to doubles,
// empty bars to NaN, the Price field carried forward.
#pragma once

#include "data/bundle.h"
#include "data/window_source.h"

namespace tidemark::engine {

class DailyBarWindows final : public WindowSource {
 public:
  explicit DailyBarWindows(const Bundle& bundle) : bundle_(bundle) {}
  uint32_t barCount() const override { return bundle_.sessionCount(); }
  void decode(AssetId asset, Field field, uint32_t first, std::span<double> out) const override;

 private:
  const Bundle& bundle_;
};

class MinuteBarWindows final : public WindowSource {
 public:
  explicit MinuteBarWindows(const Bundle& bundle) : bundle_(bundle) {}
  uint32_t barCount() const override { return bundle_.sessionCount() * kMinutesPerSession; }
  void decode(AssetId asset, Field field, uint32_t first, std::span<double> out) const override;

 private:
  const Bundle& bundle_;
};

// Decodes one stored column (or Price from the close column) of bars [first, first + out.size()).
void decodeBars(std::span<const uint32_t> close, std::span<const uint32_t> column, Field field, uint32_t first,
                std::span<double> out);

}  // namespace tidemark::engine
