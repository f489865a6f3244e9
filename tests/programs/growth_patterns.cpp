// Four memory behaviours over 200 simulated days, each at its own allocation site, with the
// simulation date told to the tracker through tidemark/marker.h:
//   leakPerDay      64 KiB leaked every day                      -> unbounded, 65,536 bytes/day
//   cacheInsert     LRU cache of 40 entries x 32 KiB, one a day  -> plateau at 1.25 MiB from day 40
//   chunkResults    100 KiB a day, all dropped every 25 days     -> periodic, 25 days
//   spikeWorkspace  24 MiB on day 120, freed on day 121          -> transient
// Each day spins ~4 ms so the run has a time axis. Prints nothing; exits 0.
#include <tidemark/marker.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace {

NOINLINE void* leakPerDay() {
  void* p = malloc(64 * 1024);
  memset(p, 1, 64 * 1024);
  return p;
}

NOINLINE char* cacheInsert() {
  char* p = static_cast<char*>(malloc(32 * 1024));
  memset(p, 2, 32 * 1024);
  return p;
}

NOINLINE char* chunkResults() {
  char* p = static_cast<char*>(malloc(100 * 1024));
  memset(p, 3, 100 * 1024);
  return p;
}

NOINLINE char* spikeWorkspace() {
  char* p = static_cast<char*>(malloc(24 << 20));
  memset(p, 4, 24 << 20);
  return p;
}

void spin(std::chrono::microseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --keep-cache: the cache is still held at exit (a bounded cache that is also never freed).
  const bool keep_cache = argc > 1 && std::strcmp(argv[1], "--keep-cache") == 0;
  std::deque<char*> cache;
  std::vector<char*> chunk;
  chunk.reserve(64);
  char* spike = nullptr;
  void* volatile leaked = nullptr;
  for (int day = 1; day <= 200; ++day) {
    char date[16];
    snprintf(date, sizeof date, "day-%03d", day);
    tidemark_mark(TIDEMARK_MARK_SIMULATION_DATE, date);
    leaked = leakPerDay();
    cache.push_back(cacheInsert());
    if (cache.size() > 40) {
      free(cache.front());
      cache.pop_front();
    }
    if (day % 25 == 0) {
      for (char* p : chunk) free(p);
      chunk.clear();
    }
    chunk.push_back(chunkResults());
    if (day == 120) spike = spikeWorkspace();
    if (day == 121) {
      free(spike);
      spike = nullptr;
    }
    spin(std::chrono::microseconds(4000));
  }
  (void)leaked;
  if (!keep_cache)
    for (char* p : cache) free(p);
  for (char* p : chunk) free(p);
  return 0;
}
