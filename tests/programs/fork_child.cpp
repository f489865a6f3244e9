// Parent leaks 1000 bytes before fork and 3000 after; the child leaks 2000 and exits. Each trace
// must hold only its own process's allocations made after it started tracing.
//
// With the argument "stress": threads keep making new stacks and chunks (the tracker's locks)
// while the main thread forks children that allocate at once; a lock copied held into a child
// would hang it.
//
// With "walking MS FORKS": a thread walks the loaded modules over and over, each walk holding the
// loader's lock for MS milliseconds (its callback sleeps), while the main thread forks FORKS
// children that allocate at once (new stacks, which the tracker unwinds: a walk). glibc does not
// free that lock in a child; without the tracker, these children never walk.
#include <link.h>
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

// Each child allocates at 40 depths (40 stacks) and ends; returns how many did not exit with 0.
int forkChildrenThatAllocate(int forks) {
  int failures = 0;
  for (int i = 0; i < forks; ++i) {
    pid_t child = fork();
    if (child == 0) {
      for (int d = 0; d < 40; ++d) free(allocateAtDepth(d, 100));
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    failures += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  return failures;
}

int stress() {
  pthread_t threads[4];
  for (uintptr_t i = 0; i < 4; ++i) pthread_create(&threads[i], nullptr, churn, reinterpret_cast<void*>(i + 1));
  int failures = forkChildrenThatAllocate(100);
  g_stop = true;
  for (pthread_t t : threads) pthread_join(t, nullptr);
  std::printf("forks 100 failures %d\n", failures);
  return failures ? 1 : 0;
}

int holdTheLoader(dl_phdr_info*, size_t, void* hold_ms) {
  usleep(*static_cast<unsigned*>(hold_ms) * 1000);
  return 1;
}

void* walk(void* hold_ms) {
  while (!g_stop.load()) dl_iterate_phdr(holdTheLoader, hold_ms);
  return nullptr;
}

int forkWhileWalking(unsigned hold_ms, int forks) {
  pthread_t walker;
  pthread_create(&walker, nullptr, walk, &hold_ms);
  usleep(10000);  // inside its first walk (or, for short ones, a later one)
  int failures = forkChildrenThatAllocate(forks);
  g_stop = true;
  pthread_join(walker, nullptr);
  std::printf("forks %d failures %d\n", forks, failures);
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
  if (argc > 3 && strcmp(argv[1], "walking") == 0) return forkWhileWalking(static_cast<unsigned>(atoi(argv[2])), atoi(argv[3]));
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
