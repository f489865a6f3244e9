// A program whose memory grows where no allocation is: for argv[1] seconds (default 2.5) it writes
// one more MiB of a 256 MiB static array every 20 ms (its pages become resident one by one) while
// it makes and frees a few small blocks. Its heap stays flat; its RSS grows by about 50 MiB a
// second. Prints how many MiB it wrote; exits 0.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {
constexpr size_t kMiB = 1 << 20;
char g_table[256 * kMiB];
}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.5;
  const auto start = std::chrono::steady_clock::now();
  size_t written = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds &&
         written < sizeof g_table / kMiB) {
    std::memset(g_table + written * kMiB, static_cast<int>(written) | 1, kMiB);
    ++written;
    const auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    while (std::chrono::steady_clock::now() < next) {
      auto scratch = std::make_unique<char[]>(64);
      scratch[0] = 1;
    }
  }
  std::printf("%zu\n", written);
  return 0;
}
