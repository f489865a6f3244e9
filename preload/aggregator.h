// Aggregated mode: per-stack counters and process totals kept in the trace file's own pages
// (MAP_SHARED, so they survive kill -9), and live blocks in a private table. One lock serializes
// the accounting, which gives the same order as the full log's sequence numbers: a release is
// accounted before the memory goes back to the allocator, an allocation after it was obtained.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack_depot.h"
#include "tidemark/trace_format.h"

namespace tidemark::preload {

class Aggregator {
 public:
  bool active() const { return totals_ != nullptr; }
  void start(format::AggregateTotals* totals, uint32_t chunk_size);
  void resetAfterFork();

  void allocated(StackId stack, uint64_t addr, uint64_t size);
  // Removes addr before it is released; returns false for a block we never saw.
  bool released(uint64_t addr);
  // realloc: take the old block out first; then either move it or put it back.
  struct Taken {
    bool known;
    uint64_t size;
    StackId stack;
  };
  Taken take(uint64_t addr);
  void reallocated(const Taken& old, StackId stack, uint64_t new_addr, uint64_t size);  // new_addr 0: freed
  void restore(uint64_t addr, const Taken& old);                                          // realloc failed

  void mapped(StackId stack, uint64_t addr, uint64_t size);
  void unmapped(uint64_t addr, uint64_t size);

  // Full mode with the heap scan on: the live-block table alone, without counters.
  void track(uint64_t addr, uint64_t size, StackId stack);
  void untrack(uint64_t addr);

  struct Block {
    uint64_t key;  // the address; 0 = empty
    uint64_t size;
    StackId stack;
  };
  // The heap scan: holds the lock (no block can be released meanwhile) and hands over the table
  // (slots, slot count, blocks in use).
  template <typename F>
  void withBlocks(F&& visit);

  // The StackLevels: calls visit(stack, live bytes, the most it held since the last call) for every
  // stack whose bytes changed since the last call, in ascending order of stack id. Only pages of counters written since the last call are read (the values without
  // the aggregator's lock: each as a counter held it at some moment since). One caller at a time.
  template <typename F>
  void forEachChangedLevel(F&& visit);

  uint64_t heapLive() const { return totals_ ? __atomic_load_n(&totals_->heap_live, __ATOMIC_RELAXED) : 0; }
  uint64_t mmapLive() const { return totals_ ? __atomic_load_n(&totals_->mmap_live, __ATOMIC_RELAXED) : 0; }

 private:
  struct Region {
    uint64_t start, end;
    StackId stack;
  };
  format::StackCounters* counters(StackId id);  // touched for the peak epoch
  void removeBlock(uint64_t size, StackId stack);
  void addBlock(uint64_t addr, uint64_t size, StackId stack);
  void checkPeak();
  bool insert(const Block& b);
  bool erase(uint64_t addr, Block& out);
  bool grow();
  static void* mapLevels(uint32_t per_page);  // zeroed memory for one page's levels_written_
  // After a stack's live bytes changed (not before: the levels clear the flag, then read); `live`:
  // its bytes now, the most since the last levels when they rose.
  void levelChanged(StackId stack, uint64_t live, bool rose) {
    const uint32_t page = stack / per_page_;
    if (page >= kPages) return;
    if (rose) {
      uint64_t* high = levels_high_[page];
      if (!high && (high = static_cast<uint64_t*>(mapLevels(per_page_))))
        __atomic_store_n(&levels_high_[page], high, __ATOMIC_RELEASE);
      uint64_t* h = high ? &high[stack % per_page_] : nullptr;
      if (h && live > __atomic_load_n(h, __ATOMIC_RELAXED)) __atomic_store_n(h, live, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&page_written_[page], 1, __ATOMIC_RELEASE);
  }

  static constexpr uint32_t kPages = 16384;
  format::AggregateTotals* totals_ = nullptr;
  uint32_t per_page_ = 0;
  format::StackCounters* pages_[kPages] = {};  // up to 16384 pages of counters (67 M stacks)
  uint8_t page_written_[kPages] = {};          // a counter of the page changed since the last levels
  uint64_t* levels_written_[kPages] = {};      // the levels': each stack's bytes in the last levels
  uint64_t* levels_high_[kPages] = {};         // each stack's highest bytes since the last levels
  Block* blocks_ = nullptr;
  uint64_t mask_ = 0, used_ = 0;
  Region* regions_ = nullptr;
  uint64_t region_count_ = 0, region_capacity_ = 0;
};

Aggregator& aggregator();

template <typename F>
void Aggregator::forEachChangedLevel(F&& visit) {
  for (uint32_t page = 0; page < kPages; ++page) {
    if (!__atomic_load_n(&page_written_[page], __ATOMIC_RELAXED)) continue;
    __atomic_store_n(&page_written_[page], 0, __ATOMIC_SEQ_CST);
    const format::StackCounters* counters = __atomic_load_n(&pages_[page], __ATOMIC_ACQUIRE);
    uint64_t*& written = levels_written_[page];
    if (!counters || (!written && !(written = static_cast<uint64_t*>(mapLevels(per_page_))))) continue;
    uint64_t* high = __atomic_load_n(&levels_high_[page], __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < per_page_; ++i) {
      const uint64_t live = __atomic_load_n(&counters[i].live_bytes, __ATOMIC_RELAXED);
      const uint64_t most = high ? __atomic_exchange_n(&high[i], 0, __ATOMIC_RELAXED) : 0;
      if (live == written[i] && most <= live) continue;
      written[i] = live;
      visit(static_cast<StackId>(page * per_page_ + i), live, most > live ? most : live);
    }
  }
}

void lockAggregator();
void unlockAggregator();

template <typename F>
void Aggregator::withBlocks(F&& visit) {
  lockAggregator();
  visit(static_cast<const Block*>(blocks_), blocks_ ? mask_ + 1 : 0, used_);
  unlockAggregator();
}

}  // namespace tidemark::preload
