#include "data/bar_windows.h"

#include <limits>

#include "data/bundle_format.h"

namespace tidemark::engine {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDollarsPerTick = 1.0 / bundle::kPriceScale;
}  // namespace

void decodeBars(std::span<const uint32_t> close, std::span<const uint32_t> column, Field field, uint32_t first,
                std::span<double> out) {
  const size_t n = out.size();
  if (field == Field::Volume) {
    for (size_t i = 0; i < n; ++i) out[i] = close[first + i] ? static_cast<double>(column[first + i]) : kNaN;
    return;
  }
  if (field != Field::Price) {
    for (size_t i = 0; i < n; ++i) out[i] = column[first + i] ? column[first + i] * kDollarsPerTick : kNaN;
    return;
  }
  // Price: the last close at or before each bar, looking back before the window for the first one.
  uint32_t last = 0;
  for (size_t back = first; back-- > 0;)
    if (close[back]) {
      last = close[back];
      break;
    }
  for (size_t i = 0; i < n; ++i) {
    if (close[first + i]) last = close[first + i];
    out[i] = last ? last * kDollarsPerTick : kNaN;
  }
}

void DailyBarWindows::decode(AssetId asset, Field field, uint32_t first, std::span<double> out) const {
  Field stored = field == Field::Price ? Field::Close : field;
  decodeBars(bundle_.daily(Field::Close, asset), bundle_.daily(stored, asset), field, first, out);
}

void MinuteBarWindows::decode(AssetId asset, Field field, uint32_t first, std::span<double> out) const {
  Field stored = field == Field::Price ? Field::Close : field;
  decodeBars(bundle_.minute(Field::Close, asset), bundle_.minute(stored, asset), field, first, out);
}

}  // namespace tidemark::engine
