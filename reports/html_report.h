// `tidemark report`: one self-contained HTML file (no network, no CDN) with the run, a memory
// timeline (RSS and heap, the peak, the simulation dates on hover), flamegraphs of the peak, the
// leaks and all allocations, and the findings tables. Every string from the trace is escaped.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "analysis.h"
#include "flamegraph.h"
#include "lines.h"

namespace tidemark {

struct ReportFlames {
  std::vector<FlameStack> peak, leaked, allocated;
};

// How many functions a report carries line views of: the ones that allocated most.
constexpr size_t kReportLineFunctions = 200;

// lines: the line views of the functions a click on a flamegraph's frame shows (functionLineReports).
// run_section: the run's processes (runHtml), when the trace is one process of a run of several.
std::string htmlReport(const TraceAnalysis& analysis, const ReportFlames& flames, const std::vector<LineReport>& lines,
                       const std::string& run_section = "");

// The axes of a memory-over-time chart (width x height, plot from x = left): grid lines with sizes
// up to y_max, and the time at both ends; y maps bytes to the chart's y.
std::string timeAxes(int width, int height, int left, double y_max, double t_end_ns, const std::function<double(double)>& y);

// The flame stacks of one metric from the summary's groups ("peak", "leaked", "allocated", "temporary").
std::vector<FlameStack> flameStacks(const std::vector<StackGroup>& groups, const std::string& metric);

}  // namespace tidemark
