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

// The flamegraphs of a report for one thread, or for every thread (thread empty).
struct ReportFlames {
  std::string thread;  // "thread 4321 (worker)"
  std::vector<FlameStack> peak, leaked, allocated, temporary;
};

// How many threads a report has flamegraphs of, apart: the ones that allocated most.
constexpr size_t kReportThreads = 8;

// Every thread's flamegraphs, then, when more than one thread allocated, those of each of the
// kReportThreads threads that allocated most.
std::vector<ReportFlames> reportFlames(const TraceAnalysis& analysis, const std::vector<StackGroup>& groups);

// How many functions a report carries line views of: the ones that allocated most.
constexpr size_t kReportLineFunctions = 60;

// flames: reportFlames. lines: the line views of the functions a click on a flamegraph's frame shows (functionLineReports).
// Sections made elsewhere, in the page's order.
struct ReportSections {
  std::string baseline;  // the comparison with a baseline run (baselineHtml), after the diagnosis
  std::string run;       // the run's processes (runHtml), when the trace is one process of several
  std::string range;     // a range of the run (rangeSectionHtml), under the timeline
  std::string sites;     // the sites over time (sitesOverTimeHtml), under the range
};

// The stack groups that held most at the peak, their live bytes over the run, stacked (empty for
// an aggregated trace).
std::string sitesOverTimeHtml(const ReplayResult& run, const std::vector<StackGroup>& groups);

std::string htmlReport(const TraceAnalysis& analysis, const std::vector<ReportFlames>& flames, const std::vector<LineReport>& lines,
                       const ReportSections& sections = {});

// Below the plot of a memory-over-time chart: the time axis, and the simulated-date axis under it.
constexpr int kTimelineBottom = 58;

// The axes of a memory-over-time chart (width x height, plot from x = left down to height -
// kTimelineBottom): grid lines at round sizes up to y_max, ticks at round times; y maps bytes to the chart's y.
std::string timeAxes(int width, int height, int left, double y_max, double t_end_ns, const std::function<double(double)>& y);
// The simulated dates of the date markers as a second axis (months, quarters or years), empty
// without markers; x maps nanoseconds since the start to the chart's x.
std::string dateAxis(const std::vector<Marker>& markers, int height, const std::function<double(double)>& x);

// Areas stacked over time, one per series (bottom first), in a fixed palette with a legend: the
// processes of a run, the sites of a process. times_ns and every series' values have one entry per moment.
struct StackedSeries {
  std::string name;
  std::vector<uint64_t> values;
};
std::string stackedAreaSvg(const std::string& id, const std::vector<uint64_t>& times_ns, const std::vector<StackedSeries>& series);

// The flame stacks of one metric from the summary's groups ("peak", "leaked", "allocated", "temporary").
std::vector<FlameStack> flameStacks(const std::vector<StackGroup>& groups, const std::string& metric);

}  // namespace tidemark
