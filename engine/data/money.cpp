#include "data/money.h"

#include <fmt/format.h>

#include <cmath>

namespace tidemark::engine {

Money Money::fromDollars(double dollars) { return fromTicks(std::llround(dollars * kTicksPerDollar)); }

int64_t Money::cents() const {
  constexpr int64_t kTicksPerCent = kTicksPerDollar / 100;
  int64_t magnitude = (ticks_ < 0 ? -ticks_ : ticks_);
  int64_t rounded = (magnitude + kTicksPerCent / 2) / kTicksPerCent;
  return ticks_ < 0 ? -rounded : rounded;
}

std::string Money::str() const {
  int64_t c = cents();
  uint64_t magnitude = static_cast<uint64_t>(c < 0 ? -c : c);
  std::string whole = fmt::format("{}", magnitude / 100);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  return fmt::format("{}${}.{:02}", c < 0 ? "-" : "", grouped, magnitude % 100);
}

}  // namespace tidemark::engine
