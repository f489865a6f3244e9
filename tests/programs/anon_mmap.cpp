// Anonymous mappings are recorded as their own kind: 3 mappings of 64 KiB (peak 192 KiB), the
// middle 16 KiB of the first unmapped, the second grown to 128 KiB by mremap, the third unmapped.
// Live at exit: 48 KiB + 128 KiB = 176 KiB; peak 240 KiB (after the mremap). A file mapping is
// not counted.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

int main() {
  const size_t k = 1024;
  auto* a = static_cast<char*>(mmap(nullptr, 64 * k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* b = static_cast<char*>(mmap(nullptr, 64 * k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* c = static_cast<char*>(mmap(nullptr, 64 * k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  int fd = open("/proc/self/exe", O_RDONLY);
  void* file = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED || file == MAP_FAILED) return 1;
  munmap(a + 16 * k, 16 * k);
  b = static_cast<char*>(mremap(b, 64 * k, 128 * k, MREMAP_MAYMOVE));
  if (b == MAP_FAILED) return 1;
  munmap(c, 64 * k);
  munmap(file, 4096);
  close(fd);
  std::printf("done\n");
  return 0;
}
