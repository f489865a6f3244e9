// `tidemark report NEW --baseline OLD`: what changed from a baseline run, for the reviewer of a
// failed gate. The HTML section holds the figures side by side, a per-site table (largest change
// first), a differential flamegraph of the new run's peak (grown red, shrunk blue) and both
// timelines on one time axis when both sides are traces.
#pragma once

#include <string>

#include "profile.h"

namespace tidemark {

// The section, with its heading (id "baseline-section").
std::string baselineHtml(const ComparedRun& base, const ComparedRun& now);

}  // namespace tidemark
