// Kubernetes memory request and limit for a job, from one run, with the reasoning.
#pragma once

#include <string>

#include "analysis.h"

namespace tidemark {

// A `resources:` snippet whose first line is the reasoning, as a comment.
std::string recommend(const TraceAnalysis& analysis);

}  // namespace tidemark
