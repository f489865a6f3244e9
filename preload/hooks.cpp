// The interposed allocation functions. Hot path order: guard check, guard set, real call (or, for
// a release, the record first), unwind outside any lock, intern, append. errno is what the real
// function left.
#include <sys/mman.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "aggregator.h"
#include "frame_rules.h"
#include "fork_gate.h"
#include "python_frames.h"
#include "sys.h"
#include "tracker.h"

using namespace tidemark::preload;
namespace format = tidemark::format;

namespace {

#define TM_LIKELY(x) __builtin_expect(!!(x), 1)
#define TM_UNLIKELY(x) __builtin_expect(!!(x), 0)
// Evaluated in each exported function: __builtin_frame_address gives every hook a frame pointer,
// so the caller's rbp and return address sit at known places (see stack_cache.h).
#define TM_CALLER                                                      \
  CallSite {                                                           \
    reinterpret_cast<uintptr_t>(__builtin_return_address(0)),         \
        reinterpret_cast<uintptr_t>(__builtin_frame_address(0))        \
  }

// The thread state when this call should be recorded, nullptr when it passes straight through.
inline ThreadState* enter() {
  if (TM_UNLIKELY(!trackerReady())) {
    ensureStarted();
    if (!trackerReady()) return nullptr;
  }
  ThreadState* t = &t_state;
  if (t->busy) return nullptr;
  t->busy = true;
  return t;
}

inline void leave(ThreadState* t, int saved_errno) {
  errno = saved_errno;
  t->busy = false;
}

// A new block (format::Alloc) or anonymous mapping (format::Mmap): its stack, then the record (or,
// in aggregate mode, the counters). Only heap blocks go in the scan's table; in sample mode, the
// callers record only the blocks sampleThis picked.
template <class Block>
void recordBlock(ThreadState* t, void* p, size_t size, CallSite caller) {
  constexpr bool kMapping = Block::kType == format::RecordType::Mmap;
  StackId stack = captureStack(*t, caller);
  const auto address = reinterpret_cast<uint64_t>(p);
  if (g_aggregate) {
    if constexpr (kMapping)
      aggregator().mapped(stack, address, size);
    else
      aggregator().allocated(stack, address, size);
    return;
  }
  if (!kMapping && options.scan) aggregator().track(address, size, stack);
  if (!kMapping && g_sampling) noteSampledBlock(address, size, stack);
  writeRecord(t->stream, writer().nextSeq(), Block{.stack_id = stack, .address = address, .size = size});
}

void recordFree(ThreadState* t, void* p) {
  const auto address = reinterpret_cast<uint64_t>(p);
  if (g_aggregate) {
    aggregator().released(address);
    return;
  }
  if (g_sampling && !releaseSampledBlock(address)) return;
  if (options.scan) aggregator().untrack(address);
  writeRecord(t->stream, writer().nextSeq(), format::Free{.address = address});
}

inline bool ensureReal() { return TM_LIKELY(real.malloc != nullptr) || resolveRealFunctions(); }

// The interpreter's allocator wrapped by the tracker (python_frames.h): its own work (pymalloc's
// arenas, malloc for big objects) is inside the block recorded by the wrapper, not recorded again.
template <class Call>
inline auto insidePythonAllocator(ThreadState* t, Call call) {
  t->in_python_allocator = true;
  auto result = call();
  t->in_python_allocator = false;
  return result;
}

// The one body of every hook that returns a new block: the real call, then the record of what it
// returned (recorded_size: what the program asked for, or what it got where that is defined).
// kPython: a call of the interpreter's wrapped allocator.
template <bool kPython = false, class RealCall>
inline void* allocateTracked(CallSite caller, size_t recorded_size, RealCall call) {
  ThreadState* t = enter();
  if (!t) return call();
  const bool recorded = !g_sampling || sampleThis(t->sampling, recorded_size);
  void* p = kPython ? insidePythonAllocator(t, call) : call();
  // Sample mode: an allocation that does not reach the thread's next point costs the countdown
  // (errno is the real call's: nothing here touched it).
  if (!recorded) {
    t->busy = false;
    return p;
  }
  int e = errno;
  if (p) recordBlock<format::Alloc>(t, p, recorded_size, caller);
  leave(t, e);
  return p;
}

// Sample mode: a resize is the release of the old block (recorded if it was sampled) and a new
// allocation, sampled by its size like any other. `call` is the real resize; `frees_on_zero`: a
// size of 0 releases the block and returns null (glibc's realloc, not PyMem_Realloc).
template <bool kPython = false, class RealCall>
void* resizeSampled(ThreadState* t, void* p, size_t size, CallSite caller, bool frees_on_zero, RealCall call) {
  const auto old_address = reinterpret_cast<uint64_t>(p);
  Aggregator::Taken taken = p ? takeSampledBlock(old_address) : Aggregator::Taken{};
  // Numbered before the call: once the block is released, another thread may get it back.
  uint64_t seq = taken.known ? writer().nextSeq() : 0;
  void* q = kPython ? insidePythonAllocator(t, call) : call();
  int e = errno;
  if (q || (frees_on_zero && size == 0)) {
    if (taken.known) writeRecord(t->stream, seq, format::Free{.address = old_address});
    if (q && sampleThis(t->sampling, size)) recordBlock<format::Alloc>(t, q, size, caller);
  } else if (taken.known) {
    noteSampledBlock(old_address, taken.size, taken.stack);  // failed: p still stands
  }
  leave(t, e);
  return q;
}

void* reallocTracked(void* p, size_t size, CallSite caller) {
  if (!p) return allocateTracked(caller, size, [&] { return real.realloc(nullptr, size); });
  ThreadState* t = enter();
  if (!t) return real.realloc(p, size);
  if (g_sampling) return resizeSampled(t, p, size, caller, true, [&] { return real.realloc(p, size); });
  // Numbered before the call: once realloc releases p, another thread may get it back.
  StackId stack = size ? captureStack(*t, caller) : 0;
  const auto old_address = reinterpret_cast<uint64_t>(p);
  if (g_aggregate) {
    Aggregator::Taken old = aggregator().take(old_address);
    void* q = real.realloc(p, size);
    int e = errno;
    if (q)
      aggregator().reallocated(old, stack, reinterpret_cast<uint64_t>(q), size);
    else if (size == 0)
      aggregator().reallocated(old, 0, 0, 0);
    else
      aggregator().restore(old_address, old);
    leave(t, e);
    return q;
  }
  uint64_t seq = writer().nextSeq();
  Aggregator::Taken taken{};
  if (options.scan) taken = aggregator().take(old_address);
  void* q = real.realloc(p, size);
  int e = errno;
  if (options.scan) {
    if (q)
      aggregator().track(reinterpret_cast<uint64_t>(q), size, stack);
    else if (size != 0)
      aggregator().restore(old_address, taken);  // failed: p still stands
  }
  if (q)
    writeRecord(t->stream, seq,
                format::Realloc{.stack_id = stack,
                                .old_address = old_address,
                                .new_address = reinterpret_cast<uint64_t>(q),
                                .size = size});
  else if (size == 0)
    writeRecord(t->stream, seq, format::Free{.address = old_address});  // glibc: realloc(p, 0) frees p
  // else: failed, p untouched, nothing happened
  leave(t, e);
  return q;
}

inline size_t pageRound(size_t len) { return (len + 4095) & ~size_t{4095}; }

// munmap and its record (in aggregated mode, the aggregator's bookkeeping); the call's errno in e.
int unmapRecorded(ThreadState& t, void* addr, size_t len, int& e) {
  if (g_aggregate) {
    aggregator().unmapped(reinterpret_cast<uint64_t>(addr), pageRound(len));
    int rc = real.munmap(addr, len);
    e = errno;
    return rc;
  }
  uint64_t seq = writer().nextSeq();
  int rc = real.munmap(addr, len);
  e = errno;
  if (rc == 0) writeRecord(t.stream, seq, format::Munmap{.address = reinterpret_cast<uint64_t>(addr), .size = pageRound(len)});
  return rc;
}

// ---- the interpreter's allocator domains (python_frames.h) ---------------------------------------

using python::Allocator;

void* pythonMalloc(void* ctx, size_t size) {
  auto* inner = static_cast<Allocator*>(ctx);
  return allocateTracked<true>(TM_CALLER, size, [&] { return inner->malloc(inner->ctx, size); });
}

void* pythonCalloc(void* ctx, size_t n, size_t size) {
  auto* inner = static_cast<Allocator*>(ctx);
  return allocateTracked<true>(TM_CALLER, n * size, [&] { return inner->calloc(inner->ctx, n, size); });
}

// Sample mode: a release of a block that was certainly not sampled is not recorded.
inline bool releaseUnrecorded(void* p) {
  return g_sampling && TM_LIKELY(trackerReady()) && !maybeSampled(reinterpret_cast<uint64_t>(p));
}

void pythonFree(void* ctx, void* p) {
  auto* inner = static_cast<Allocator*>(ctx);
  ThreadState* t = p && !releaseUnrecorded(p) ? enter() : nullptr;
  if (!t) return inner->free(inner->ctx, p);
  int e = errno;
  recordFree(t, p);  // before the memory can be handed to another thread
  insidePythonAllocator(t, [&] {
    inner->free(inner->ctx, p);
    return 0;
  });
  leave(t, e);
}

void* pythonRealloc(void* ctx, void* p, size_t size) {
  auto* inner = static_cast<Allocator*>(ctx);
  CallSite caller = TM_CALLER;
  ThreadState* t = enter();
  if (!t) return inner->realloc(inner->ctx, p, size);
  if (g_sampling)
    return resizeSampled<true>(t, p, size, caller, false, [&] { return inner->realloc(inner->ctx, p, size); });
  StackId stack = captureStack(*t, caller);
  const auto old_address = reinterpret_cast<uint64_t>(p);
  Aggregator::Taken taken{};
  if (p && (g_aggregate || options.scan)) taken = aggregator().take(old_address);
  uint64_t seq = writer().nextSeq();
  void* q = insidePythonAllocator(t, [&] { return inner->realloc(inner->ctx, p, size); });
  int e = errno;
  const auto new_address = reinterpret_cast<uint64_t>(q);
  if (g_aggregate) {
    if (q && !p)
      aggregator().allocated(stack, new_address, size);  // PyMem_Realloc(NULL, n): an allocation, as below
    else if (q)
      aggregator().reallocated(taken, stack, new_address, size);
    else if (p)
      aggregator().restore(old_address, taken);
  } else {
    if (options.scan) {
      if (q) aggregator().track(new_address, size, stack);
      else if (p) aggregator().restore(old_address, taken);
    }
    // Unlike realloc(p, 0), PyMem_Realloc(p, 0) returns a block: never a plain release.
    if (q && p)
      writeRecord(t->stream, seq,
                  format::Realloc{.stack_id = stack, .old_address = old_address, .new_address = new_address, .size = size});
    else if (q)
      writeRecord(t->stream, seq, format::Alloc{.stack_id = stack, .address = new_address, .size = size});
  }
  leave(t, e);
  return q;
}

}  // namespace

python::Allocator python::trackingAllocator(Allocator* wrapped) {
  return {wrapped, pythonMalloc, pythonCalloc, pythonRealloc, pythonFree};
}

namespace {
// malloc's every other path, out of line: so that its own (sample mode's allocation that does not
// reach the thread's next point, nearly every one) saves no registers. `caller` is malloc's.
__attribute__((noinline)) void* mallocTracked(size_t size, CallSite caller) {
  return allocateTracked(caller, size, [&] { return real.malloc(size); });
}

// A release that may be recorded: out of line, so that free's own path (sample mode's release of
// a block that was not sampled, nearly every one) saves no registers.
__attribute__((noinline)) void freeRecorded(void* p) {
  ThreadState* t = enter();
  if (!t) {
    real.free(p);
    return;
  }
  int e = errno;
  recordFree(t, p);  // before the memory can be handed to another thread
  real.free(p);
  leave(t, e);
}
}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(size_t size) {
  if (TM_UNLIKELY(!ensureReal())) return bootstrapAlloc(size, 16);
  // Sample mode, not the thread's next point: the countdown, and the real call inside the guard
  // (the allocator's own mmap calls are not the program's), as allocateTracked would.
  ThreadState& t = t_state;
  if (g_sampling && TM_LIKELY(trackerReady()) && !t.busy && t.sampling.bytes_left > size) {
    t.sampling.bytes_left -= size;
    t.busy = true;
    void* p = real.malloc(size);
    t.busy = false;
    return p;
  }
  return mallocTracked(size, TM_CALLER);
}

__attribute__((visibility("default"))) void free(void* p) {
  if (!p || TM_UNLIKELY(isBootstrap(p))) return;
  if (TM_UNLIKELY(!ensureReal())) return;  // only while dlsym runs: leak rather than crash
  if (releaseUnrecorded(p)) {
    real.free(p);
    return;
  }
  freeRecorded(p);
}

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) {
  if (TM_UNLIKELY(!ensureReal())) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return nullptr;
    return bootstrapAlloc(total, 16);  // static storage: already zero
  }
  return allocateTracked(TM_CALLER, n * size, [&] { return real.calloc(n, size); });
}

__attribute__((visibility("default"))) void* realloc(void* p, size_t size) {
  if (TM_UNLIKELY(!ensureReal() || isBootstrap(p))) {
    if (!p || !isBootstrap(p)) return bootstrapAlloc(size, 16);
    // Moving a block out of the bootstrap arena into the real allocator.
    size_t old = bootstrapSize(p);
    void* q = real.malloc ? malloc(size) : bootstrapAlloc(size, 16);
    if (q) memcpy(q, p, old < size ? old : size);
    return q;
  }
  return reallocTracked(p, size, TM_CALLER);
}

__attribute__((visibility("default"))) void* reallocarray(void* p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (TM_UNLIKELY(!ensureReal() || isBootstrap(p))) return realloc(p, total);
  return reallocTracked(p, total, TM_CALLER);
}

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t align, size_t size) {
  if (TM_UNLIKELY(!ensureReal())) {
    *out = bootstrapAlloc(size, align);
    return *out ? 0 : ENOMEM;
  }
  int rc = 0;
  allocateTracked(TM_CALLER, size, [&]() -> void* {
    rc = real.posix_memalign(out, align, size);
    return rc == 0 ? *out : nullptr;
  });
  return rc;
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t align, size_t size) {
  if (TM_UNLIKELY(!ensureReal())) return bootstrapAlloc(size, align);
  return allocateTracked(TM_CALLER, size, [&] { return real.aligned_alloc(align, size); });
}

__attribute__((visibility("default"))) void* memalign(size_t align, size_t size) {
  if (TM_UNLIKELY(!ensureReal())) return bootstrapAlloc(size, align);
  return allocateTracked(TM_CALLER, size, [&] { return real.memalign(align, size); });
}

__attribute__((visibility("default"))) void* valloc(size_t size) {
  if (TM_UNLIKELY(!ensureReal())) return bootstrapAlloc(size, 4096);
  return allocateTracked(TM_CALLER, size, [&] { return real.valloc(size); });
}

__attribute__((visibility("default"))) void* pvalloc(size_t size) {
  if (TM_UNLIKELY(!ensureReal())) return bootstrapAlloc(size, 4096);
  return allocateTracked(TM_CALLER, size ? pageRound(size) : 4096, [&] { return real.pvalloc(size); });
}

// ---- anonymous mappings -------------------------------------------------------------------------

__attribute__((visibility("default"))) void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (TM_UNLIKELY(!real.mmap)) {
    long r = sys::raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
    if (r < 0 && r > -4096) {
      errno = static_cast<int>(-r);
      return MAP_FAILED;
    }
    return reinterpret_cast<void*>(r);
  }
  if (!(flags & MAP_ANONYMOUS) || !options.track_mmap) return real.mmap(addr, len, prot, flags, fd, off);
  CallSite caller = TM_CALLER;
  ThreadState* t = enter();
  if (!t) return real.mmap(addr, len, prot, flags, fd, off);
  void* p = real.mmap(addr, len, prot, flags, fd, off);
  int e = errno;
  if (p != MAP_FAILED) recordBlock<format::Mmap>(t, p, pageRound(len), caller);
  leave(t, e);
  return p;
}

__attribute__((visibility("default"), alias("mmap"))) void* mmap64(void*, size_t, int, int, int, off_t);

__attribute__((visibility("default"))) int munmap(void* addr, size_t len) {
  if (TM_UNLIKELY(!real.munmap)) {
    long r = sys::raw(SYS_munmap, (long)addr, (long)len);
    if (r < 0) {
      errno = static_cast<int>(-r);
      return -1;
    }
    return 0;
  }
  if (!options.track_mmap) return real.munmap(addr, len);
  int e = 0;
  if (TM_UNLIKELY(t_state.in_python_allocator)) {
    // pymalloc returning an arena, inside the tracker's wrapper (busy): recorded, because the
    // arena may have been mapped (and recorded) before the wrapper was in place; unmapping a range
    // that was never recorded is harmless to the analysis.
    int rc = unmapRecorded(t_state, addr, len, e);
    errno = e;
    return rc;
  }
  ThreadState* t = enter();
  if (!t) return real.munmap(addr, len);
  int rc = unmapRecorded(*t, addr, len, e);
  leave(t, e);
  return rc;
}

__attribute__((visibility("default"))) void* mremap(void* old, size_t old_size, size_t new_size, int flags, ...) {
  void* wanted = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    wanted = va_arg(ap, void*);
    va_end(ap);
  }
  if (TM_UNLIKELY(!real.mremap)) {
    long r = sys::raw(SYS_mremap, (long)old, (long)old_size, (long)new_size, flags, (long)wanted);
    if (r < 0 && r > -4096) {
      errno = static_cast<int>(-r);
      return MAP_FAILED;
    }
    return reinterpret_cast<void*>(r);
  }
  CallSite caller = TM_CALLER;
  ThreadState* t = options.track_mmap ? enter() : nullptr;
  if (!t) return real.mremap(old, old_size, new_size, flags, wanted);
  StackId stack = captureStack(*t, caller);
  if (g_aggregate) {
    uint64_t old_len = pageRound(old_size);
    aggregator().unmapped(reinterpret_cast<uint64_t>(old), old_len);
    void* p = real.mremap(old, old_size, new_size, flags, wanted);
    int e = errno;
    if (p != MAP_FAILED)
      aggregator().mapped(stack, reinterpret_cast<uint64_t>(p), pageRound(new_size));
    else
      aggregator().mapped(stack, reinterpret_cast<uint64_t>(old), old_len);
    leave(t, e);
    return p;
  }
  uint64_t seq = writer().nextSeq();
  void* p = real.mremap(old, old_size, new_size, flags, wanted);
  int e = errno;
  if (p != MAP_FAILED)
    writeRecord(t->stream, seq,
                format::Mremap{.stack_id = stack,
                               .old_address = reinterpret_cast<uint64_t>(old),
                               .old_size = pageRound(old_size),
                               .new_address = reinterpret_cast<uint64_t>(p),
                               .new_size = pageRound(new_size)});
  leave(t, e);
  return p;
}

}  // extern "C"

// libunwind, inside the tracker, opens a pipe to test whether memory is readable. Made on the
// lowest free numbers, it would sit where a program expects its own files (`exec 3> file`, a
// daemon that closes every descriptor and opens new ones): libunwind would then close the
// program's file, taking it for its broken pipe. A pipe made from inside the tracker is moved to
// high numbers; the program's own pipes pass through untouched.
namespace {
int madePipe(int rc, int fds[2]) {
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  if (t_state.busy) {
    fds[0] = sys::ownDescriptor(fds[0], sys::DescriptorUse::LibunwindPipe);
    fds[1] = sys::ownDescriptor(fds[1], sys::DescriptorUse::LibunwindPipe);
  }
  return 0;
}
}  // namespace

extern "C" __attribute__((visibility("default"))) int pipe2(int fds[2], int flags) {
  return madePipe(static_cast<int>(sys::raw(SYS_pipe2, reinterpret_cast<long>(fds), flags)), fds);
}

extern "C" __attribute__((visibility("default"))) int pipe(int fds[2]) {
  return madePipe(static_cast<int>(sys::raw(SYS_pipe2, reinterpret_cast<long>(fds), 0)), fds);
}

// The program's calls go to glibc's; libunwind's, made while the tracker holds the thread's signals
// (tracker.h, SignalsHeld), are answered here: blocking what is blocked, or restoring the mask it
// was told it had, changes nothing.
extern "C" __attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  if (t_state.signals_held) {
    if (old) {
      memset(old, 0, sizeof *old);
      memcpy(old, &SignalsHeld::kMask, sizeof SignalsHeld::kMask);
    }
    return 0;
  }
  if (TM_LIKELY(real.sigprocmask) || (ensureReal() && real.sigprocmask)) return real.sigprocmask(how, set, old);
  // Only while dlsym runs: the system call as glibc makes it (its own signals never blocked).
  uint64_t mask = 0, was = 0;
  if (set) memcpy(&mask, set, sizeof mask);
  if (how != SIG_UNBLOCK) mask &= SignalsHeld::kMask;
  long rc = sys::raw(SYS_rt_sigprocmask, how, set ? reinterpret_cast<long>(&mask) : 0, old ? reinterpret_cast<long>(&was) : 0, 8);
  if (rc < 0) {
    errno = static_cast<int>(-rc);
    return -1;
  }
  if (old) {
    memset(old, 0, sizeof *old);
    memcpy(old, &was, sizeof was);
  }
  return 0;
}

// Every walk of the loaded modules, the program's and libunwind's and the tracker's own, is a
// section a fork waits for (fork_gate.h).
extern "C" __attribute__((visibility("default"))) int dl_iterate_phdr(int (*callback)(dl_phdr_info*, size_t, void*), void* data) {
  if (TM_UNLIKELY(!ensureReal()) || !real.dl_iterate_phdr) return 0;  // only while dlsym runs, which never walks
  ForkGatedSection section;
  return real.dl_iterate_phdr(callback, data);
}

// Code unloaded by dlclose may be replaced by other code at the same addresses: the learned frame
// rules and the cached stacks are forgotten.
extern "C" __attribute__((visibility("default"))) int dlclose(void* handle) {
  if (TM_UNLIKELY(!ensureReal()) || !real.dlclose) return -1;
  int rc = real.dlclose(handle);
  int e = errno;
  forgetFrameRules();
  invalidateStackCaches();
  errno = e;
  return rc;
}
