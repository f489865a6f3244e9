// State shared by the hooks: the real allocator functions, the per-thread state, options, and
// the life cycle of the tracker (start, fork, exit).
#pragma once

#include <link.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstdint>

#include "byte_sampling.h"
#include "stack_cache.h"
#include "stack_depot.h"
#include "trace_writer.h"

namespace tidemark::preload {

struct RealFunctions {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*memalign)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  void* (*mmap)(void*, size_t, int, int, int, off_t);
  int (*munmap)(void*, size_t);
  void* (*mremap)(void*, size_t, size_t, int, ...);
  int (*dlclose)(void*);
  int (*dl_iterate_phdr)(int (*)(struct dl_phdr_info*, size_t, void*), void*);
  int (*sigprocmask)(int, const sigset_t*, sigset_t*);
  // Resolved at start, never later: a vfork child calling execvp must not run dlsym (it would
  // allocate in its parent's heap).
  int (*execvpe)(const char*, char* const[], char* const[]);
  pid_t (*wait4)(pid_t, int*, int, struct rusage*);
  int (*waitid)(idtype_t, id_t, siginfo_t*, int);
};
extern RealFunctions real;

struct Options {
#define TIDEMARK_TEXT_OPTION(field, env, def, help) const char* field;
#define TIDEMARK_NUMBER_OPTION(field, env, def, help) uint64_t field;
#define TIDEMARK_COMMAND_VARIABLE(env, help)
#include "tidemark/environment.inc"
#undef TIDEMARK_COMMAND_VARIABLE
#undef TIDEMARK_TEXT_OPTION
#undef TIDEMARK_NUMBER_OPTION
};
extern Options options;
extern bool g_aggregate;  // options.mode is "aggregate"

// Per-thread state, in initial-exec TLS: no allocation and no constructor on first access.
struct ThreadState {
  bool busy;       // inside a hook: nested allocations pass straight through
  bool resolving;  // this thread is looking up the real functions (dlsym may allocate)
  // inside the interpreter's allocator, called by the tracker's wrapper (python_frames.h): what it
  // maps is not recorded, what it unmaps is (a pymalloc arena mapped before the wrapper was in place)
  bool in_python_allocator;
  bool signals_held;  // inside a SignalsHeld: libunwind's own sigprocmask calls change nothing
  Stream stream;
  SampleCountdown sampling;  // sample mode (byte_sampling.h)
};
extern __thread ThreadState t_state __attribute__((tls_model("initial-exec")));

// libunwind blocks every signal around each look-up of a pc's unwind table its small cache
// misses: two sigprocmask calls, hundreds for a small program's first stacks and hundreds of
// thousands for a large Python program's. While the tracker unwinds with libunwind, the thread
// holds those signals once, and the interposed sigprocmask (hooks.cpp) answers libunwind's calls
// as the kernel would, without it. glibc's own signals (cancellation, setxid) stay unblocked, as
// glibc's sigprocmask leaves them.
class SignalsHeld {
 public:
  // What is blocked (bit n-1 for signal n): every signal but 32 and 33 (glibc's).
  static constexpr uint64_t kMask = ~((1ull << 31) | (1ull << 32));
  explicit SignalsHeld(ThreadState& t);
  ~SignalsHeld();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  ThreadState& t_;
  uint64_t saved_ = 0;
  bool held_ = false;
};

// 0 = not started, 1 = starting, 2 = recording, 3 = disabled (no trace: pass everything through)
extern int g_tracker_state;
// The process started another, or was started by one that is traced: the sampler reads PSS.
void notePartOfProcessTree();

inline bool trackerReady() { return __atomic_load_n(&g_tracker_state, __ATOMIC_ACQUIRE) == 2; }

// Resolves the real functions; returns false while that is under way on this thread.
bool resolveRealFunctions();
// Starts the tracker on first use (before main, or at the first allocation if that is earlier).
void ensureStarted();

// Allocations made while dlsym itself allocates: served from a static arena, never freed.
void* bootstrapAlloc(size_t size, size_t align);
inline constexpr size_t kBootstrapBytes = 256 * 1024;
extern uint8_t g_boot[kBootstrapBytes];
// Inline: every free asks.
inline bool isBootstrap(const void* p) {
  auto* b = static_cast<const uint8_t*>(p);
  return b >= g_boot && b < g_boot + kBootstrapBytes;
}
size_t bootstrapSize(const void* p);

// Unwinds the calling thread (frames above `caller` dropped), adds its Python frames when it runs
// any (python_frames.h), and interns the stack.
StackId captureStack(ThreadState& t, CallSite caller);

}  // namespace tidemark::preload
