// Parent leaks 1000 bytes before fork and 3000 after; the child leaks 2000 and exits. Each trace
// must hold only its own process's allocations made after it started tracing.
//
// With the argument "stress": threads keep making new stacks and chunks (the tracker's locks)
// while the main thread forks children that allocate at once; a lock copied held into a child
// would hang it.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

std::atomic<bool> g_stop{false};

__attribute__((noinline)) void* allocateAtDepth(int depth, size_t n) {
  if (depth == 0) return malloc(n);
  void* p = allocateAtDepth(depth - 1, n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

void* churn(void* arg) {
  unsigned seed = static_cast<unsigned>(reinterpret_cast<uintptr_t>(arg));
  while (!g_stop.load()) {
    seed = seed * 1103515245 + 12345;
    free(allocateAtDepth(static_cast<int>(seed % 40), 16 + seed % 4096));  // a new stack now and then
  }
  return nullptr;
}

int stress() {
  pthread_t threads[4];
  for (uintptr_t i = 0; i < 4; ++i) pthread_create(&threads[i], nullptr, churn, reinterpret_cast<void*>(i + 1));
  int failures = 0;
  for (int i = 0; i < 100; ++i) {
    pid_t child = fork();
    if (child == 0) {
      for (int d = 0; d < 40; ++d) free(allocateAtDepth(d, 100));
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    failures += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  g_stop = true;
  for (pthread_t t : threads) pthread_join(t, nullptr);
  std::printf("forks 100 failures %d\n", failures);
  return failures ? 1 : 0;
}

}  // namespace

__attribute__((noinline)) void* leakInParent(size_t n) {
  void* p = malloc(n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

__attribute__((noinline)) void* leakInChild(size_t n) {
  void* p = malloc(n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "stress") == 0) return stress();
  leakInParent(1000);
  pid_t child = fork();
  if (child == 0) {
    leakInChild(2000);
    std::printf("child %d\n", getpid());
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  leakInParent(3000);
  std::printf("parent %d child %d status %d\n", getpid(), child, WEXITSTATUS(status));
  return 0;
}
