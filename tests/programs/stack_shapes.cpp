// Allocation sites reached through stacks that are hard to cache: one wrapper called from many
// places at the same depth, variable-length arrays whose sizes compensate each other (the same
// stack pointer at the allocation through different frame layouts), recursion of varying depth,
// frame-pointer code with alloca, exceptions unwinding through allocating frames, and threads.
// Prints "<site> <bytes>" for every site; the test compares with the summary, and runs it with
// TIDEMARK_VERIFY_STACKS=1 so that every cached stack is checked against libunwind.
#include <alloca.h>
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#define NOINLINE __attribute__((noinline))

namespace {

thread_local unsigned g_seed = 12345;
unsigned nextRandom() {
  g_seed = g_seed * 1103515245u + 12345u;
  return (g_seed >> 8) & 0xffff;
}


NOINLINE void* allocVia(size_t n) {
  void* p = ::operator new(n);
  asm volatile("" ::"r"(p) : "memory");
  return p;
}

// Eight callers of one wrapper, all at the same depth.
#define CALLER(i)                                          \
  NOINLINE void caller##i(unsigned long long& bytes) {     \
    void* p = allocVia(100 + i);                          \
    bytes += 100 + i;                                      \
    ::operator delete(p);                                  \
  }
CALLER(0) CALLER(1) CALLER(2) CALLER(3) CALLER(4) CALLER(5) CALLER(6) CALLER(7)

NOINLINE void leafVla() {
  void* p = malloc(77);
  asm volatile("" ::"r"(p) : "memory");
  free(p);
}
NOINLINE void vlaInner(int m) {
  char buf[m];
  memset(buf, 1, m);
  asm volatile("" ::"r"(buf) : "memory");
  leafVla();
}
NOINLINE void vlaOuter(int n, int m) {
  char buf[n];
  memset(buf, 2, n);
  asm volatile("" ::"r"(buf) : "memory");
  vlaInner(m);
}
NOINLINE void parentP(int n, unsigned long long& bytes) {
  vlaOuter(n, 512 - n);
  bytes += 77;
}
NOINLINE void parentQ(int n, unsigned long long& bytes) {
  volatile char pad[48];
  pad[0] = 1;
  vlaOuter(n, 512 - n);
  bytes += 77 + pad[0] - 1;
}

NOINLINE void leafRecursive() {
  void* p = malloc(55);
  asm volatile("" ::"r"(p) : "memory");
  free(p);
}
NOINLINE void recurse(int depth) {
  if (depth == 0) {
    leafRecursive();
    return;
  }
  volatile int keep = depth;
  recurse(depth - 1);
  asm volatile("" ::"r"(keep));
}

__attribute__((optimize("no-omit-frame-pointer"))) NOINLINE void fpLeaf() {
  void* p = malloc(33);
  asm volatile("" ::"r"(p) : "memory");
  free(p);
}
__attribute__((optimize("no-omit-frame-pointer"))) NOINLINE void fpMiddle(size_t n) {
  char* a = static_cast<char*>(alloca(n));
  memset(a, 3, n);
  asm volatile("" ::"r"(a) : "memory");
  fpLeaf();
}
__attribute__((optimize("no-omit-frame-pointer"))) NOINLINE void fpOuterA(size_t n) {
  fpMiddle(n);
  asm volatile("");
}
__attribute__((optimize("no-omit-frame-pointer"))) NOINLINE void fpOuterB(size_t n) {
  fpMiddle(n + 16);
  asm volatile("");
}

NOINLINE void leafBeforeThrow() {
  void* p = malloc(44);
  asm volatile("" ::"r"(p) : "memory");
  free(p);
}
NOINLINE void throwingAllocator() {
  leafBeforeThrow();
  throw std::runtime_error("thrown through an allocating frame");
}

struct Totals {
  unsigned long long callers[8] = {};
  unsigned long long parent_p = 0, parent_q = 0, recursive = 0, fp_a = 0, fp_b = 0, thrower = 0;
};

void workload(Totals& t, unsigned rounds) {
  for (unsigned i = 0; i < rounds; ++i) {
    switch (nextRandom() % 8) {
      case 0: caller0(t.callers[0]); break;
      case 1: caller1(t.callers[1]); break;
      case 2: caller2(t.callers[2]); break;
      case 3: caller3(t.callers[3]); break;
      case 4: caller4(t.callers[4]); break;
      case 5: caller5(t.callers[5]); break;
      case 6: caller6(t.callers[6]); break;
      default: caller7(t.callers[7]); break;
    }
    int n = 16 + static_cast<int>(nextRandom() % 480);
    if (nextRandom() & 1)
      parentP(n, t.parent_p);
    else
      parentQ(n, t.parent_q);
    recurse(static_cast<int>(nextRandom() % 24));
    t.recursive += 55;
    size_t a = 16 + nextRandom() % 256;
    if (nextRandom() & 1) {
      fpOuterA(a);
      t.fp_a += 33;
    } else {
      fpOuterB(a);
      t.fp_b += 33;
    }
    if (i % 64 == 0) {
      try {
        throwingAllocator();
      } catch (const std::exception&) {
        t.thrower += 44;
      }
    }
  }
}

Totals g_thread_totals[4];

void* threadMain(void* arg) {
  workload(*static_cast<Totals*>(arg), 20000);
  return nullptr;
}

}  // namespace

int main() {
  Totals totals;
  workload(totals, 20000);
  pthread_t threads[4];
  for (int i = 0; i < 4; ++i) pthread_create(&threads[i], nullptr, threadMain, &g_thread_totals[i]);
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], nullptr);
  for (const Totals& t : g_thread_totals) {
    for (int i = 0; i < 8; ++i) totals.callers[i] += t.callers[i];
    totals.parent_p += t.parent_p;
    totals.parent_q += t.parent_q;
    totals.recursive += t.recursive;
    totals.fp_a += t.fp_a;
    totals.fp_b += t.fp_b;
    totals.thrower += t.thrower;
  }
  for (int i = 0; i < 8; ++i) printf("caller%d %llu\n", i, totals.callers[i]);
  printf("parentP %llu\nparentQ %llu\nleafRecursive %llu\nfpOuterA %llu\nfpOuterB %llu\nleafBeforeThrow %llu\n",
         totals.parent_p, totals.parent_q, totals.recursive, totals.fp_a, totals.fp_b, totals.thrower);
  return 0;
}
