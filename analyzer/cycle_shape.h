// How a cycle is named, for the native heap scan's cycles (cycles.cpp) and the Python object
// graph's (python_graph.cpp) alike.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/graph/compressed_sparse_row_graph.hpp>

#include "cycle_group.h"

namespace tidemark {

using CsrGraph = boost::compressed_sparse_row_graph<boost::directedS>;

// The distinct names of a cycle's members in the order of a walk round it: from the member with
// the smallest name, each step to the unvisited member it points to with the smallest name.
// names[k] names members[k]; visited (by vertex) marks the members walked.
std::vector<std::string> cycleShape(const CsrGraph& g, const std::vector<uint32_t>& members,
                                    const std::vector<std::string>& names, std::vector<uint8_t>& visited);

// Counts one cycle of that shape, with its members and their bytes, in its group (by shape text).
void countCycle(std::map<std::string, CycleGroup>& groups, std::vector<std::string> shape, uint64_t members, uint64_t bytes);
// The groups, the most bytes first.
std::vector<CycleGroup> largestFirst(std::map<std::string, CycleGroup>&& groups);

}  // namespace tidemark
