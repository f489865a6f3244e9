// The least an LD_PRELOAD allocation tracker can cost: malloc, free, calloc and realloc interposed
// and handed straight to the next definition (glibc's), nothing recorded. Measured beside the
// tracker's sample mode (bench/overhead_pairs.sh --passthrough), it says how much of that mode's
// cost is the interposition itself. Not a part of tidemark: only for measuring.
#include <dlfcn.h>

#include <cstddef>
#include <cstdint>

namespace {

using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);

MallocFn next_malloc;
FreeFn next_free;
CallocFn next_calloc;
ReallocFn next_realloc;

// dlsym may allocate while the functions are being found: from here, never freed.
alignas(16) char bootstrap[1 << 16];
size_t bootstrap_used;
bool resolving;

void* bootstrapAlloc(size_t size) {
  size = (size + 15) & ~size_t{15};
  if (size > sizeof bootstrap - bootstrap_used) return nullptr;
  void* p = bootstrap + bootstrap_used;
  bootstrap_used += size;
  return p;  // static storage: zero
}

bool fromBootstrap(void* p) {
  auto* c = static_cast<char*>(p);
  return c >= bootstrap && c < bootstrap + sizeof bootstrap;
}

bool resolve() {
  if (next_malloc) return true;
  if (resolving) return false;
  resolving = true;
  next_free = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
  next_calloc = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
  next_realloc = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
  next_malloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
  resolving = false;
  return next_malloc != nullptr;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(size_t size) {
  if (__builtin_expect(!next_malloc, 0) && !resolve()) return bootstrapAlloc(size);
  return next_malloc(size);
}

__attribute__((visibility("default"))) void free(void* p) {
  if (!p || fromBootstrap(p)) return;
  if (__builtin_expect(!next_free, 0) && !resolve()) return;
  next_free(p);
}

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) {
  if (__builtin_expect(!next_calloc, 0) && !resolve()) {
    size_t total;
    return __builtin_mul_overflow(n, size, &total) ? nullptr : bootstrapAlloc(total);
  }
  return next_calloc(n, size);
}

__attribute__((visibility("default"))) void* realloc(void* p, size_t size) {
  if (__builtin_expect(!next_realloc, 0) && !resolve()) return nullptr;
  if (fromBootstrap(p)) {  // moved out of the bootstrap area (its old size is not kept: copy what fits)
    void* q = next_malloc(size);
    if (!q) return nullptr;
    const size_t room = static_cast<size_t>(bootstrap + sizeof bootstrap - static_cast<char*>(p));
    __builtin_memcpy(q, p, size < room ? size : room);
    return q;
  }
  return next_realloc(p, size);
}

}  // extern "C"
