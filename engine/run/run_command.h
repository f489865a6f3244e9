// `tidemark-engine run`: options in, a bundle found or generated, the runs made, a summary printed
// and the results written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace tidemark::engine {

struct RunOptions {
#define TM_RUN_OPTION(type, member, flags, default_value, help) type member = default_value;
#define TM_RUN_FLAG(member, flags, help) bool member = false;
#include "run/run_options.inc"
#undef TM_RUN_OPTION
#undef TM_RUN_FLAG
};

void addRunOptions(CLI::App& command, RunOptions& options);

// Returns the exit code; throws EngineError on bad input.
int runCommand(const RunOptions& options);

}  // namespace tidemark::engine
