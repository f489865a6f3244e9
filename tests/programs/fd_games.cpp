// A program that assumes it owns every descriptor: closes all of them above stderr (as daemons and
// close_fds do), opens its output (which lands on 3), dup2s it onto 4, then allocates enough for
// the tracker to need new chunks while it writes to both. Its output must not change under the
// tracker. Usage: fd_games OUTPUT_FILE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

__attribute__((noinline)) void* allocateAt(int depth, size_t n) {
  void* p = depth == 0 ? malloc(n) : allocateAt(depth - 1, n);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  syscall(SYS_close_range, 3u, ~0u, 0u);
  int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out != 3) {
    std::fprintf(stderr, "expected descriptor 3, got %d\n", out);
    return 3;
  }
  if (dup2(out, 4) != 4) return 4;
  for (int i = 0; i < 200; ++i) {
    // 2,000 blocks with 20 different stacks per line: about 4 MB of records in a full trace.
    for (int j = 0; j < 2000; ++j) free(allocateAt(j % 20, 16 + j % 512));
    char line[64];
    int n = std::snprintf(line, sizeof line, "line %d\n", i);
    if (write(i % 2 ? 3 : 4, line, static_cast<size_t>(n)) != n) return 5;
  }
  std::printf("done\n");
  return 0;
}
