#include "stack_cache.h"

#include <pthread.h>

#include "spinlock.h"
#include "sys.h"

namespace tidemark::preload {

__thread StackCache* t_stack_cache __attribute__((tls_model("initial-exec")));
uint32_t g_stack_cache_epoch = 1;

namespace {

StackCacheStats g_stats;
pthread_key_t g_key;
bool g_key_ready = false;
SpinLock g_pool_lock;
StackCache* g_pool[64];  // caches of exited threads, reused by new ones
uint32_t g_pool_size = 0;

__thread bool t_stack_cache_gone __attribute__((tls_model("initial-exec")));  // thread is exiting

void releaseCache(void* p) {
  auto* cache = static_cast<StackCache*>(p);
  t_stack_cache = nullptr;
  t_stack_cache_gone = true;
  // Another thread's stack may later occupy these addresses with a different extent: start empty.
  for (uint32_t i = 0; i < StackCache::kEntries; ++i) cache->clear(i);
  LockGuard guard(g_pool_lock);
  if (g_pool_size < sizeof g_pool / sizeof g_pool[0])
    g_pool[g_pool_size++] = cache;
  else
    sys::unmapAnonymous(cache, sizeof(StackCache));
}

}  // namespace

void initStackCache() {
  // pthread_key_create does not allocate; the key's slot is in the thread descriptor.
  g_key_ready = pthread_key_create(&g_key, releaseCache) == 0;
}

StackCache* mapThreadStackCache() {
  if (t_stack_cache_gone || !g_key_ready) return nullptr;
  StackCache* cache = nullptr;
  {
    LockGuard guard(g_pool_lock);
    if (g_pool_size) cache = g_pool[--g_pool_size];
  }
  if (!cache) cache = static_cast<StackCache*>(sys::mapAnonymous(sizeof(StackCache)));
  if (!cache) return nullptr;
  // Keys below PTHREAD_KEY_2NDLEVEL_SIZE (32) live in the thread descriptor: no allocation.
  if (pthread_setspecific(g_key, cache) != 0) {
    sys::unmapAnonymous(cache, sizeof(StackCache));
    t_stack_cache_gone = true;
    return nullptr;
  }
  t_stack_cache = cache;
  return cache;
}

void invalidateStackCaches() { __atomic_add_fetch(&g_stack_cache_epoch, 1, __ATOMIC_RELEASE); }

void resetStackCachesAfterFork() { invalidateStackCaches(); }
StackCacheStats& stackCacheStats() { return g_stats; }

}  // namespace tidemark::preload
