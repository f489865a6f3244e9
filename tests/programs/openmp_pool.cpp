// A program that runs OpenMP parallel regions: GCC's OpenMP runtime (libgomp) makes its thread
// pool and team the first time, keeps them for the next region and never frees them. The program
// itself leaks exactly one block of 4,321 bytes (leakFromTheProgram).
#include <omp.h>

#include <cstdio>
#include <cstdlib>

__attribute__((noinline)) void* leakFromTheProgram() {
  void* p = malloc(4321);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

int main() {
  double sum = 0;
  for (int region = 0; region < 3; ++region) {
#pragma omp parallel for num_threads(4) reduction(+ : sum)
    for (int i = 0; i < 1000; ++i) sum += i * 0.5;
  }
  leakFromTheProgram();
  std::printf("%.1f\n", sum);
  return 0;
}
