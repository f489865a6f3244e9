// Sample mode (TIDEMARK_MODE=sample): allocations sampled by bytes, as a Poisson process over the
// bytes allocated with a mean of options.sample_bytes between two points. Every byte has the same
// chance, so an allocation of n bytes is sampled with probability 1 - exp(-n / mean), whatever its
// neighbours were; the reader weighs each sampled block by the inverse of that (an unbiased
// estimate) and gives error bars (docs/performance.md).
//
// Each thread counts down the bytes to its next point: an allocation that does not reach it costs
// a subtraction. The sampled blocks that are live sit in the live-block table (aggregator.h), and a
// small table of counts by address hash lets a release of a block that was not sampled (nearly
// every release) pass with one load.
#pragma once

#include <cstdint>

#include "aggregator.h"

namespace tidemark::preload {

extern bool g_sampling;  // options.mode is "sample"

// Sets the mean bytes between two points and the seed of the random numbers (0: the clock's).
void configureSampling(uint64_t mean_bytes, uint64_t seed);

// A thread's place in the process of points (in ThreadState, zero-initialised TLS).
struct SampleCountdown {
  uint64_t bytes_left;  // to the next point
  uint64_t rng;         // the random numbers' state; 0 until the thread's first allocation seeds it
};

// Draws the thread's next countdown (and seeds it on first use); true when this allocation of
// `size` bytes holds the point that was due.
bool sampleSlow(SampleCountdown& c, uint64_t size);

// Whether an allocation of `size` bytes is sampled.
inline bool sampleThis(SampleCountdown& c, uint64_t size) {
  if (__builtin_expect(c.bytes_left > size, 1)) {
    c.bytes_left -= size;
    return false;
  }
  return sampleSlow(c, size);
}

// Live sampled blocks per address hash, saturating: 0 means no live sampled block has that hash,
// so a release there was not sampled. A slot that reached 255 stays there (its releases then
// always ask the live-block table). A few thousand live sampled blocks (a heap of gigabytes at the
// default mean) send a few percent of the releases to the table.
// Every release reads a bit per slot, set while its count is not 0: 2 KiB, in L1 beside the
// program's own data more often than the 16 KiB of counts (a release waiting for its count's
// load was 40% of the free hook's time).
inline constexpr uint32_t kSampledFilterBits = 14;
inline constexpr uint32_t kSampledFilterSlots = 1u << kSampledFilterBits;
extern uint8_t g_sampled_filter[kSampledFilterSlots];
extern uint64_t g_sampled_bits[kSampledFilterSlots / 64];
inline uint32_t sampledFilterSlot(uint64_t address) {
  uint64_t h = (address >> 4) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint32_t>(h >> (64 - kSampledFilterBits));
}
// False when the block at `address` is certainly not a live sampled one: a release passes on.
inline bool maybeSampled(uint64_t address) {
  const uint32_t slot = sampledFilterSlot(address);
  return __atomic_load_n(&g_sampled_bits[slot / 64], __ATOMIC_RELAXED) >> (slot % 64) & 1;
}

// A sampled block is live (again, after a failed resize) / is being released: takeSampledBlock
// says whether the block was sampled (a release of one that was not is not recorded).
void noteSampledBlock(uint64_t address, uint64_t size, StackId stack);
Aggregator::Taken takeSampledBlock(uint64_t address);
inline bool releaseSampledBlock(uint64_t address) { return takeSampledBlock(address).known; }

// In a forked child: the parent's sampled blocks are not its own.
void resetSamplingAfterFork();

}  // namespace tidemark::preload
