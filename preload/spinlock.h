// A lock for the tracker's rare slow paths (new chunk, new stack, module map). Never held while
// unwinding or while calling into the real allocator.
//
// fork() copies a lock held by another thread, and that thread does not exist in the child. So a
// lock remembers the fork generation in which it was taken: in a child (after forkGeneration was
// advanced by the tracker's fork handler, the first to run there) every lock taken before the fork
// is free. No lock needs a reset of its own, and none can be forgotten.
#pragma once

#include <sched.h>

#include <cstdint>

namespace tidemark::preload {

// Starts at 1 and never returns to 0 (a free lock); advanced only in a forked child, while it has
// one thread.
inline constinit uint32_t g_fork_generation = 1;
inline uint32_t forkGeneration() { return __atomic_load_n(&g_fork_generation, __ATOMIC_RELAXED); }
inline void advanceForkGeneration() {
  uint32_t next = g_fork_generation + 1;
  __atomic_store_n(&g_fork_generation, next ? next : 1, __ATOMIC_RELAXED);
}

class SpinLock {
 public:
  void lock() {
    const uint32_t mine = forkGeneration();
    for (;;) {
      uint32_t seen = __atomic_load_n(&holder_, __ATOMIC_RELAXED);
      // Free (0), or held in an earlier generation: by a thread that only the parent has.
      if (seen != mine) {
        if (__atomic_compare_exchange_n(&holder_, &seen, mine, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
        continue;
      }
      sched_yield();
    }
  }
  void unlock() { __atomic_store_n(&holder_, 0, __ATOMIC_RELEASE); }

 private:
  uint32_t holder_ = 0;  // 0: free; else the fork generation in which it was taken
};

class LockGuard {
 public:
  explicit LockGuard(SpinLock& l) : lock_(l) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace tidemark::preload
