// A per-thread cache of unwound stacks, so that an allocation site reached again through the same
// chain of calls costs a few compares instead of a DWARF unwind and a depot look-up.
//
// Key: the hook's return address and its CFA (where the caller's frame begins). An entry holds the
// stack id and the list of stack words that decided the unwind: each frame's return-address slot
// and, for frames whose CFA comes from rbp (frame pointers, alloca, VLAs), the slot where that rbp
// was saved. Unwinding is a function of the registers at the hook (fixed by the key: the hook keeps
// a frame pointer) and of those words, and every other frame has a size fixed by its pc, so if
// every recorded word still holds its value, a fresh unwind would give the same frames. Stacks with
// a signal frame or an unusual frame (rbp inside its own frame but not the standard frame pointer,
// as after stack realignment) are not cached.
//
// TIDEMARK_VERIFY_STACKS=1 unwinds on every hit as well and counts disagreements (tests use it).
#pragma once

#include <cstdint>

#include "python_runtime.h"
#include "stack_depot.h"
#include "tidemark/trace_format.h"

namespace tidemark::preload {

// Where an allocation function was called from: its return address and its frame pointer (the
// hooks keep one, so the caller's rbp is at frame[0], the return address at frame[1]).
struct CallSite {
  uintptr_t ret;
  uintptr_t frame;
  uintptr_t cfa() const { return frame + 16; }
};

struct StackCacheStats {
  uint64_t hits, misses, uncacheable, verified, mismatches;
};

class StackCache {
 public:
  static constexpr uint32_t kEntries = 4096;
  // The checks of all entries live in one ring, each entry's in a run of their own: a stack
  // needs as many as it has frames, a shallow one a few, a Python one through pandas a hundred.
  // An entry is valid while the ring has not come round over its run.
  static constexpr uint32_t kRing = 1 << 16;
  static constexpr uint32_t kMaxChecks = 256;  // deeper stacks are not cached

  struct Entry {
    uint64_t ret;
    uint64_t cfa;
    uint64_t first;  // where its checks begin in the ring (a count of checks ever written)
    StackId id;
    uint32_t epoch;
    uint32_t checks;
  };

  static constexpr uint32_t kWays = 4;  // one call site reached through several chains

  void clear(uint32_t i) { entries_[i].epoch = 0; }

  // Check i of the stack being unwound (i < kMaxChecks): stack word at cfa + offset held value.
  void writeCheck(uint32_t i, int32_t offset, uint64_t value) {
    uint32_t at = static_cast<uint32_t>(next_ + i) & (kRing - 1);
    ring_offset_[at] = offset;
    ring_value_[at] = value;
  }
  // Makes `e` the entry of this call with the `checks` checks just written.
  void commit(Entry& e, CallSite c, StackId id, uint32_t checks, uint32_t epoch) {
    e = {c.ret, c.cfa(), next_, id, epoch, checks};
    next_ += checks;
  }

  // The Python call chain of the thread's last stack with Python frames, outermost first, with the
  // id of each frame in the tree of chains (python_frames.h): a new chain usually differs in its
  // innermost frames only, and the frames it shares keep their ids without a look-up.
  struct PythonChain {
    uint32_t epoch;
    uint32_t count;
    uint64_t words[128];
    uint32_t ids[128];
  };
  PythonChain python_chain;

  // The two-word depot keys (Python frames and stacks, tracker.cpp) this thread interned lately,
  // direct-mapped: a hit costs no look-up in the depot's shared table, which is large and cold.
  struct Pair {
    uint64_t key[2];
    StackId id;
    uint32_t epoch;
  };
  static constexpr uint32_t kPairs = 4096;
  Pair& pairSlot(const uint64_t key[2]) {
    uint64_t h = (key[0] * 0x9e3779b97f4a7c15ull) ^ (key[1] * 0xff51afd7ed558ccdull);
    return pairs_[(h ^ (h >> 29)) & (kPairs - 1)];
  }

  // The code objects this thread's Python frames ran lately (python_frames.cpp), direct-mapped by
  // address: a hit costs no look-up in the registry's shared table, which is large and cold.
  struct Code {
    python::CodeKey key;
    uint32_t epoch;
    uint64_t id;
  };
  static constexpr uint32_t kCodes = 1024;
  Code& codeSlot(uint64_t address) {
    uint64_t h = address * 0x9e3779b97f4a7c15ull;
    return codes_[(h >> 40) & (kCodes - 1)];
  }

  // The cached id for this call, or 0; `victim` is the entry to overwrite after a miss.
  // `spread` (the next return addresses, hashed) picks the set, so that one wrapper such as
  // operator new, called at the same depth from many places, does not crowd a single set.
  StackId find(CallSite c, uint64_t spread, uint32_t epoch, Entry*& victim) {
    uint64_t h = (c.ret ^ (c.cfa() * 0x9e3779b97f4a7c15ull) ^ spread) * 0xff51afd7ed558ccdull;
    uint32_t set = static_cast<uint32_t>(h >> 40) & (kEntries / kWays - 1);
    Entry* ways = &entries_[set * kWays];
    const auto* base = reinterpret_cast<const uint8_t*>(c.cfa());
    for (uint32_t w = 0; w < kWays; ++w) {
      Entry& e = ways[w];
      if (e.ret != c.ret || e.cfa != c.cfa() || e.epoch != epoch) continue;
      // Runs the ring has come round over (or will, while the next stack is unwound) are stale.
      if (next_ + kMaxChecks - e.first > kRing) continue;
      uint32_t i = 0;
      for (uint32_t at = static_cast<uint32_t>(e.first); i < e.checks; ++i, ++at) {
        at &= kRing - 1;
        if (*reinterpret_cast<const uint64_t*>(base + ring_offset_[at]) != ring_value_[at]) break;
      }
      if (i == e.checks) return e.id;
    }
    // Round robin within the set.
    uint8_t& next = next_way_[set];
    victim = &ways[next];
    next = static_cast<uint8_t>((next + 1) % kWays);
    return 0;
  }

 private:
  Entry entries_[kEntries];
  uint8_t next_way_[kEntries / kWays];
  uint64_t next_;  // checks ever written (a new cache is a zeroed mapping)
  int32_t ring_offset_[kRing];  // from the CFA
  uint64_t ring_value_[kRing];
  Pair pairs_[kPairs];
  Code codes_[kCodes];
};

static_assert(sizeof(StackCache) <= tidemark::format::kTrackerBytesPerThread,
              "the analysis allows this much per thread");

extern __thread StackCache* t_stack_cache __attribute__((tls_model("initial-exec")));
extern uint32_t g_stack_cache_epoch;

StackCache* mapThreadStackCache();
// The calling thread's cache (mapped on first use, returned to a pool when the thread exits), or
// nullptr when none can be had. Inline: it is read on every allocation.
inline StackCache* threadStackCache() {
  StackCache* cache = t_stack_cache;
  return __builtin_expect(cache != nullptr, 1) ? cache : mapThreadStackCache();
}
// Makes every thread's entries stale (after fork, the depot's ids start over; after dlclose).
void invalidateStackCaches();
inline uint32_t stackCacheEpoch() { return __atomic_load_n(&g_stack_cache_epoch, __ATOMIC_ACQUIRE); }
// In a forked child: the depot's ids start over, so every cached stack is stale.
void resetStackCachesAfterFork();
StackCacheStats& stackCacheStats();
// Hands the calling thread's cache to the pool of ended threads' caches (at thread end).
void releaseThreadStackCache();

}  // namespace tidemark::preload
