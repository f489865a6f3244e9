#include "stack_cache.h"

#include "spinlock.h"
#include "sys.h"
#include "thread_end.h"

namespace tidemark::preload {

__thread StackCache* t_stack_cache __attribute__((tls_model("initial-exec")));
uint32_t g_stack_cache_epoch = 1;

namespace {

StackCacheStats g_stats;
SpinLock g_pool_lock;
StackCache* g_pool[64];  // caches of exited threads, reused by new ones
uint32_t g_pool_size = 0;

__thread bool t_stack_cache_gone __attribute__((tls_model("initial-exec")));  // thread is exiting

}  // namespace

void releaseThreadStackCache() {
  StackCache* cache = t_stack_cache;
  t_stack_cache = nullptr;
  t_stack_cache_gone = true;
  if (!cache) return;
  // Another thread's stack may later occupy these addresses with a different extent: start empty.
  for (uint32_t i = 0; i < StackCache::kEntries; ++i) cache->clear(i);
  LockGuard guard(g_pool_lock);
  if (g_pool_size < sizeof g_pool / sizeof g_pool[0])
    g_pool[g_pool_size++] = cache;
  else
    sys::unmapAnonymous(cache, sizeof(StackCache));
}

StackCache* mapThreadStackCache() {
  if (t_stack_cache_gone) return nullptr;
  StackCache* cache = nullptr;
  {
    LockGuard guard(g_pool_lock);
    if (g_pool_size) cache = g_pool[--g_pool_size];
  }
  if (!cache) cache = static_cast<StackCache*>(sys::mapAnonymous(sizeof(StackCache)));
  if (!cache) return nullptr;
  watchThreadEnd();
  t_stack_cache = cache;
  return cache;
}

void invalidateStackCaches() { __atomic_add_fetch(&g_stack_cache_epoch, 1, __ATOMIC_RELEASE); }

void resetStackCachesAfterFork() { invalidateStackCaches(); }
StackCacheStats& stackCacheStats() { return g_stats; }

}  // namespace tidemark::preload
