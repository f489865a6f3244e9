#include "analysis.h"

#include "trace_reader.h"

namespace tidemark {

TraceAnalysis::TraceAnalysis(const std::string& path, const SummaryOptions& options) : path_(path) {
  TraceReader reader(path);
  trace_bytes_ = reader.fileSize();
  run_ = replay(reader);
  symbols_ = std::make_unique<Symbolizer>(run_);
  summary_ = summarize(run_, *symbols_, options);
}

std::vector<StackGroup> TraceAnalysis::stackGroups(bool full) const { return groupStacks(run_, *symbols_, full); }

}  // namespace tidemark
