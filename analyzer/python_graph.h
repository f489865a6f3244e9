// What the interpreter's object graph (replay.h's PythonObjectGraph) says: which objects only the
// cycle collector would free, and the shapes of the cycles that hold them. The collector's own
// rule decides (Python/gc.c): an object's references from other tracked objects are subtracted
// from its reference count; what is left over comes from outside (a frame, a C global, an
// untracked container), which makes the object a root; everything the roots reach is alive, the
// rest is garbage, exactly what gc.DEBUG_SAVEALL would save. Nothing is collected to find out.
// Method: docs/python.md, "Object graphs".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cycle_group.h"
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
  uint64_t objects = 0, own_bytes = 0, retained_bytes = 0;
  // The blocks whose nearest dominating object is a member (the members' own, and what only they
  // hold that no other object nearer holds): the groups' held bytes add up to alive_bytes.
  uint64_t held_bytes = 0;
  // What its largest member is kept alive through, from a root ("globals of universe",
  // "universe.load_universe (functools._lru_cache_wrapper)", "dict (universe.py:20)").
  std::vector<std::string> chain;
};

struct PythonObjectFindings {
  bool available = false;
  std::string unavailable_reason;
  uint64_t time_ns = 0;
  uint32_t reason = 0;  // format::ScanReason of the scan it came with
  double analysis_seconds = 0;  // what this analysis took
  uint64_t objects = 0, roots = 0;
  uint64_t garbage_objects = 0, garbage_bytes = 0;
  // Garbage in cycles (strongly connected, instance→class references aside), and garbage outside
  // them that only cycles keep (a list a cycle's member holds).
  uint64_t cycle_count = 0, cycle_objects = 0, cycle_bytes = 0;
  uint64_t held_objects = 0, held_bytes = 0;
  // Shapes named "Type (file:line)" by the line that allocated each member; blocks = objects.
  std::vector<CycleGroup> cycle_groups;  // by bytes, largest first
  std::vector<uint64_t> garbage;         // the garbage objects' addresses (id() in CPython), ascending
  uint64_t alive_bytes = 0;              // the blocks the roots keep alive (objects and what they own)
  // Every group by retained bytes, largest first (at most kListedGroups).
  std::vector<RetainedGroup> retained;
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

// The live block an object lies in (its header, and in 3.12+ the words before it, are the
// block's start), or -1 (a static object, or one the trace did not see allocated).
int64_t blockOf(const ScanGraph& scan, uint64_t address);

// where(stack id) names the line that allocated a block ("broker.py:88"), "" when unknown.
PythonObjectFindings analyzePythonObjects(const ScanGraph& scan, const std::function<std::string(StackId)>& where);

}  // namespace tidemark
