// A correct program whose working set grows with its work and is all freed before it exits: for
// argv[1] seconds (default 2.5) it adds 100 strings of 1,000 bytes every millisecond, then frees
// every one. Prints how many it made; exits 0. Nothing here is a leak.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.5;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string*> work;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    for (int i = 0; i < 100; ++i) work.push_back(new std::string(1000, 'x'));
    const auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    while (std::chrono::steady_clock::now() < next) {
    }
  }
  const size_t made = work.size();
  for (std::string* s : work) delete s;
  std::vector<std::string*>().swap(work);
  std::printf("%zu\n", made);
  return 0;
}
