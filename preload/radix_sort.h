// Scratch memory and sorting inside the target, without allocating. Sorting: least-significant-digit radix sort of records by
// their `addr` field, 16 bits at a time (user-space addresses fit in 48 bits). Callers hold the
// scan's lock (the counts are static).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sys.h"

namespace tidemark::preload {

template <class T>
void sortByAddress(T* a, T* tmp, size_t n) {
  static uint32_t count[65536];
  for (int shift = 0; shift < 48; shift += 16) {
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; ++i) ++count[(a[i].addr >> shift) & 0xffff];
    uint32_t sum = 0;
    for (uint32_t& c : count) {
      uint32_t k = c;
      c = sum;
      sum += k;
    }
    for (size_t i = 0; i < n; ++i) tmp[count[(a[i].addr >> shift) & 0xffff]++] = a[i];
    memcpy(a, tmp, n * sizeof(T));
  }
}

// Scratch arrays from mmap, unmapped when they go out of scope (the tracker's own memory: never
// scanned as roots).
template <typename T>
struct Scratch {
  T* data = nullptr;
  size_t bytes = 0;
  bool allocate(size_t n) {
    bytes = (n * sizeof(T) + 4095) & ~size_t{4095};
    if (!bytes) bytes = 4096;
    data = static_cast<T*>(sys::mapAnonymous(bytes));
    return data != nullptr;
  }
  ~Scratch() {
    if (data) sys::unmapAnonymous(data, bytes);
  }
};

}  // namespace tidemark::preload
