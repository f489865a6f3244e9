// The one way into the analysis: every command (summary, report, flamegraph, gate, diff,
// recommend) reads a trace through TraceAnalysis, which reads, replays, symbolizes and summarizes
// it once and owns everything it computed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "replay.h"
#include "summary.h"
#include "symbolizer.h"

namespace tidemark {

// What the other processes of a run know about one of them (process_tree.h).
struct RunContext {
  // How it ended as the process that waited for it saw it; replaces the trace's own word when
  // that is silence or "exit() called".
  ProcessEnd end_seen_by_parent;
  // The run's memory limit and the OOM kills of its cgroup (the wrapper records both in the root's
  // trace), for a process that has neither.
  RunLimit limit;
  OomKill group_oom;
  bool oom_victim = false;  // the tree found this process to be one the OOM killer ended
};

// Whose word on how a process ended counts: the trace's own when it is exact (an exit code, an
// exec), the parent's when the trace has only silence (which would read as a kill) or "exit()
// called" (its code unknown).
bool parentKnowsBetter(const ProcessEnd& own, const ProcessEnd& parent);

class TraceAnalysis {
 public:
  // Throws Error with a one-line reason when the trace cannot be read. context: what the run's
  // other processes know of this one.
  TraceAnalysis(const std::string& path, const SummaryOptions& options, const RunContext* context = nullptr);
  TraceAnalysis(const TraceAnalysis&) = delete;
  TraceAnalysis& operator=(const TraceAnalysis&) = delete;

  const std::string& tracePath() const { return path_; }
  uint64_t traceBytes() const { return trace_bytes_; }
  const ReplayResult& run() const { return run_; }
  const Summary& summary() const { return summary_; }

  // Every stack grouped by its folded frames (all frames with full), for flamegraphs.
  std::vector<StackGroup> stackGroups(bool full) const;

 private:
  std::string path_;
  uint64_t trace_bytes_ = 0;
  ReplayResult run_;
  std::unique_ptr<Symbolizer> symbols_;  // refers to run_'s module maps
  Summary summary_;
};

}  // namespace tidemark
