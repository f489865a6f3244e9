// A library that allocates, loaded and unloaded again and again by dlopen_churn.
#include <cstdlib>

extern "C" __attribute__((noinline)) void* pluginAllocate(size_t n) {
  void* p = malloc(n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}
