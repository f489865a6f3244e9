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

  format::AggregateTotals* totals_ = nullptr;
  uint32_t per_page_ = 0;
  format::StackCounters* pages_[16384] = {};  // up to 16384 pages of counters (67 M stacks)
  Block* blocks_ = nullptr;
  uint64_t mask_ = 0, used_ = 0;
  Region* regions_ = nullptr;
  uint64_t region_count_ = 0, region_capacity_ = 0;
};

Aggregator& aggregator();

void lockAggregator();
void unlockAggregator();

template <typename F>
void Aggregator::withBlocks(F&& visit) {
  lockAggregator();
  visit(static_cast<const Block*>(blocks_), blocks_ ? mask_ + 1 : 0, used_);
  unlockAggregator();
}

}  // namespace tidemark::preload
