// `tidemark report`: one self-contained HTML file (no network, no CDN) with the run, a memory
// timeline (RSS and heap, the peak, the simulation dates on hover), flamegraphs of the peak, the
// leaks and all allocations, and the findings tables. Every string from the trace is escaped.
#pragma once

#include <string>
#include <vector>

#include "flamegraph.h"
#include "analysis.h"

namespace tidemark {

struct ReportFlames {
  std::vector<FlameStack> peak, leaked, allocated;
};

std::string htmlReport(const TraceAnalysis& analysis, const ReportFlames& flames);

// The flame stacks of one metric from the summary's groups ("peak", "leaked", "allocated", "temporary").
std::vector<FlameStack> flameStacks(const std::vector<StackGroup>& groups, const std::string& metric);

}  // namespace tidemark
