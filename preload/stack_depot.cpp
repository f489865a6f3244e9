#include "stack_depot.h"

#include <sys/mman.h>

#include <cstring>

#include "spinlock.h"
#include "sys.h"

namespace tidemark::preload {

namespace {

SpinLock g_depot_lock;
constexpr uint64_t kInitialSlots = 1 << 14;
constexpr size_t kArenaBlock = 1 << 20;

uint64_t hashFrames(const uint64_t* frames, uint32_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  for (uint32_t i = 0; i < n; ++i) {
    h ^= frames[i];
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h ? h : 1;
}

}  // namespace

StackDepot& depot() {
  static constinit StackDepot d;
  return d;
}

StackId StackDepot::find(const Table* t, uint64_t hash, const uint64_t* frames, uint32_t n) const {
  for (uint64_t i = hash & t->mask;; i = (i + 1) & t->mask) {
    const Slot& s = t->slots[i];
    uint64_t h = __atomic_load_n(&s.hash, __ATOMIC_ACQUIRE);
    if (h == 0) return 0;
    if (h == hash && s.n == n && memcmp(s.frames, frames, n * sizeof(uint64_t)) == 0) return s.id;
  }
}

const uint64_t* StackDepot::store(const uint64_t* frames, uint32_t n) {
  static const uint64_t kNoFrames[1] = {0};
  if (n == 0) return kNoFrames;  // a stack that could not be unwound is still a stack
  size_t bytes = n * sizeof(uint64_t);
  if (arena_left_ < bytes) {
    void* block = sys::mapAnonymous(kArenaBlock);
    if (!block) return nullptr;
    arena_ = static_cast<uint8_t*>(block);
    arena_left_ = kArenaBlock;
  }
  auto* out = reinterpret_cast<uint64_t*>(arena_);
  memcpy(out, frames, bytes);
  arena_ += bytes;
  arena_left_ -= bytes;
  return out;
}

bool StackDepot::grow() {
  Table* t = Table::grown(table_, kInitialSlots);
  if (!t) return false;
  __atomic_store_n(&table_, t, __ATOMIC_RELEASE);
  return true;
}

StackId StackDepot::intern(const uint64_t* frames, uint32_t n, bool& is_new) {
  is_new = false;
  uint64_t hash = hashFrames(frames, n);
  if (const Table* t = __atomic_load_n(&table_, __ATOMIC_ACQUIRE)) {
    if (StackId id = find(t, hash, frames, n)) return id;
  }
  LockGuard guard(g_depot_lock);
  if (!table_ || table_->full()) {
    if (!grow()) return 0;
  }
  Table* t = table_;
  if (StackId id = find(t, hash, frames, n)) return id;
  const uint64_t* stored = store(frames, n);
  if (!stored) return 0;

  Slot& s = *t->emptySlot(hash);
  s.frames = stored;
  s.n = n;
  s.id = next_id_++;
  ++t->used;
  __atomic_store_n(&s.hash, hash, __ATOMIC_RELEASE);
  is_new = true;
  return s.id;
}

void StackDepot::resetAfterFork() {
  // The child's trace has none of the parent's stack definitions: start over (the parent's
  // tables stay mapped and unused; a fork of a process with many stacks wastes that memory).
  table_ = nullptr;
  next_id_ = 1;
  arena_ = nullptr;
  arena_left_ = 0;
}

}  // namespace tidemark::preload
