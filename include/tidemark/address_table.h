// Linear probing with backward-shift deletion over slots the caller owns, keyed by a non-zero
// address (0 marks an empty slot). One implementation for the preload's live-block table (storage
// from mmap) and the analyzer's AddressMap (storage in a std::vector). Header-only, no allocation.
#pragma once

#include <cstdint>

namespace tidemark::address_table {

inline uint64_t home(uint64_t key, uint64_t mask) { return ((key * 0x9e3779b97f4a7c15ull) >> 24) & mask; }

// Index of the slot holding key, or of the empty slot where it belongs. The table is never full.
template <typename Slot>
uint64_t locate(const Slot* slots, uint64_t mask, uint64_t key) {
  uint64_t i = home(key, mask);
  while (slots[i].key != key && slots[i].key != 0) i = (i + 1) & mask;
  return i;
}

// Empties slot i and moves later members of its probe run back, so every key stays reachable.
template <typename Slot>
void vacate(Slot* slots, uint64_t mask, uint64_t i) {
  for (uint64_t j = (i + 1) & mask; slots[j].key != 0; j = (j + 1) & mask) {
    uint64_t h = home(slots[j].key, mask);
    bool movable = (j > i) ? (h <= i || h > j) : (h <= i && h > j);
    if (movable) {
      slots[i] = slots[j];
      i = j;
    }
  }
  slots[i].key = 0;
}

}  // namespace tidemark::address_table
