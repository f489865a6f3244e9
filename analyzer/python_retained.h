// What keeps memory alive in a Python object graph (python_graph.h): a graph of the scan's blocks,
// its dominator tree from a virtual root, and per group of objects (type and allocating line) the
// bytes that would be freed with it, the bytes it holds, and the chain of objects it is held
// through. Used by analyzePythonObjects; method: docs/python.md, "Retained sizes".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replay.h"

namespace tidemark {

// Objects grouped by type and allocating line, with what they keep alive: the bytes that would be
// freed if they went (their retained size: the blocks they dominate in the graph of references
// from the roots, a member inside another member of the same group counted once).
struct RetainedGroup {
  std::string name;             // "dict (universe.py:12)"
  // The name of its largest member, if it has one: a module global ("universe.load_universe"), a
  // module ("module universe") or its dict ("globals of universe").
  std::string global;
  bool holds_modules = false;  // its largest member is a module, a module's globals or sys.modules
  uint64_t objects = 0, own_bytes = 0, retained_bytes = 0;
  // The blocks whose nearest dominating object is a member (the members' own, and what only they
  // hold that no other object nearer holds): the groups' held bytes add up to alive_bytes.
  uint64_t held_bytes = 0;
  // What its largest member is kept alive through, from a root ("globals of universe",
  // "universe.load_universe (functools._lru_cache_wrapper)", "dict (universe.py:20)").
  std::vector<std::string> chain;
};

inline constexpr size_t kRetainedGroups = 20, kListedGroups = 2000;

// A group (type and allocating line) that holds more from one scan to a later one (or from one
// run to another). Ranked by held bytes, which add up over the groups, so that what contains the
// growth (a module, sys.modules) is not taken for where it is.
struct RetainedGrowth {
  std::string name, global;
  std::vector<std::string> chain;  // at the later scan
  uint64_t objects_before = 0, objects_after = 0, held_before = 0, held_after = 0, retained_before = 0, retained_after = 0;
  int64_t grown() const { return static_cast<int64_t>(held_after) - static_cast<int64_t>(held_before); }
};
// How the groups grew from the first scan with an object graph to the last.
struct PythonGrowth {
  bool available = false;
  uint64_t from_ns = 0, to_ns = 0;
  uint32_t from_reason = 0, to_reason = 0;  // format::ScanReason
  std::vector<RetainedGrowth> groups;      // most grown first
};

// The groups that grew, most first (a group listed in `after` only grew from nothing).
std::vector<RetainedGrowth> retainedGrowth(const std::vector<RetainedGroup>& before, const std::vector<RetainedGroup>& after);

// The collector's view of a graph: per object, whether it is referred to from outside the tracked
// objects (a root) and whether a root reaches it (alive); the rest is garbage.
struct CollectorView {
  std::vector<uint8_t> root, alive;
  uint64_t roots = 0;
};

// The objects of a graph, each in a group named by its type and the line that allocated it.
struct ObjectGroups {
  std::vector<uint32_t> of_object;  // group per object
  std::vector<std::string> names;   // per group: "dict (universe.py:12)"
};

// The live block every object lies in (-1 outside every block: a static object, or one the trace
// did not see allocated) and every reference's target (in py.references' order).
struct GraphBlocks {
  std::vector<int64_t> of_object, of_target;
};

// What the roots keep alive, and the groups by retained bytes (largest first, at most kListedGroups).
struct RetainedSizes {
  uint64_t alive_bytes = 0;
  std::vector<RetainedGroup> groups;
};
RetainedSizes findRetained(const ScanGraph& scan, const CollectorView& view, const ObjectGroups& groups, const GraphBlocks& blocks);

}  // namespace tidemark
