// The Python object graph's findings (analyzer/python_graph.h) as `tidemark summary` shows them:
// what keeps memory alive, the garbage only the cycle collector would free, and how the groups of
// objects grew between two scans.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "python_graph.h"

namespace tidemark {

// When a scan was made: "at exit", "on the scan signal at 4.2 s", "on tidemark.scan() at 4.2 s";
// and as the JSON names its reason ("exit", "signal", "request").
std::string scanWhen(uint32_t reason, uint64_t time_ns);
const char* scanReasonKey(uint32_t reason);

void writePythonObjects(std::ostream& out, const PythonObjectFindings& g, const PythonGrowth& growth);
nlohmann::json pythonObjectsJson(const PythonObjectFindings& g);
nlohmann::json pythonGrowthJson(const PythonGrowth& growth);
// One group's growth, as python_growth and `diff --format json` list it.
nlohmann::json retainedGrowthJson(const RetainedGrowth& g);

// "+2.10 MiB  list (universe.py:12): 20 → 60 objects, holding 1.05 MiB → 3.15 MiB"
std::string growthLine(const RetainedGrowth& g);
// Growth below this is not listed in text and HTML (JSON lists it).
inline constexpr int64_t kListedGrowthBytes = 1024;
// A group by its type and line, with the name of its one object ("__main__.load_universe:
// functools._lru_cache_wrapper (universe.py:9)"); a group of several keeps its type and line.
std::string groupName(const std::string& name, const std::string& global, uint64_t objects);
// "__main__.load_universe: functools._lru_cache_wrapper (universe.py:9) in 1 object",
// "module in 5 objects, the largest module __main__"
std::string groupLabel(const std::string& name, const std::string& global, uint64_t objects);

}  // namespace tidemark
