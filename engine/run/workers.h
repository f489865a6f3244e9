// Runs a set of simulations, one after another or in forked worker processes. The workers inherit
// the parent's read-only shared mapping of the bundle, so N workers cost one copy of the market
// data in the page cache, not N; each sends its results back as JSON over a pipe.
#pragma once

#include <vector>

#include "data/bundle.h"
#include "run/simulation.h"

namespace tidemark::engine {

// Results in the order of `configs`, whatever the number of workers. Throws EngineError if a
// worker fails (its message, or how it died).
std::vector<RunResult> runAll(const Bundle& bundle, const std::vector<SimulationConfig>& configs, unsigned workers);

}  // namespace tidemark::engine
