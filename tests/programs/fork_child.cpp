// Parent leaks 1000 bytes before fork and 3000 after; the child leaks 2000 and exits. Each trace
// must hold only its own process's allocations made after it started tracing.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

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

int main() {
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
