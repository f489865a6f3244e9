#include "aggregator.h"

#include <sys/mman.h>

#include <cstring>

#include "spinlock.h"
#include "tidemark/address_table.h"
#include "sys.h"
#include "trace_writer.h"

namespace tidemark::preload {

namespace {

SpinLock g_lock;

}  // namespace

Aggregator& aggregator() {
  static constinit Aggregator a;
  return a;
}

void Aggregator::start(format::AggregateTotals* totals, uint32_t chunk_size) {
  per_page_ = format::countersPerChunk(chunk_size);
  totals_ = totals;
}

void Aggregator::resetAfterFork() {
  // The child has its own trace: the parent's blocks are not its own (frees of them are unknown).
  totals_ = nullptr;
  memset(pages_, 0, sizeof pages_);
  memset(page_written_, 0, sizeof page_written_);
  memset(levels_written_, 0, sizeof levels_written_);  // the parent's stay mapped, unused
  memset(levels_high_, 0, sizeof levels_high_);
  blocks_ = nullptr;
  mask_ = used_ = 0;
  regions_ = nullptr;
  region_count_ = region_capacity_ = 0;
}

format::StackCounters* Aggregator::counters(StackId id) {
  uint32_t page = id / per_page_;
  if (page >= sizeof pages_ / sizeof pages_[0]) page = 0, id = 0;  // out of pages: the unknown stack
  if (!pages_[page]) {
    uint8_t* chunk = writer().mapAggregatePage(page);
    if (!chunk) return nullptr;
    __atomic_store_n(&pages_[page], reinterpret_cast<format::StackCounters*>(chunk + 64), __ATOMIC_RELEASE);
  }
  format::StackCounters* c = &pages_[page][id % per_page_];
  if (id > totals_->max_stack_id) totals_->max_stack_id = id;
  // Lazy snapshot for the heap peak: the value this stack had at the latest peak is saved the
  // first time it changes after that peak.
  if (c->touched_epoch != totals_->peak_epoch) {
    c->peak_bytes = c->live_bytes;
    c->peak_blocks = c->live_blocks;
    c->touched_epoch = totals_->peak_epoch;
  }
  return c;
}

// The analysis allows for the table (trace_format.h): its first size, and 4 slots a live block.
constexpr uint64_t kFirstSlots = 1u << 16;
static_assert(kFirstSlots * sizeof(Aggregator::Block) <= format::kTrackerBlockTableBytes);
static_assert(4 * sizeof(Aggregator::Block) <= format::kTrackerBytesPerLiveBlock);

void* Aggregator::mapLevels(uint32_t per_page) { return sys::mapAnonymous(per_page * sizeof(uint64_t)); }

bool Aggregator::grow() {
  uint64_t slots = mask_ ? (mask_ + 1) * 2 : kFirstSlots;
  auto* fresh = static_cast<Block*>(sys::mapAnonymous(slots * sizeof(Block)));
  if (!fresh) return false;
  Block* old = blocks_;
  uint64_t old_slots = mask_ ? mask_ + 1 : 0;
  blocks_ = fresh;
  mask_ = slots - 1;
  used_ = 0;
  for (uint64_t i = 0; i < old_slots; ++i)
    if (old[i].key) insert(old[i]);
  if (old) sys::unmapAnonymous(old, old_slots * sizeof(Block));
  return true;
}

bool Aggregator::insert(const Block& b) {
  if ((used_ + 1) * 2 > mask_ + 1 && !grow()) return false;
  Block& slot = blocks_[address_table::locate(blocks_, mask_, b.key)];
  if (!slot.key) ++used_;
  slot = b;
  return true;
}

bool Aggregator::erase(uint64_t addr, Block& out) {
  if (!blocks_) return false;
  uint64_t i = address_table::locate(blocks_, mask_, addr);
  if (!blocks_[i].key) return false;
  out = blocks_[i];
  address_table::vacate(blocks_, mask_, i);
  --used_;
  return true;
}

void Aggregator::checkPeak() {
  if (totals_->heap_live > totals_->heap_peak) {
    totals_->heap_peak = totals_->heap_live;
    totals_->peak_seq = writer().peekSeq();  // only to time the peak between samples: no atomic add
    ++totals_->peak_epoch;
  }
}

void Aggregator::addBlock(uint64_t addr, uint64_t size, StackId stack) {
  // One probe: the slot is either empty or holds a block whose free we never saw.
  if (blocks_ && (used_ + 1) * 2 <= mask_ + 1) {
    Block& slot = blocks_[address_table::locate(blocks_, mask_, addr)];
    if (slot.key)
      removeBlock(slot.size, slot.stack);
    else
      ++used_;
    slot = {addr, size, stack};
  } else {
    Block old;
    if (erase(addr, old)) removeBlock(old.size, old.stack);
    insert({addr, size, stack});
  }
  if (format::StackCounters* c = counters(stack)) {
    c->live_bytes += size;
    ++c->live_blocks;
    ++c->alloc_count;
    c->alloc_bytes += size;
    levelChanged(stack, c->live_bytes, true);
  }
  totals_->heap_live += size;
  ++totals_->allocations;
  totals_->allocated_bytes += size;
}

void Aggregator::removeBlock(uint64_t size, StackId stack) {
  if (format::StackCounters* c = counters(stack)) {
    c->live_bytes -= size;
    --c->live_blocks;
    levelChanged(stack, c->live_bytes, false);
  }
  totals_->heap_live -= size;
}

void lockAggregator() { g_lock.lock(); }
void unlockAggregator() { g_lock.unlock(); }

void Aggregator::track(uint64_t addr, uint64_t size, StackId stack) {
  LockGuard guard(g_lock);
  insert({addr, size, stack});  // a live block at this address (a free we never saw) is overwritten
}

void Aggregator::untrack(uint64_t addr) {
  LockGuard guard(g_lock);
  Block old;
  erase(addr, old);
}

void Aggregator::allocated(StackId stack, uint64_t addr, uint64_t size) {
  LockGuard guard(g_lock);
  addBlock(addr, size, stack);
  checkPeak();
}

bool Aggregator::released(uint64_t addr) {
  LockGuard guard(g_lock);
  Block b;
  if (!erase(addr, b)) {
    ++totals_->unknown_frees;
    return false;
  }
  removeBlock(b.size, b.stack);
  ++totals_->frees;
  return true;
}

Aggregator::Taken Aggregator::take(uint64_t addr) {
  LockGuard guard(g_lock);
  Block b;
  if (!erase(addr, b)) return {false, 0, 0};
  return {true, b.size, b.stack};
}

void Aggregator::reallocated(const Taken& old, StackId stack, uint64_t new_addr, uint64_t size) {
  LockGuard guard(g_lock);
  if (old.known) {
    removeBlock(old.size, old.stack);
    ++totals_->frees;
  } else {
    ++totals_->unknown_frees;
  }
  if (new_addr) {
    addBlock(new_addr, size, stack);
    ++totals_->reallocs;
    checkPeak();
  }
}

void Aggregator::restore(uint64_t addr, const Taken& old) {
  if (!old.known) return;
  LockGuard guard(g_lock);
  insert({addr, old.size, old.stack});
}

void Aggregator::mapped(StackId stack, uint64_t addr, uint64_t size) {
  if (!size) return;
  unmapped(addr, size);  // MAP_FIXED over an existing mapping replaces it
  LockGuard guard(g_lock);
  if (region_count_ == region_capacity_) {
    uint64_t cap = region_capacity_ ? region_capacity_ * 2 : 1024;
    auto* fresh = static_cast<Region*>(sys::mapAnonymous(cap * sizeof(Region)));
    if (!fresh) return;
    if (regions_) {
      memcpy(fresh, regions_, region_count_ * sizeof(Region));
      sys::unmapAnonymous(regions_, region_capacity_ * sizeof(Region));
    }
    regions_ = fresh;
    region_capacity_ = cap;
  }
  regions_[region_count_++] = {addr, addr + size, stack};
  if (format::StackCounters* c = counters(stack)) c->mmap_bytes += size;
  totals_->mmap_live += size;
  if (totals_->mmap_live > totals_->mmap_peak) totals_->mmap_peak = totals_->mmap_live;
}

void Aggregator::unmapped(uint64_t addr, uint64_t size) {
  LockGuard guard(g_lock);
  uint64_t end = addr + size;
  // Anonymous mappings are few: a linear scan, splitting regions the range cuts through.
  for (uint64_t i = 0; i < region_count_;) {
    Region r = regions_[i];
    if (r.end <= addr || r.start >= end) {
      ++i;
      continue;
    }
    uint64_t lo = r.start > addr ? r.start : addr, hi = r.end < end ? r.end : end;
    if (format::StackCounters* c = counters(r.stack)) c->mmap_bytes -= hi - lo;
    totals_->mmap_live -= hi - lo;
    regions_[i] = regions_[--region_count_];
    if (r.start < lo) regions_[region_count_++] = {r.start, lo, r.stack};
    if (hi < r.end && region_count_ < region_capacity_) regions_[region_count_++] = {hi, r.end, r.stack};
  }
}

}  // namespace tidemark::preload
