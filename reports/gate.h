// The CI memory gate: rules on one run (and on its change from a baseline), each passed or
// broken with what was measured against what.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile.h"

namespace tidemark {

struct GateOptions {
  std::optional<uint64_t> max_peak, max_leaked;
  bool no_unbounded_growth = false;
  std::string baseline;
  std::optional<double> max_peak_increase, max_leaked_increase;  // percent
  std::string phase;  // the peak and leak rules judge that phase (withinPhase), in both runs
  // Python object graphs (tidemark run --scan): the garbage cycles of the last scan; the most a
  // group of objects (type and line) may grow in held bytes, from the run's first scan to its last,
  // or from the baseline's last scan to the run's.
  std::optional<uint64_t> max_garbage_cycles, max_retained_growth;
  // A run of several processes: the most its tree may hold at once (PSS, shared pages once; a single
  // process: its peak RSS), the number a container limit must cover.
  std::optional<uint64_t> max_tree_peak;
};

struct GateRule {
  std::string name;   // "max-peak", ...
  bool passed = false;
  double measured = 0, limit = 0;
  std::string text;   // what was measured against what
};

struct GateResult {
  std::vector<GateRule> rules;
  bool passed() const;
};

// Throws Error on bad input (no rule, a baseline rule without a baseline, growth not available).
GateResult runGate(const MemoryProfile& run, const MemoryProfile* baseline, const GateOptions& options);
std::string gateText(const GateResult& r);
nlohmann::json gateJson(const GateResult& r, const std::string& trace);
std::string gateJunit(const GateResult& r, const std::string& trace);

}  // namespace tidemark
