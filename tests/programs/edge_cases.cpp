// realloc and aligned-allocation edge cases, allocation failure, and C++ new/delete forms. The
// program checks its own results (errno, alignment, contents) and exits non-zero on a mismatch.
// Live at exit from keepBlock: 7 blocks, 100 + 64 + 4096 + 128 + 8192 + 256 + 4096 = 16,932 bytes.
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

static int g_failures = 0;
#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::fprintf(stderr, "check failed line %d: %s\n", __LINE__, #cond); \
      ++g_failures;                                                  \
    }                                                                \
  } while (0)

static void* g_kept[16];
static int g_nkept = 0;
__attribute__((noinline)) void keepBlock(void* p) { g_kept[g_nkept++] = p; }

struct alignas(64) Wide {
  char bytes[256];
};

int main() {
  // realloc(NULL, n) is malloc; realloc(p, 0) frees; growing keeps contents.
  char* p = static_cast<char*>(realloc(nullptr, 10));
  CHECK(p != nullptr);
  memcpy(p, "123456789", 10);
  p = static_cast<char*>(realloc(p, 100000));
  CHECK(p && memcmp(p, "123456789", 10) == 0);
  p = static_cast<char*>(realloc(p, 100));
  keepBlock(p);  // 100
  void* z = malloc(10);
  errno = 0;
  void* r0 = realloc(z, 0);  // glibc: frees, returns NULL
  CHECK(r0 == nullptr);

  // Failing allocations pass ENOMEM through untouched.
  errno = 0;
  void* huge = malloc(SIZE_MAX / 2);
  CHECK(huge == nullptr && errno == ENOMEM);
  errno = 0;
  void* over = calloc(SIZE_MAX / 4, 16);
  CHECK(over == nullptr && errno == ENOMEM);
  errno = 0;
  void* over2 = reallocarray(nullptr, SIZE_MAX / 4, 16);
  CHECK(over2 == nullptr && errno == ENOMEM);
  void* keep_me = malloc(32);
  errno = 0;
  void* failed = realloc(keep_me, SIZE_MAX / 2);
  CHECK(failed == nullptr && errno == ENOMEM);
  free(keep_me);  // still ours after the failed realloc
  try {
    char* big = new char[SIZE_MAX / 4];
    delete[] big;
    CHECK(false);
  } catch (const std::bad_alloc&) {
  }

  // errno survives a successful allocation and a free.
  errno = 12345;
  void* e = malloc(16);
  free(e);
  CHECK(errno == 12345);

  // Aligned forms.
  void* a = nullptr;
  CHECK(posix_memalign(&a, 64, 64) == 0 && reinterpret_cast<uintptr_t>(a) % 64 == 0);
  keepBlock(a);  // 64
  CHECK(posix_memalign(&a, 3, 64) == EINVAL);
  void* b = aligned_alloc(4096, 4096);
  CHECK(b && reinterpret_cast<uintptr_t>(b) % 4096 == 0);
  keepBlock(b);  // 4096
  void* c = memalign(128, 128);
  CHECK(c && reinterpret_cast<uintptr_t>(c) % 128 == 0);
  keepBlock(c);  // 128
  void* d = valloc(8192);
  CHECK(d && reinterpret_cast<uintptr_t>(d) % 4096 == 0);
  keepBlock(d);  // 8192
  Wide* w = new Wide;  // aligned operator new
  CHECK(reinterpret_cast<uintptr_t>(w) % 64 == 0);
  keepBlock(w);  // 256
  Wide* w2 = new Wide[2];
  delete[] w2;  // aligned, sized array delete
  int* sized = new int[10];
  delete[] sized;
  long* one = new long(5);
  delete one;  // sized delete
  void* pv = pvalloc(100);  // rounded up to a page
  CHECK(pv && reinterpret_cast<uintptr_t>(pv) % 4096 == 0);
  keepBlock(pv);  // 4096
  void* zc = calloc(0, 10);
  free(zc);
  free(nullptr);

  std::printf("failures %d\n", g_failures);
  return g_failures ? 1 : 0;
}
