// What the conservative scan says is lost, and which lost blocks keep each other alive in cycles.
// The graph (blocks, pointer edges, roots) goes into a Boost.Graph compressed sparse row graph;
// reachability is a breadth-first search from every rooted block; cycles are the strongly
// connected components of the lost blocks. Method: docs/cycles.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cycle_group.h"
#include "replay.h"

namespace tidemark {

struct LostSite {
  std::string site;
  uint64_t blocks = 0, bytes = 0;
};

struct LeakGraph {
  bool available = false;
  std::string unavailable_reason;
  double scan_seconds = 0;
  uint32_t reason = 0;  // format::ScanReason: at exit, on the scan signal, on tidemark.scan()
  uint64_t time_ns = 0;
  uint64_t words = 0, root_bytes = 0;
  uint64_t blocks = 0;
  uint64_t reachable_blocks = 0, reachable_bytes = 0;
  // valgrind memcheck's classes: per group of lost blocks that nothing else lost points into, one
  // "leader" (the lowest address) is definitely lost and the rest indirectly lost.
  uint64_t definite_blocks = 0, definite_bytes = 0, indirect_blocks = 0, indirect_bytes = 0;
  // Of the lost blocks, those the program's code made (not held for life: the runtime's, start-up's).
  uint64_t program_lost_blocks = 0, program_lost_bytes = 0;
  // tidemark's classes: blocks in leaked cycles; lost blocks outside cycles that nothing points to
  // (plain leaks); lost blocks outside cycles held only by other lost blocks.
  uint64_t cycle_count = 0, cycle_blocks = 0, cycle_bytes = 0;
  uint64_t plain_blocks = 0, plain_bytes = 0;
  uint64_t held_blocks = 0, held_bytes = 0;
  uint64_t reachable_cycles = 0;  // cycles among reachable blocks (a cache of linked objects): not leaks
  std::vector<CycleGroup> cycle_groups;  // by bytes, largest first
  std::vector<LostSite> plain_sites;     // by bytes, largest first

  bool atExit() const { return available && reason == static_cast<uint32_t>(format::ScanReason::Exit); }
  // The scan at exit found none of the program's blocks lost: what it left live was still reachable
  // (memcheck's "still reachable"), held to the end and freed by the exit, not leaked.
  bool nothingLostAtExit() const { return atExit() && !program_lost_blocks; }
};

// site(stack id) names the allocation site of a block, as the summary does; held_for_life(stack
// id): the summary's holder of the block is the runtime or start-up code, not the program.
LeakGraph analyzeLeakGraph(const ScanGraph& scan, const std::function<std::string(StackId)>& site,
                           const std::function<bool(StackId)>& held_for_life);

}  // namespace tidemark
