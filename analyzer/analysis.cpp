#include "analysis.h"

#include "trace_reader.h"

namespace tidemark {

TraceAnalysis::TraceAnalysis(const std::string& path, const SummaryOptions& options, const ProcessEnd* end_seen_by_parent)
    : path_(path) {
  TraceReader reader(path);
  trace_bytes_ = reader.fileSize();
  run_ = replay(reader);
  if (end_seen_by_parent && end_seen_by_parent->state != EndState::Unknown &&
      (run_.end.state == EndState::Unknown || run_.end.state == EndState::ExitCalled)) {
    run_.end = *end_seen_by_parent;
    run_.end_from_parent = true;
  }
  symbols_ = std::make_unique<Symbolizer>(run_);
  summary_ = summarize(run_, *symbols_, options);
}

std::vector<StackGroup> TraceAnalysis::stackGroups(bool full) const { return groupStacks(run_, *symbols_, full); }

}  // namespace tidemark
