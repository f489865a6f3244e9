// What gate and diff compare: a run reduced to its figures and its stacks. It comes from a trace
// (every stack) or from a JSON summary (`tidemark summary --json`), so that repositories can keep
// small baselines under version control.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "python_graph.h"
#include "replay.h"

namespace tidemark {

struct MemoryProfile {
  std::string source;  // the file it came from
  uint64_t peak_heap = 0, peak_rss = 0, leaked = 0;
  bool ended_cleanly = false;
  std::string end;    // "exited with code 0", ...
  bool signaled = false;   // killed by a signal (a crash, SIGTERM, SIGKILL)
  std::string incomplete;  // why the tracker stopped recording early; empty for a complete trace
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
  struct Phase {
    uint64_t peak_above_begin = 0;  // the most the heap rose above where it stood when one began
    int64_t growth = 0;             // what the phases of this name left live, together
  };
  std::map<std::string, Phase> phases;
  std::string phase;  // set by withinPhase: peak_heap and leaked are that phase's
  // The run's tree of processes, when the profile comes from a run of several (summary JSON "run").
  struct Tree {
    bool present = false;
    uint64_t peak = 0;           // the tree's peak, PSS (pss) or RSS added up
    bool pss = false;
    size_t processes = 0, jobs = 0;
    std::vector<std::string> died;  // "tm-worker (pid 708): oom-killed", ...
  };
  Tree tree;
  // The Python object graph of its last scan (summary JSON python_objects and python_growth).
  struct Python {
    bool available = false;  // a scan recorded the graph
    uint64_t garbage_cycles = 0, garbage_bytes = 0;
    std::vector<std::string> cycle_shapes;  // the largest first
    std::vector<RetainedGroup> groups;      // no chains; by retained bytes
    bool growth_available = false;          // two scans in the run
    std::vector<RetainedGrowth> growth;     // from its first scan to its last, most first
  } python;
};

// The run's figures within its phases called `name` (summary.h's PhaseSummary): peak_heap becomes
// the most the heap rose above its level when one began, leaked what they left live (never
// below 0). Throws Error when the run has no such phase.
MemoryProfile withinPhase(const MemoryProfile& run, const std::string& name);

MemoryProfile profileFromSummaryJson(const nlohmann::json& summary, const std::string& source);
// A trace (every stack) or a JSON summary, told apart by their first bytes. Throws Error.
// path: a trace, a JSON summary, or a run directory (its process `process` picks, with the tree).
MemoryProfile loadProfile(const std::string& path, const std::string& process = "");

// A run to compare with another (report --baseline): its profile and, from a trace, its timeline.
struct ComparedRun {
  MemoryProfile profile;
  std::vector<TimelineSample> timeline;  // empty for a JSON summary
  uint64_t duration_ns = 0;
};
ComparedRun loadComparedRun(const std::string& path, const std::string& process = "");

// Frames joined as one folded-stack line ("root;child;leaf"), ';' in names replaced.
std::string foldedFrames(const std::vector<std::string>& frames);

}  // namespace tidemark
