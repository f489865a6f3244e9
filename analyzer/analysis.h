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

class TraceAnalysis {
 public:
  // Throws Error with a one-line reason when the trace cannot be read. end_seen_by_parent: how the
  // process ended as the process that waited for it saw it (a run's tree, process_tree.h); it
  // replaces the trace's own word when that is silence or "exit() called".
  TraceAnalysis(const std::string& path, const SummaryOptions& options, const ProcessEnd* end_seen_by_parent = nullptr);
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
