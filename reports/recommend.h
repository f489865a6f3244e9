// Kubernetes memory request and limit for a job, from one run, with the reasoning.
#pragma once

#include <string>

#include "analysis.h"
#include "process_tree.h"

namespace tidemark {

// A `resources:` snippet whose first line is the reasoning, as a comment. tree: the run the
// analysed process belongs to, when it has several processes: a pod holds them all, so the tree's
// peak (PSS added up; of the largest job when there are several) is what the memory must cover.
std::string recommend(const TraceAnalysis& analysis, const RunTree* tree = nullptr);

}  // namespace tidemark
