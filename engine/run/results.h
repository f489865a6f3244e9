// Results: a run as JSON (the --results file, and what a sweep's worker sends its parent) or CSV.
// Nothing in them depends on the machine or the clock: same inputs, same bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/bundle.h"
#include "run/simulation.h"

namespace tidemark::engine {

nlohmann::json runResultJson(const RunResult& r);
// Inverse of runResultJson; throws EngineError on a malformed document.
RunResult runResultFromJson(const nlohmann::json& j);

nlohmann::json configJson(const SimulationConfig& c);
nlohmann::json bundleJson(const Bundle& b);

// The whole results document: the bundle, the configuration of each run, and the runs.
nlohmann::json resultsDocument(const Bundle& bundle, const std::vector<SimulationConfig>& configs,
                               const std::vector<RunResult>& runs);
// One row per run and session.
std::string resultsCsv(const std::vector<RunResult>& runs);

// By the path's extension: .json or .csv. Written to a temporary file and renamed into place.
void writeResults(const std::string& path, const Bundle& bundle, const std::vector<SimulationConfig>& configs,
                  const std::vector<RunResult>& runs);

}  // namespace tidemark::engine
