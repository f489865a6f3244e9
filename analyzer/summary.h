// What `tidemark summary` reports, computed from a replayed trace: the run, the heap and RSS peaks,
// the stacks that held the heap at its peak, and what was still live at the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cycles.h"
#include "findings.h"
#include "memory_limit.h"
#include "python_graph.h"
#include "replay.h"
#include "stack_groups.h"
#include "symbolizer.h"

namespace tidemark {

struct SummaryOptions {
  size_t top = 10;
  bool full = false;  // keep allocator and library frames
  GrowthOptions growth;
  uint64_t limit = 0;  // --limit: replaces the memory limit the trace recorded (0: keep it)
};

// How the process died, when it did not exit: the opening verdict of a post-mortem.
struct Death {
  enum class Kind {
    None,       // exited, or still running
    OomKilled,  // the out-of-memory killer, on the evidence of the cgroup or tidemark's watchdog
    OomLikely,  // SIGKILL, or a trace that stops without an exit, with RSS near the memory limit
    Killed      // a signal that ended it (SIGKILL, an unhandled SIGTERM) or a crash, not near any known limit
  };
  Kind kind = Kind::None;
  uint64_t time_ns = 0;    // since the start
  std::string simulation_date;  // the last date marker before death, if any
  uint64_t rss = 0;        // the last RSS sample
  uint64_t usage = 0;      // the memory in use at the limit (0: unknown), measured as usage_source says
  enum class Usage { Unknown, CgroupPeak, WatchdogRss };
  Usage usage_source = Usage::Unknown;
  std::string evidence;    // one line: why this verdict
};

// RSS within this share of the limit at the last sample counts as "at the limit" for a SIGKILL
// without other evidence (the last sample is up to one interval old, and the cgroup also counts
// page cache and kernel memory that RSS does not).
inline constexpr double kNearLimitShare = 0.85;

// Judged against the run's effective memory limit (summary.limit).
Death assessDeath(const ReplayResult& run, const EffectiveLimit& limit);

// The model every report renders: computed once per trace by TraceAnalysis (analysis.h).
// The phases of one name (tidemark.phase("rebalance"), TIDEMARK_MARK_PHASE_BEGIN): how often, the
// most the heap rose above where it stood when one began, and what they left live, together.
struct PhaseSummary {
  std::string name;
  uint64_t count = 0;
  uint64_t peak_above_begin = 0;  // the largest of (highest heap inside - heap at its begin)
  int64_t growth = 0;             // sum of (heap at its end - heap at its begin)
  bool ended = true;              // every one of them ended before the trace did
};

// A thread that allocated, when more than one did (ReplayResult::threads).
struct ThreadSummary {
  uint32_t index = 0;  // into ReplayResult::threads
  uint64_t tid = 0;
  std::string name;
  bool main = false;  // the process's first thread (its tid is the pid)
  uint64_t allocations = 0, allocated_bytes = 0;
  uint64_t peak_bytes = 0;  // of its allocations, live at the process's heap peak
  uint64_t live_bytes = 0;  // of its allocations, live at the end
};

// "main thread 4300 (python3)", "thread 4321 (worker)"
std::string threadLabel(const ThreadSummary& t);

// What the program leaked from one site (the frame that names its stacks), over every stack.
struct LeakSite {
  Frame frame;
  uint64_t bytes = 0, blocks = 0;
};

struct Summary {
  EffectiveLimit limit;           // the memory limit the run is judged against
  std::vector<StackGroup> peak;   // by peak_bytes, largest first
  std::vector<StackGroup> leaks;  // user code, by live_bytes, largest first
  std::vector<LeakSite> leak_sites;  // user code's leaks by site, largest first (at most --top)
  std::vector<StackGroup> held_for_life;  // live at the end, held by the runtime or since start-up
  std::vector<StackGroup> sites;  // every site, by allocated_bytes, largest first
  uint64_t leaked_bytes = 0, leaked_blocks = 0;  // user code
  uint64_t runtime_leaked_bytes = 0, runtime_leaked_blocks = 0;  // held for life: the runtime's and start-up's
  uint64_t startup_bytes = 0, startup_blocks = 0;                // of which static initialisers
  bool ended_cleanly = false;  // exit() was reached: what is live at the end is a leak
  GrowthFindings growth;
  LeakGraph lost;  // from the heap scan, when the trace has one
  PythonObjectFindings python_objects;  // from the scan's Python object graph, when it has one
  PythonGrowth python_growth;           // from the first scan with a graph to that one
  Death death;
  size_t listed_limit = 0;  // --top: the stack lists hold at most this many
  // A CPython process (the tracker found one, or, in a trace without that record, its executable
  // or a loaded libpython says so).
  std::optional<InterpreterInfo> python;
  std::vector<PhaseSummary> phases;  // in the order their names first began
  std::vector<ThreadSummary> threads;  // when more than one thread allocated: most allocated first
  bool sampled = false;  // sample mode: heap figures are estimates, block counts are of sampled blocks
};

// What a CPython process's stacks hold, in one line for every report: "CPython 3.12.1: Python
// frames in every stack, ..." or why they are native.
std::string describePython(const InterpreterInfo& python);

Summary summarize(const ReplayResult& run, Symbolizer& symbols, const SummaryOptions& options);

}  // namespace tidemark
