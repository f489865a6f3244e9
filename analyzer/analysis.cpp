#include "analysis.h"

#include "checkpoint.h"
#include "progress.h"
#include "trace_reader.h"

namespace tidemark {

bool parentKnowsBetter(const ProcessEnd& own, const ProcessEnd& parent) {
  return parent.state != EndState::Unknown && (own.state == EndState::Unknown || own.state == EndState::ExitCalled);
}

TraceAnalysis::TraceAnalysis(const std::string& path, const SummaryOptions& options, const RunContext* context)
    : path_(path) {
  TraceReader reader(path);
  trace_bytes_ = reader.fileSize();
  if (std::optional<ReplayResult> kept = loadCheckpoint(reader)) {
    run_ = std::move(*kept);
  } else {
    run_ = replay(reader);
    saveCheckpoint(reader, run_);
  }
  if (context) {
    const ProcessEnd& parent_word = context->end_seen_by_parent;
    if (parentKnowsBetter(run_.end, parent_word)) {
      run_.end = parent_word;
      run_.end_from_parent = true;
    }
    if (!run_.run_limit.bytes) run_.run_limit = context->limit;
    if (context->oom_victim && !run_.oom.seen) {
      run_.oom = context->group_oom;
      run_.oom.in_group = true;
      run_.oom.time_ns = run_.end.state == EndState::Signaled ? run_.end.time_ns : run_.last_event_time_ns;
    }
  }
  reportProgress("finding the functions and lines of " + path, -1);
  symbols_ = std::make_unique<Symbolizer>(run_);
  summary_ = summarize(run_, *symbols_, options);
  endProgress();
}

std::vector<StackGroup> TraceAnalysis::stackGroups(bool full) const { return groupStacks(run_, *symbols_, full); }

}  // namespace tidemark
