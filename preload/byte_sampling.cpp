#include "byte_sampling.h"

#include <cstring>

#include "aggregator.h"
#include "spinlock.h"
#include "sys.h"

namespace tidemark::preload {

bool g_sampling = false;
namespace {
uint64_t g_mean_bytes = format::kDefaultSampleBytes;
uint64_t g_seed = 0;
uint64_t g_threads_seeded = 0;
}  // namespace
uint8_t g_sampled_filter[kSampledFilterSlots];
uint64_t g_sampled_bits[kSampledFilterSlots / 64];

namespace {

uint64_t nextRandom(SampleCountdown& t) {
  // xorshift64*
  uint64_t x = t.rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t.rng = x;
  return x * 0x2545f4914f6cdd1dull;
}

// ln(x) for x in (0, 1], to about 1e-7: x = m * 2^e with m in [1, 2), ln m by the series of
// 2 atanh((m - 1) / (m + 1)). The tracker links no libm.
double naturalLog(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & ((1ull << 52) - 1)) | (1023ull << 52);
  double m;
  memcpy(&m, &bits, sizeof m);
  double t = (m - 1) / (m + 1), t2 = t * t;
  double series = t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (1.0 / 11 + t2 / 13))))));
  return exponent * 0.6931471805599453 + 2 * series;
}

// Bytes to the next point: exponential with the configured mean (at least 1).
uint64_t drawCountdown(SampleCountdown& t) {
  double u = static_cast<double>((nextRandom(t) >> 11) + 1) * 0x1p-53;  // (0, 1]
  double bytes = -naturalLog(u) * static_cast<double>(g_mean_bytes);
  return bytes < 1 ? 1 : static_cast<uint64_t>(bytes);
}

}  // namespace

void configureSampling(uint64_t mean_bytes, uint64_t seed) {
  g_mean_bytes = mean_bytes ? mean_bytes : 1;
  g_seed = seed;
}

bool sampleSlow(SampleCountdown& c, uint64_t size) {
  if (c.rng == 0) {
    // With a seed, the same run samples the same allocations: threads are told apart by the order
    // in which they first allocated, not by their tid, which differs from run to run.
    uint64_t thread = g_seed ? __atomic_add_fetch(&g_threads_seeded, 1, __ATOMIC_RELAXED) : static_cast<uint64_t>(sys::gettid());
    uint64_t seed = g_seed ? g_seed : sys::realtimeNs();
    // Mixed (splitmix64's finalizer), so that neighbouring seeds and threads start far apart: with
    // the bare value, seeds 2k and 2k+1 sampled the same allocations.
    uint64_t z = seed + thread * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    c.rng = (z ^ (z >> 31)) ? (z ^ (z >> 31)) : 1;
    c.bytes_left = drawCountdown(c);
    if (c.bytes_left > size) {
      c.bytes_left -= size;
      return false;
    }
  }
  // The point falls inside this allocation. By memorylessness the next one is an exponential
  // distance past its end, whatever else fell inside it.
  c.bytes_left = drawCountdown(c);
  return true;
}

namespace {
// A count and its bit change together: a bit cleared when its count fell to 0 while another thread
// counted a new block there would hide that block's release. Taken once per sampled block.
SpinLock g_filter_lock;
}  // namespace

void noteSampledBlock(uint64_t address, uint64_t size, StackId stack) {
  aggregator().track(address, size, stack);
  const uint32_t slot = sampledFilterSlot(address);
  LockGuard guard(g_filter_lock);
  if (g_sampled_filter[slot] < 255) ++g_sampled_filter[slot];
  __atomic_fetch_or(&g_sampled_bits[slot / 64], uint64_t{1} << (slot % 64), __ATOMIC_RELAXED);
}

Aggregator::Taken takeSampledBlock(uint64_t address) {
  if (__builtin_expect(!maybeSampled(address), 1)) return {};
  Aggregator::Taken taken = aggregator().take(address);
  if (!taken.known) return taken;
  const uint32_t slot = sampledFilterSlot(address);
  LockGuard guard(g_filter_lock);
  uint8_t& count = g_sampled_filter[slot];
  if (count > 0 && count < 255 && --count == 0)
    __atomic_fetch_and(&g_sampled_bits[slot / 64], ~(uint64_t{1} << (slot % 64)), __ATOMIC_RELAXED);
  return taken;
}

void resetSamplingAfterFork() {
  memset(g_sampled_filter, 0, sizeof g_sampled_filter);
  memset(g_sampled_bits, 0, sizeof g_sampled_bits);
}

}  // namespace tidemark::preload
