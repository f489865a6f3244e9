// Linear probing with backward-shift deletion over slots the caller owns, keyed by a non-zero
// address (0 marks an empty slot). One implementation for the preload's live-block table (storage
// from mmap) and the analyzer's AddressMap (storage in a std::vector). Header-only, no allocation.
#pragma once

#include <cstdint>

namespace tidemark::address_table {

// Where a key's probe run starts. Scattered: the address hashed (Fibonacci hashing), so that no
// layout of the heap makes long runs. InPlace: the address itself in 16-byte steps, so that blocks
// malloc carved one after another sit in neighbouring slots and a replay that follows the program
// walks the table nearly in order (the bench workload's trace read 14% faster); but heaps that
// overlap modulo the table's size pile into one run, so AddressMap leaves it when a run grows long.
enum class Home { Scattered, InPlace };

template <Home kHome = Home::Scattered>
inline uint64_t home(uint64_t key, uint64_t mask) {
  if constexpr (kHome == Home::InPlace) return (key >> 4) & mask;
  return ((key * 0x9e3779b97f4a7c15ull) >> 24) & mask;
}

// Index of the slot holding key, or of the empty slot where it belongs. The table is never full.
template <Home kHome = Home::Scattered, typename Slot>
uint64_t locate(const Slot* slots, uint64_t mask, uint64_t key) {
  uint64_t i = home<kHome>(key, mask);
  while (slots[i].key != key && slots[i].key != 0) i = (i + 1) & mask;
  return i;
}

// Empties slot i and moves later members of its probe run back, so every key stays reachable.
// Returns how many slots after i it looked at (the rest of the run).
template <Home kHome = Home::Scattered, typename Slot>
uint64_t vacate(Slot* slots, uint64_t mask, uint64_t i) {
  uint64_t looked = 0;
  for (uint64_t j = (i + 1) & mask; slots[j].key != 0; j = (j + 1) & mask) {
    ++looked;
    uint64_t h = home<kHome>(slots[j].key, mask);
    bool movable = (j > i) ? (h <= i || h > j) : (h <= i && h > j);
    if (movable) {
      slots[i] = slots[j];
      i = j;
    }
  }
  slots[i].key = 0;
  return looked;
}

}  // namespace tidemark::address_table
