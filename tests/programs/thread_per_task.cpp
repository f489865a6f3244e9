// Thread per task: starts THREADS short-lived threads, eight at a time, each allocating and
// freeing one block. Prints how many allocations the tasks made and how many mappings the
// process has at the end. Usage: thread_per_task THREADS
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

__attribute__((noinline)) void* task(void*) {
  void* p = malloc(64);
  asm volatile("" : : "r"(p) : "memory");
  free(p);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1000;
  for (int started = 0; started < threads;) {
    pthread_t batch[8];
    int n = 0;
    for (; n < 8 && started < threads; ++n, ++started) pthread_create(&batch[n], nullptr, task, nullptr);
    for (int i = 0; i < n; ++i) pthread_join(batch[i], nullptr);
  }
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int count = 0;
  while (std::getline(maps, line)) ++count;
  std::printf("tasks %d maps %d\n", threads, count);
  return 0;
}
