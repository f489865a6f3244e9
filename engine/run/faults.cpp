#include "run/faults.h"

#include <fmt/format.h>

#include <cstring>

#include "data/random.h"
#include "error.h"

namespace tidemark::engine {

void FaultConfig::enable(std::string_view name) {
  if (name == "unbounded-cache")
    unbounded_cache = true;
  else if (name == "leak-cycles")
    leak_cycles = true;
  else if (name == "leak-per-day")
    leak_per_day = true;
  else if (name == "spike")
    spike = true;
  else if (name == "bloated-cache")
    bloated_cache = true;
  else
    throw EngineError(
        fmt::format("unknown fault '{}' (one of: unbounded-cache, leak-cycles, leak-per-day, spike, bloated-cache)", name));
}

std::vector<std::string> FaultConfig::enabledNames() const {
  std::vector<std::string> out;
  if (unbounded_cache) out.emplace_back("unbounded-cache");
  if (leak_cycles) out.emplace_back("leak-cycles");
  if (leak_per_day) out.emplace_back("leak-per-day");
  if (spike) out.emplace_back("spike");
  if (bloated_cache) out.emplace_back("bloated-cache");
  return out;
}

[[gnu::noinline]] void leakDailyScratch(uint64_t bytes) {
  char* scratch = new char[bytes];
  std::memset(scratch, 0x5a, bytes);  // written, so it is resident as well as allocated
  // The pointer escapes to nowhere: the compiler may not drop the allocation, and nothing frees it.
  asm volatile("" : : "r"(scratch) : "memory");
}

[[gnu::noinline]] void StressScenarioMatrix::build(uint64_t bytes, uint32_t asset_count, uint64_t seed) {
  values_.assign(bytes / sizeof(double), 0.0);
  // Each row: one scenario's shocked return for every asset (a market shock plus idiosyncratic noise).
  Rng rng(mix(seed ^ 0x5350494b45ull));
  const size_t columns = asset_count ? asset_count : 1;
  double shock = 0, sum = 0;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (i % columns == 0) shock = -0.2 * rng.uniform();
    values_[i] = shock * (0.5 + rng.uniform());
    sum += values_[i];
  }
  checksum_ = sum;
}

void StressScenarioMatrix::release() { std::vector<double>().swap(values_); }

}  // namespace tidemark::engine
