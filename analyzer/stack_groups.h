// Allocation sites: stacks folded to the frames a person recognizes (allocator and library frames
// at the leaf end dropped), and what the stacks of each site did together.
#pragma once

#include <cstdint>
#include <vector>

#include "replay.h"
#include "symbolizer.h"

namespace tidemark {

// Stacks that fold to the same frames (an allocation site), with what they did together.
struct StackGroup {
  std::vector<Frame> frames;  // leaf first; allocator and library frames folded unless --full
  uint64_t peak_bytes = 0, peak_blocks = 0;  // live at the heap peak
  uint64_t live_bytes = 0, live_blocks = 0;  // live at the end of the trace
  uint64_t allocations = 0, allocated_bytes = 0;
  uint64_t temporary = 0, temporary_bytes = 0;
  bool runtime = false;  // no frame outside the C/C++ runtime and system libraries
  std::vector<StackId> stacks;  // the stacks folded into this group
};

// Where a stack is named: its first frame that is not the allocator's or the runtime's (frames[0]
// when all are). Findings, leaks and diffs name a site by this frame, with or without --full.
size_t siteIndex(const std::vector<Frame>& frames);
const Frame& siteFrame(const std::vector<Frame>& frames);

// Drops the allocator and library frames at the leaf end (unless full). Sets runtime when every
// frame is a library frame, in which case the stack is kept whole.
std::vector<Frame> foldStack(const std::vector<Frame>& frames, bool full, bool& runtime);

// Every stack grouped by its folded frames (unsorted).
std::vector<StackGroup> groupStacks(const ReplayResult& run, Symbolizer& symbols, bool full);

}  // namespace tidemark
