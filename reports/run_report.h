// A run of several processes (process_tree.h) for people and for machines: the tree of processes,
// how each ended, their peaks and findings, and the tree's memory with shared pages counted once.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "process_tree.h"

namespace tidemark {

// The run's opening: its size, the tree's peak and who held it, then one row per process.
void writeRunText(std::ostream& out, const std::string& path, const RunTree& tree);
nlohmann::json runJson(const std::string& path, const RunTree& tree);

// Across the run's jobs (RunTree::jobs): "12 of 200 jobs were OOM-killed; all 12 grew in SITE at
// +40.0 MiB per simulated day (median)", the sites that grow in several, or that nothing went wrong.
std::vector<std::string> diagnoseJobs(const RunTree& tree);

// The run's section of the HTML report: the diagnosis across jobs, the table of processes (or of
// jobs) and the PSS of the processes over time, stacked.
std::string runHtml(const std::string& path, const RunTree& tree);

// "how it ended" in a few words: "exit 0", "killed: SIGTERM", "OOM-killed", "exec", ...
std::string shortEnd(const RunProcess& p);

}  // namespace tidemark
