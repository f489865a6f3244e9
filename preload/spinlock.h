// A lock for the tracker's rare slow paths (new chunk, new stack, module map). Never held while
// unwinding or while calling into the real allocator.
#pragma once

#include <sched.h>

namespace tidemark::preload {

class SpinLock {
 public:
  void lock() {
    while (__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE)) {
      while (__atomic_load_n(&locked_, __ATOMIC_RELAXED)) sched_yield();
    }
  }
  void unlock() { __atomic_store_n(&locked_, false, __ATOMIC_RELEASE); }
  void reset() { __atomic_store_n(&locked_, false, __ATOMIC_RELAXED); }

 private:
  bool locked_ = false;
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
