// `tidemark summary` as text for people and as JSON for machines.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "analysis.h"
#include "verdict_text.h"

namespace tidemark {

void writeSummaryText(std::ostream& out, const TraceAnalysis& analysis, bool full);
nlohmann::json summaryJson(const TraceAnalysis& analysis);

// {"state": "exited", "code": 0, "description": ...}
nlohmann::json endJson(const ProcessEnd& end);

// {"unknown_frees": 0, "overwritten_allocations": 0, "undefined_stacks": 0}
nlohmann::json anomaliesJson(const TraceAnomalies& a);

}  // namespace tidemark
