// Interns native stacks: the same stack is written to the trace once and referred to by a 32-bit
// id afterwards. Look-ups are lock-free; only inserting a new stack takes a lock. Memory comes
// from mmap, never from the tracked allocator.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hash_table.h"

namespace tidemark::preload {

using StackId = uint32_t;

class StackDepot {
 public:
  // Returns the id of frames[0..n); sets is_new when this call created it (the caller then writes
  // the StackDef record). Returns 0 when the depot is out of memory (stack recorded as unknown).
  StackId intern(const uint64_t* frames, uint32_t n, bool& is_new);
  void resetAfterFork();

 private:
  struct Slot {
    uint64_t hash;  // 0 = empty; written last, with release
    const uint64_t* frames;
    uint32_t n;
    StackId id;
  };
  using Table = HashTable<Slot>;

  StackId find(const Table* t, uint64_t hash, const uint64_t* frames, uint32_t n) const;
  bool grow();
  const uint64_t* store(const uint64_t* frames, uint32_t n);

  Table* table_ = nullptr;  // published with release; old tables are never freed
  uint32_t next_id_ = 1;
  uint8_t* arena_ = nullptr;
  size_t arena_left_ = 0;
};

StackDepot& depot();

}  // namespace tidemark::preload
