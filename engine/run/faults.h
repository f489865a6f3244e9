// Switchable faults: known memory misbehaviour for tidemark's analyzer to find. All are off by
// default and deterministic (same flags, same allocations). See engine/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/date.h"

namespace tidemark::engine {

struct FaultConfig {
  bool unbounded_cache = false;  // the history cache never evicts
  bool leak_cycles = false;      // closed orders and their fills keep each other alive, unreachable
  bool leak_per_day = false;     // leak_bytes_per_day leaked at the start of every simulated session
  bool spike = false;            // spike_bytes of working set on spike_date, freed the next session
  bool bloated_cache = false;    // the history cache's windows take 10% more memory (a regression to gate)
  uint64_t leak_bytes_per_day = 1 << 20;
  std::optional<Date> spike_date;  // default: the middle session of the run
  uint64_t spike_bytes = 256ull << 20;

  // Throws EngineError listing the faults for an unknown name.
  void enable(std::string_view name);
  std::vector<std::string> enabledNames() const;
};

// The leak-per-day fault's allocation: `bytes` allocated with new[], written, and dropped.
void leakDailyScratch(uint64_t bytes);

// The spike fault's working set: a stress-scenario matrix (scenarios x assets of shocked returns)
// built for one session, the kind of one-off risk report that doubles a job's peak.
class StressScenarioMatrix {
 public:
  void build(uint64_t bytes, uint32_t asset_count, uint64_t seed);
  void release();
  uint64_t bytes() const { return values_.size() * sizeof(double); }
  double checksum() const { return checksum_; }

 private:
  std::vector<double> values_;
  double checksum_ = 0;
};

}  // namespace tidemark::engine
