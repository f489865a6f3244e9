// The tracker's per-thread stack cache (preload/stack_cache.h) on a stack of its own: a hit needs
// every recorded word to hold its value, and an entry whose checks the ring has come round over
// misses even where the words it would now compare happen to match.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "../../preload/stack_cache.h"

namespace {

using tidemark::preload::CallSite;
using tidemark::preload::StackCache;

struct MappedCache {
  StackCache* cache = static_cast<StackCache*>(
      mmap(nullptr, sizeof(StackCache), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ~MappedCache() { munmap(cache, sizeof(StackCache)); }
};

constexpr uint32_t kEpoch = 1;

// Caches `id` for `site` with `count` checks, each of a zero word at the CFA onwards.
StackCache::Entry* cacheZeros(StackCache& cache, CallSite site, uint32_t id, uint32_t count) {
  StackCache::Entry* victim = nullptr;
  EXPECT_EQ(cache.find(site, 0, kEpoch, victim), 0u);
  for (uint32_t i = 0; i < count; ++i) cache.writeCheck(i, static_cast<int32_t>(8 * i), 0);
  cache.commit(*victim, site, id, count, kEpoch);
  return victim;
}

TEST(StackCache, AHitNeedsEveryRecordedWord) {
  MappedCache mapped;
  alignas(16) uint64_t stack[64] = {};
  const CallSite site{0x1234, reinterpret_cast<uintptr_t>(stack)};  // CFA: &stack[2]
  cacheZeros(*mapped.cache, site, 7, 8);
  StackCache::Entry* victim = nullptr;
  EXPECT_EQ(mapped.cache->find(site, 0, kEpoch, victim), 7u);
  stack[9] = 1;  // the last checked word
  EXPECT_EQ(mapped.cache->find(site, 0, kEpoch, victim), 0u);
  stack[9] = 0;
  EXPECT_EQ(mapped.cache->find(site, 0, kEpoch + 1, victim), 0u);  // stale after fork or dlclose
  EXPECT_EQ(mapped.cache->find(site, 0, kEpoch, victim), 7u);
}

TEST(StackCache, AnEntryMissesOnceTheRingComesRoundOverItsChecks) {
  MappedCache mapped;
  StackCache& cache = *mapped.cache;
  alignas(16) uint64_t stack[64] = {};
  const CallSite site{0x1234, reinterpret_cast<uintptr_t>(stack)};
  StackCache::Entry* entry = cacheZeros(cache, site, 7, 8);
  // Another call site, in another set, fills the ring with checks identical to the entry's own.
  CallSite other{0x5678, reinterpret_cast<uintptr_t>(stack)};
  for (;;) {  // a victim more than three entries away is in another set
    StackCache::Entry* victim = nullptr;
    cache.find(other, 0, kEpoch, victim);
    if (victim < entry - 3 || victim > entry + 3) break;
    ++other.ret;
  }
  // Checks written so far: 8. The entry is kept while the next unwind cannot reach its run.
  const uint32_t last_valid = (StackCache::kRing - StackCache::kMaxChecks - 8) / 8;
  uint32_t others = 0;
  for (;;) {
    StackCache::Entry* victim = nullptr;
    if (cache.find(site, 0, kEpoch, victim) != 7u) break;
    ASSERT_LE(others, last_valid);
    // Seven zero words and stack[63], which changes so that each of these is a miss; every
    // check holds for the current stack, so only the ring's bookkeeping can make the entry miss.
    stack[63] = ++others;
    ASSERT_EQ(cache.find(other, 0, kEpoch, victim), 0u);
    for (uint32_t i = 0; i < 7; ++i) cache.writeCheck(i, static_cast<int32_t>(8 * i), 0);
    cache.writeCheck(7, 8 * 61, others);
    cache.commit(*victim, other, 9, 8, kEpoch);
  }
  EXPECT_EQ(others, last_valid + 1);
  EXPECT_EQ(entry->id, 7u);  // the entry itself was never evicted
}

}  // namespace
