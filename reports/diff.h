// The change between two runs (traces or JSON summaries), per allocation site.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "profile.h"

namespace tidemark {

// "+1.50 MiB", "-512 B": a change in bytes with its sign.
std::string signedSize(int64_t v);

// Per-site change at the peak and in leaks, largest first.
std::string diffText(const MemoryProfile& base, const MemoryProfile& next, size_t top);
nlohmann::json diffJson(const MemoryProfile& base, const MemoryProfile& next);
// "frame;frame base new" lines for differential flamegraphs (flamegraph.pl's difffolded input).
std::string diffFolded(const MemoryProfile& base, const MemoryProfile& next, const std::string& metric);

}  // namespace tidemark
