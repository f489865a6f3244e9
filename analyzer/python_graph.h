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
#include "python_retained.h"
#include "replay.h"

namespace tidemark {

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
  // Of those, the cycles whose every member was made at start-up (an import running a module's
  // body, the interpreter starting itself): the modules', not the program's.
  uint64_t startup_cycle_count = 0, startup_cycle_objects = 0, startup_cycle_bytes = 0;
  uint64_t held_objects = 0, held_bytes = 0;
  // Shapes named "Type (file:line)" by the line that allocated each member; blocks = objects.
  std::vector<CycleGroup> cycle_groups;  // by bytes, largest first
  std::vector<uint64_t> garbage;         // the garbage objects' addresses (id() in CPython), ascending
  uint64_t alive_bytes = 0;              // the blocks the roots keep alive (objects and what they own)
  // Every group by retained bytes, largest first (at most kListedGroups).
  std::vector<RetainedGroup> retained;
};


// where(stack id) names the line that allocated a block ("broker.py:88"), "" when unknown;
// held_for_life(stack id): the block was made by the runtime or at start-up (an import), as the
// summary groups leaks.
PythonObjectFindings analyzePythonObjects(const ScanGraph& scan, const std::function<std::string(StackId)>& where,
                                          const std::function<bool(StackId)>& held_for_life);

}  // namespace tidemark
