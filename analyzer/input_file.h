// Opening what a user or a trace names, safely: only regular files, never blocking (a FIFO, a
// terminal or /dev/zero is refused with a one-line reason instead of hanging or reading forever).
#pragma once

#include <cstdint>
#include <string>

namespace tidemark {

// Opens path read-only if it is a regular file; size gets its length. Throws Error naming `what`
// ("trace", "baseline") and the reason.
int openRegularFile(const std::string& path, const char* what, uint64_t& size);

// The whole file, at most max_bytes long (a longer one is refused). Throws Error.
std::string readRegularFile(const std::string& path, const char* what, uint64_t max_bytes);

// Opens path read-only if it is a regular file, or returns -1: for files a trace names (modules).
int openRegularFileOrNone(const std::string& path);

}  // namespace tidemark
