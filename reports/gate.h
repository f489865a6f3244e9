// The CI memory gate, the diff of two runs and the resources recommendation. Gate and diff read a
// trace or a JSON summary (`tidemark summary --json`), so repositories can keep small baselines
// under version control; both become a MemoryProfile first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "summary.h"

namespace tidemark {

struct MemoryProfile {
  std::string source;  // the file it came from
  uint64_t peak_heap = 0, peak_rss = 0, leaked = 0;
  bool ended_cleanly = false;
  std::string end;    // "exited with code 0", ...
  std::string death;  // the post-mortem verdict ("oom-killed", ...) or "none"
  bool growth_available = false;
  std::vector<std::string> unbounded;  // sites with unbounded growth
  struct Stack {
    std::vector<std::string> frames;  // function names, root first
    std::string site;                 // the leaf frame as the summary names it
    uint64_t peak = 0, leaked = 0;
  };
  std::vector<Stack> stacks;
  size_t listed_limit = 0;  // a JSON summary lists its top N stacks only (0: all of them)
};

MemoryProfile profileFromSummaryJson(const nlohmann::json& summary, const std::string& source);
// A trace (every stack) or a JSON summary, told apart by their first bytes. Throws Error.
MemoryProfile loadProfile(const std::string& path);

struct GateOptions {
  std::optional<uint64_t> max_peak, max_leaked;
  bool no_unbounded_growth = false;
  std::string baseline;
  std::optional<double> max_peak_increase, max_leaked_increase;  // percent
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

// Per-site change at the peak and in leaks, largest first.
std::string diffText(const MemoryProfile& base, const MemoryProfile& next, size_t top);
nlohmann::json diffJson(const MemoryProfile& base, const MemoryProfile& next);
// "frame;frame base new" lines for differential flamegraphs (flamegraph.pl's difffolded input).
std::string diffFolded(const MemoryProfile& base, const MemoryProfile& next, const std::string& metric);

// Kubernetes memory request and limit for the job, with the reasoning in one line.
std::string recommend(const Summary& s);

}  // namespace tidemark
