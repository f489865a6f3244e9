// Known truth for sample mode: four sites keep known bytes until exit, one allocates and frees
// small temporaries, one grows a buffer by realloc. Live at exit, by site:
//   keepSmall   40,000 x 500 B       = 20,000,000
//   keepMedium     400 x 50,000 B    = 20,000,000
//   keepLarge       20 x 2,000,000 B = 40,000,000
//   growBuffer  one block realloc'd from 1 KiB to 16 MiB = 16,777,216
//   churn      200,000 x 64 B, each freed at once     = 0
#include <cstdio>
#include <cstdlib>

static void keep(void* p) { asm volatile("" : : "r"(p) : "memory"); }

static void* kept[41000];
static size_t kept_count;

__attribute__((noinline)) void keepSmall() {
  void* p = malloc(500);
  keep(p);
  kept[kept_count++] = p;
}

__attribute__((noinline)) void keepMedium() {
  void* p = malloc(50000);
  keep(p);
  kept[kept_count++] = p;
}

__attribute__((noinline)) void keepLarge() {
  void* p = malloc(2000000);
  keep(p);
  kept[kept_count++] = p;
}

__attribute__((noinline)) void churn() {
  void* p = malloc(64);
  keep(p);
  free(p);
}

__attribute__((noinline)) void* growBuffer(void* p, size_t size) {
  void* q = realloc(p, size);
  keep(q);
  return q;
}

int main() {
  void* buffer = nullptr;
  size_t size = 1024;
  for (int i = 0; i < 40000; ++i) {
    keepSmall();
    if (i % 100 == 0) keepMedium();
    if (i % 2000 == 0) keepLarge();
    for (int k = 0; k < 5; ++k) churn();
    if (i % 2500 == 0 && size <= (16u << 20)) {
      buffer = growBuffer(buffer, size);
      size *= 2;
    }
  }
  keep(buffer);
  std::printf("kept %zu blocks\n", kept_count);
  return 0;
}
