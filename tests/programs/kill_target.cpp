// Steps through allocations and frees of varied sizes. After each step it prints what it holds
// ("step N live_bytes X") and waits for a line on stdin before the next one, so a test can kill it
// with SIGKILL at a step of its choosing and know exactly what was live.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

__attribute__((noinline)) void* stepAllocate(size_t n) {
  void* p = malloc(n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

int main() {
  std::mt19937_64 rng(42);
  std::vector<std::pair<void*, size_t>> held;
  held.reserve(100000);
  size_t live = 0;
  std::printf("pid %d\n", getpid());
  std::fflush(stdout);
  char line[16];
  for (int step = 1; step <= 1000000; ++step) {
    for (int k = 0; k < 100; ++k) {
      if (!held.empty() && rng() % 3 == 0) {
        size_t i = rng() % held.size();
        live -= held[i].second;
        free(held[i].first);
        held[i] = held.back();
        held.pop_back();
      } else {
        size_t n = 1 + rng() % 4096;
        held.emplace_back(stepAllocate(n), n);
        live += n;
      }
    }
    std::printf("step %d live_bytes %zu\n", step, live);
    std::fflush(stdout);
    if (!std::fgets(line, sizeof line, stdin)) break;
  }
  return 0;
}
