// 8 threads, 200,000 allocations each, of which half are freed by another thread (a shared queue),
// so addresses freed on one thread come back on another. Each thread keeps its last 1000 blocks.
// Prints the truth: allocations, bytes live at the end, blocks live at the end.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 200000;
constexpr int kKept = 1000;

std::mutex g_lock;
std::deque<void*> g_handoff;  // allocated on one thread, freed by whichever thread pops it

size_t sizeFor(int thread, int i) { return 16 + static_cast<size_t>((thread * 7919 + i * 31) % 500); }

__attribute__((noinline)) void* workerAllocate(size_t n) {
  void* p = malloc(n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

void workerThread(int id, size_t* kept_bytes) {
  std::vector<void*> mine;
  mine.reserve(kPerThread);
  size_t bytes = 0;
  for (int i = 0; i < kPerThread; ++i) {
    size_t n = sizeFor(id, i);
    void* p = workerAllocate(n);
    if (i >= kPerThread - kKept) {
      bytes += n;
      mine.push_back(p);  // kept until the end
      continue;
    }
    if (i % 2 == 0) {
      free(p);
      continue;
    }
    void* other = nullptr;
    {
      std::lock_guard<std::mutex> guard(g_lock);
      g_handoff.push_back(p);
      if (g_handoff.size() > 64) {
        other = g_handoff.front();
        g_handoff.pop_front();
      }
    }
    free(other);
  }
  *kept_bytes = bytes;
  static std::mutex leak_lock;
  static std::vector<std::vector<void*>>* leaked = new std::vector<std::vector<void*>>();
  std::lock_guard<std::mutex> guard(leak_lock);
  leaked->push_back(std::move(mine));  // the kept blocks stay reachable and live
}

}  // namespace

int main() {
  std::vector<std::thread> threads;
  size_t kept[kThreads] = {};
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(workerThread, t, &kept[t]);
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> guard(g_lock);
  for (void* p : g_handoff) free(p);
  g_handoff.clear();
  g_handoff.shrink_to_fit();
  size_t total = 0;
  for (size_t k : kept) total += k;
  std::printf("allocations=%d live_bytes=%zu live_blocks=%d\n", kThreads * kPerThread, total, kThreads * kKept);
  return 0;
}
