// `tidemark summary` as text for people and as JSON for machines.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "summary.h"

namespace tidemark {

void writeSummaryText(std::ostream& out, const Summary& s, bool full);
nlohmann::json summaryJson(const Summary& s);

// "exited with code 0", "killed by SIGKILL", ...
std::string describeEnd(const ProcessEnd& end);

}  // namespace tidemark
