// Allocation sites: stacks folded to the frames a person recognizes (allocator and library frames
// at the leaf end dropped), and what the stacks of each site did together.
#pragma once

#include <cstdint>
#include <vector>

#include "replay.h"
#include "symbolizer.h"

namespace tidemark {

// Who holds what a stack allocated, when it is still live at exit. Runtime and StartUp memory is
// held for the life of the process by design: shown on its own line, never counted as leaked.
enum class Holder {
  Program,  // the program's code allocated it: a leak if still live at exit
  Runtime,  // the C/C++ runtime for itself (stdio buffers, libstdc++'s exception pool, the loader's
            // tables, locale data, NSS): what valgrind's freeres releases
  StartUp,  // a static initialiser before main (the C runtime's init, not main, is below it), an
            // interpreter starting itself, a Python import (importlib's frames below it)
};

// Stacks that fold to the same frames (an allocation site), with what they did together.
struct StackGroup {
  std::vector<Frame> frames;  // leaf first; allocator and library frames folded unless --full
  uint64_t peak_bytes = 0, peak_blocks = 0;  // live at the heap peak
  uint64_t live_bytes = 0, live_blocks = 0;  // live at the end of the trace
  uint64_t allocations = 0, allocated_bytes = 0;
  uint64_t temporary = 0, temporary_bytes = 0;
  // Sample mode: the variance of peak_bytes and live_bytes, estimates there (0 otherwise).
  double peak_variance = 0, live_variance = 0;
  Holder holder = Holder::Program;
  bool heldForLife() const { return holder != Holder::Program; }
  std::vector<StackId> stacks;  // the stacks folded into this group
};

// Where a stack is named: its first frame that is not the allocator's or the runtime's (frames[0]
// when all are). Findings, leaks and diffs name a site by this frame, with or without --full.
size_t siteIndex(const std::vector<Frame>& frames);
size_t siteIndex(const std::vector<const Frame*>& frames);
const Frame& siteFrame(const std::vector<Frame>& frames);

// Drops the allocator and runtime frames at the leaf end, and the C runtime's start-up below main
// (unless full); says who holds what the stack allocated. A stack of runtime frames only is kept
// whole (minus the tracker's own frames).
std::vector<const Frame*> foldStack(const std::vector<const Frame*>& frames, bool full, Holder& holder);
// The same into `out` (cleared first; not `frames`), for a caller that folds every stack with one buffer.
void foldStack(const std::vector<const Frame*>& frames, bool full, Holder& holder, std::vector<const Frame*>& out);

// Every stack grouped by its folded frames (unsorted).
std::vector<StackGroup> groupStacks(const ReplayResult& run, Symbolizer& symbols, bool full);

// What the stacks of each group did in one thread (an index into run.threads): the same groups,
// frames and order, with that thread's figures (at the heap peak of the process, at its end,
// allocated, temporary).
std::vector<StackGroup> threadShare(const ReplayResult& run, const std::vector<StackGroup>& groups, uint32_t thread);

}  // namespace tidemark
