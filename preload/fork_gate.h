// Forks kept out of the sections whose locks a child would inherit held.
//
// fork() copies a lock held by another thread, and that thread does not exist in the child. The
// tracker's own locks allow for it (spinlock.h); two it relies on do not:
// - glibc (2.36, Debian 12) does not free in the child the lock dl_iterate_phdr holds while it
//   walks the loaded modules (dl_load_write_lock): a child forked during a walk hangs in its first;
// - libunwind (1.6, Debian 12) steps under a lock of its address space's cache: a child forked
//   while another thread steps hangs in its first step.
// A program without the tracker seldom does either (an exception's unwind walks); under it, every
// thread unwinds on its new stacks and every child at once (its module map, its first stacks).
// So those sections (every dl_iterate_phdr, through the hook in hooks.cpp, the program's own
// included, and every unwind by libunwind) are counted, and the tracker's fork handler holds new
// ones back and waits for those under way before the fork.
//
// A section that does not end (a walk's callback that waits for the forking thread, or sleeps) is
// waited for up to kForkWaitNs; the fork then goes ahead, and the child, whose next unwind could
// hang, records nothing more: its trace says why (StopReason::LockedAtFork).
#pragma once

#include <cstdint>

namespace tidemark::preload {

inline constexpr uint64_t kForkWaitNs = 1'000'000'000;

// Around each section. A thread's nested sections (a walk's callback that allocates, and so
// unwinds) count once and never wait.
void enterForkGatedSection();
void leaveForkGatedSection();

class ForkGatedSection {
 public:
  ForkGatedSection() { enterForkGatedSection(); }
  ~ForkGatedSection() { leaveForkGatedSection(); }
  ForkGatedSection(const ForkGatedSection&) = delete;
  ForkGatedSection& operator=(const ForkGatedSection&) = delete;
};

// The fork handlers (tracker.cpp). Before the fork: holds new sections back and waits for those
// under way. After it, in the parent or the child: lets them go on again.
void closeForkGate();
void openForkGateInParent();
void openForkGateInChild();
// In a forked child: a section was under way at the fork (another thread's, past the wait, or the
// forking thread's own), so a lock may be held for ever and no unwind is safe.
bool sectionWasUnderWayAtFork();

}  // namespace tidemark::preload
