// A time range of the run, picked on the HTML timeline (a drag, or two simulated dates): the page
// redraws flamegraphs and a table of what was live at the range's end, allocated inside it and
// grown across it. The data is the replay's per-stack series (full event logs), cut to at most
// kRangePoints moments and the stack groups that matter, embedded as JSON for the page's script.
#pragma once

#include <string>
#include <vector>

#include "analysis.h"

namespace tidemark {

inline constexpr size_t kRangePoints = 120;  // moments a range can start or end at
inline constexpr size_t kRangeGroups = 150;  // stack groups kept apart; the rest add up to one

// The section under the timeline: its controls, an empty view the script fills, and the data.
// Empty when the trace has no per-stack series (an aggregated trace), with a sentence saying so.
std::string rangeSectionHtml(const TraceAnalysis& analysis, const std::vector<StackGroup>& groups);

// The page's script for it (uses tidemarkFlame from flameScript()).
std::string rangeScript();

}  // namespace tidemark
