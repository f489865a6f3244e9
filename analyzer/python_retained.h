// What keeps memory alive in a Python object graph (python_graph.h): a graph of the scan's blocks,
// its dominator tree from a virtual root, and per group of objects (type and allocating line) the
// bytes that would be freed with it, the bytes it holds, and the chain of objects it is held
// through. Used by analyzePythonObjects; method: docs/python.md, "Retained sizes".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "python_graph.h"

namespace tidemark {

// The objects of a graph, each in a group named by its type and the line that allocated it.
struct ObjectGroups {
  std::vector<uint32_t> of_object;  // group per object
  std::vector<std::string> names;   // per group: "dict (universe.py:12)"
};

// The block of every object (blockOf; -1 outside every block) and of every reference's target
// (references in py.references' order), and the object each reference leads to (-1: none).
struct GraphBlocks {
  std::vector<int64_t> of_object, of_target;
  std::vector<int32_t> target_object;
};

// Fills out.alive_bytes and out.retained.
void findRetained(const ScanGraph& scan, const CollectorView& view, const ObjectGroups& groups, const GraphBlocks& blocks,
                  PythonObjectFindings& out);

}  // namespace tidemark
