// Allocations made before main: by a C++ global's constructor and by a constructor function.
// Both are kept: 12,345 + 777 bytes live at exit.
#include <cstdio>
#include <cstdlib>
#include <string>

struct AllocatesAtStartup {
  AllocatesAtStartup() {
    block = malloc(12345);
    asm volatile("" : : "r"(block) : "memory");
  }
  void* block;
};
AllocatesAtStartup g_early;

static void* g_ctor_block;
__attribute__((constructor)) static void constructorFunction() {
  g_ctor_block = malloc(777);
  asm volatile("" : : "r"(g_ctor_block) : "memory");
}

int main() {
  std::printf("started\n");
  return 0;
}
