// Known truth for the summary: site A holds 10 x 1 MiB, site B adds 5 x 2 MiB (peak: 20 MiB),
// A is freed, site C takes 3 MiB and is never freed (leak: 3 MiB in 1 block, plus 1 MiB from B's
// last block that is kept too). Peak = 20,971,520 bytes: A 10,485,760 and B 10,485,760.
#include <cstdio>
#include <cstdlib>
#include <vector>

static void keep(void* p) { asm volatile("" : : "r"(p) : "memory"); }

__attribute__((noinline)) void* allocateInSiteA(size_t n) {
  void* p = malloc(n);
  keep(p);
  return p;
}

__attribute__((noinline)) void* allocateInSiteB(size_t n) {
  void* p = malloc(n);
  keep(p);
  return p;
}

__attribute__((noinline)) void* allocateInSiteC(size_t n) {
  void* p = malloc(n);
  keep(p);
  return p;
}

int main() {
  constexpr size_t kMiB = 1 << 20;
  void* a[10];
  void* b[5];
  for (auto& p : a) p = allocateInSiteA(kMiB);
  for (auto& p : b) p = allocateInSiteB(2 * kMiB);
  for (auto& p : a) free(p);
  void* c = allocateInSiteC(3 * kMiB);
  keep(c);
  for (int i = 0; i < 4; ++i) free(b[i]);  // b[4] (2 MiB) and c (3 MiB) leak
  std::printf("done\n");
  return 0;
}
