// Appends records to a finished (or abandoned) trace from outside the traced process: the
// `tidemark run` wrapper uses it to record how the process ended.
#pragma once

#include <cstdint>
#include <string>

namespace tidemark {

// Records that the process exited with `code`, or was killed by signal `code`, `time_ns` after it
// started. Throws Error when the trace cannot be opened or grown.
void appendProcessEnd(const std::string& path, bool signaled, int code, uint64_t time_ns);

}  // namespace tidemark
