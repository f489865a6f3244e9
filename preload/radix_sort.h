// Scratch memory and sorting inside the target, without allocating (tidemark/address_sort.h:
// callers hold the scan's lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sys.h"
#include "tidemark/address_sort.h"

namespace tidemark::preload {

using tidemark::sortByAddress;

// Scratch arrays from mmap, unmapped when they go out of scope (the tracker's own memory: never
// scanned as roots).
template <typename T>
struct Scratch {
  T* data = nullptr;
  size_t bytes = 0;
  bool allocate(size_t n, bool populate = true) {
    bytes = (n * sizeof(T) + 4095) & ~size_t{4095};
    if (!bytes) bytes = 4096;
    data = static_cast<T*>(sys::mapAnonymous(bytes, populate));
    return data != nullptr;
  }
  ~Scratch() {
    if (data) sys::unmapAnonymous(data, bytes);
  }
};

}  // namespace tidemark::preload
