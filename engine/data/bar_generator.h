// A seeded generator of synthetic market data: a bundle of minute (or daily) bars that looks like
// a US equity universe (log-uniform prices and liquidity, per-asset drift and volatility, a
// U-shaped intraday volume profile, illiquid names with empty minutes, some late listings and
// delistings). Same config, same file, byte for byte.
#pragma once

#include <cstdint>
#include <string>

#include "data/date.h"

namespace tidemark::engine {

struct GeneratorConfig {
  uint32_t assets = 500;
  Date start = Date::fromCivil(2020, 1, 2);  // the first session is the first trading day from here
  uint32_t sessions = 252;
  uint64_t seed = 1;
  bool minute_bars = true;  // false: daily bars only (drawn directly, 390x cheaper)
};

// Writes the bundle to path (through a temporary file renamed into place).
void generateBundle(const GeneratorConfig& config, const std::string& path);

// "AAA", "QXT", ...: a distinct symbol per asset index (a fixed permutation of base-26 codes).
std::string syntheticSymbol(uint32_t asset, uint32_t asset_count);

}  // namespace tidemark::engine
