// The open-addressing tables of the tracker's interning (stack_depot.h, python_frames.cpp): look-ups
// without a lock, inserts under the owner's lock, and a table that never moves once published (a
// bigger one replaces it; the old one stays mapped for readers still in it). Slot: any struct
// whose `hash` is 0 when empty and written last, with release.
#pragma once

#include <cstdint>

#include "sys.h"

namespace tidemark::preload {

template <class Slot>
struct HashTable {
  Slot* slots;
  uint64_t mask, used;

  bool full() const { return used * 2 >= mask + 1; }

  // A table twice the size of `old` (or of `initial_slots` slots) holding its slots; nullptr when
  // no memory can be mapped. The caller publishes it.
  static HashTable* grown(const HashTable* old, uint64_t initial_slots) {
    uint64_t count = old ? (old->mask + 1) * 2 : initial_slots;
    void* mem = sys::mapAnonymous(sizeof(HashTable) + count * sizeof(Slot));
    if (!mem) return nullptr;
    auto* t = static_cast<HashTable*>(mem);
    t->slots = reinterpret_cast<Slot*>(t + 1);
    t->mask = count - 1;
    t->used = 0;
    if (old)
      for (uint64_t i = 0; i <= old->mask; ++i)
        if (old->slots[i].hash) *t->emptySlot(old->slots[i].hash) = old->slots[i], ++t->used;
    return t;
  }

  // Where a new slot of this hash goes (the table must not be full).
  Slot* emptySlot(uint64_t hash) {
    uint64_t j = hash & mask;
    while (slots[j].hash) j = (j + 1) & mask;
    return &slots[j];
  }
};

}  // namespace tidemark::preload
