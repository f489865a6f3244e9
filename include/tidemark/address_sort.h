// Sorting records by their `addr` field without allocating: least-significant-digit radix sort,
// 16 bits at a time (user-space addresses fit in 48 bits), through a scratch array as large as
// the records (the passes go back and forth between the two). Not reentrant (the digit counts are static): the tracker calls it under its scan's
// lock, the analyzer from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tidemark {

template <class T>
void sortByAddress(T* a, T* tmp, size_t n) {
  static uint32_t count[65536];
  T* from = a;
  T* to = tmp;
  for (int shift = 0; shift < 48; shift += 16) {
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; ++i) ++count[(from[i].addr >> shift) & 0xffff];
    uint32_t sum = 0;
    for (uint32_t& c : count) {
      uint32_t k = c;
      c = sum;
      sum += k;
    }
    for (size_t i = 0; i < n; ++i) to[count[(from[i].addr >> shift) & 0xffff]++] = from[i];
    T* swap = from;
    from = to;
    to = swap;
  }
  if (from != a) memcpy(a, from, n * sizeof(T));
}

}  // namespace tidemark
