#include "tracker.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "aggregator.h"
#include "module_map.h"
#include "fork_gate.h"
#include "python_frames.h"
#include "spinlock.h"
#include "frame_rules.h"
#include "python_objects.h"
#include "scanner.h"
#include "stack_cache.h"
#include "sys.h"
#include "thread_end.h"

namespace tidemark::preload {

RealFunctions real;
Options options;
bool g_aggregate = false;
__thread ThreadState t_state __attribute__((tls_model("initial-exec")));
int g_tracker_state = 0;

namespace {

SpinLock g_start_lock;
int g_resolve_state = 0;  // 0 = not yet, 1 = under way, 2 = done
bool g_is_fork_child = false;
// Part of a tree of processes (it forked, was forked, reaped a child, replaced a traced image by
// exec, or its parent is traced): only then does the sampler read PSS, so a program that starts no
// process pays nothing but one look at its parent's maps at start.
bool g_in_process_tree = false;
uint64_t g_self_lo = 0, g_self_hi = 0;  // our own text, dropped from the top of every stack
int g_statm_fd = -1;
uint64_t g_page_size = 4096;

// ---- bootstrap arena --------------------------------------------------------------------------

size_t g_boot_used = 0;

}  // namespace

alignas(64) uint8_t g_boot[kBootstrapBytes];

void* bootstrapAlloc(size_t size, size_t align) {
  if (align < 16) align = 16;
  size_t start = (g_boot_used + 16 + align - 1) & ~(align - 1);
  if (start + size > sizeof g_boot) return nullptr;
  g_boot_used = start + size;
  memcpy(g_boot + start - 8, &size, sizeof size);
  return g_boot + start;
}

size_t bootstrapSize(const void* p) {
  size_t size;
  memcpy(&size, static_cast<const uint8_t*>(p) - 8, sizeof size);
  return size;
}

// ---- small helpers of sys.h ---------------------------------------------------------------------

namespace {
uint64_t clockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

uint64_t sys::monotonicNs() { return clockNs(CLOCK_MONOTONIC); }
uint64_t sys::realtimeNs() { return clockNs(CLOCK_REALTIME); }
uint64_t sys::threadCpuNs() { return clockNs(CLOCK_THREAD_CPUTIME_ID); }

int sys::ownDescriptor(int fd, DescriptorUse use) {
  if (fd < 0) return fd;
  rlimit limit{};
  if (raw(SYS_getrlimit, RLIMIT_NOFILE, reinterpret_cast<long>(&limit)) != 0) return fd;
  uint64_t soft = limit.rlim_cur == RLIM_INFINITY ? 1u << 20 : limit.rlim_cur;
  if (soft > (1u << 20)) soft = 1u << 20;
  if (soft <= 128) return fd;  // too few to stay out of the way: keep it where it is
  // Two ranges that never meet: libunwind closes the numbers it believes are its pipe's, so they
  // must never be the trace's, even after the program closed both and they were reopened.
  int high = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<long>(soft - (use == DescriptorUse::LibunwindPipe ? 64 : 32)));
  if (high < 0) return fd;
  close(fd);
  return high;
}

void sys::message(const char* msg, const char* detail) {
  if (options.quiet) return;
  char line[1024];
  size_t n = 0;
  auto add = [&](const char* s) {
    while (s && *s && n < sizeof line - 2) line[n++] = *s++;
  };
  add("tidemark: ");
  add(msg);
  if (detail) {
    add(" ");
    add(detail);
  }
  line[n++] = '\n';
  sys::write(2, line, n);
}

// ---- real functions ---------------------------------------------------------------------------

bool resolveRealFunctions() {
  if (__atomic_load_n(&g_resolve_state, __ATOMIC_ACQUIRE) == 2) return true;
  if (t_state.resolving) return false;  // dlsym allocating: the caller uses the bootstrap arena
  static SpinLock lock;
  LockGuard guard(lock);
  if (g_resolve_state == 2) return true;
  t_state.resolving = true;
  g_resolve_state = 1;
  auto next = [](const char* name) { return dlsym(RTLD_NEXT, name); };
  real.malloc = reinterpret_cast<decltype(real.malloc)>(next("malloc"));
  real.free = reinterpret_cast<decltype(real.free)>(next("free"));
  real.calloc = reinterpret_cast<decltype(real.calloc)>(next("calloc"));
  real.realloc = reinterpret_cast<decltype(real.realloc)>(next("realloc"));
  real.reallocarray = reinterpret_cast<decltype(real.reallocarray)>(next("reallocarray"));
  real.posix_memalign = reinterpret_cast<decltype(real.posix_memalign)>(next("posix_memalign"));
  real.aligned_alloc = reinterpret_cast<decltype(real.aligned_alloc)>(next("aligned_alloc"));
  real.memalign = reinterpret_cast<decltype(real.memalign)>(next("memalign"));
  real.valloc = reinterpret_cast<decltype(real.valloc)>(next("valloc"));
  real.pvalloc = reinterpret_cast<decltype(real.pvalloc)>(next("pvalloc"));
  real.mmap = reinterpret_cast<decltype(real.mmap)>(next("mmap"));
  real.munmap = reinterpret_cast<decltype(real.munmap)>(next("munmap"));
  real.mremap = reinterpret_cast<decltype(real.mremap)>(next("mremap"));
  real.dlclose = reinterpret_cast<decltype(real.dlclose)>(next("dlclose"));
  real.dl_iterate_phdr = reinterpret_cast<decltype(real.dl_iterate_phdr)>(next("dl_iterate_phdr"));
  real.sigprocmask = reinterpret_cast<decltype(real.sigprocmask)>(next("sigprocmask"));
  real.execvpe = reinterpret_cast<decltype(real.execvpe)>(next("execvpe"));
  real.wait4 = reinterpret_cast<decltype(real.wait4)>(next("wait4"));
  real.waitid = reinterpret_cast<decltype(real.waitid)>(next("waitid"));
  t_state.resolving = false;
  if (!real.malloc || !real.free || !real.calloc || !real.realloc || !real.mmap || !real.munmap) {
    static const char kMsg[] = "tidemark: cannot find the real allocator (dlsym failed); aborting\n";
    sys::write(2, kMsg, sizeof kMsg - 1);
    _exit(127);  // before main: there is no allocator to fall back to
  }
  __atomic_store_n(&g_resolve_state, 2, __ATOMIC_RELEASE);
  return true;
}

// ---- stack capture ----------------------------------------------------------------------------

namespace {

StackId internFrames(ThreadState& t, const uint64_t* frames, uint32_t count) {
  bool is_new = false;
  StackId id = depot().intern(frames, count, is_new);
  if (is_new) {
    uint32_t generation = currentModuleMap(t.stream);
    ElementRecordWriter r(t.stream, writer().nextSeq(),
                          format::StackDef{.stack_id = id, .module_generation = generation, .frame_count = count});
    for (uint32_t i = 0; i < count; ++i) r.add(format::StackFrame{.ip = frames[i]});
    r.commit();
  }
  return id;
}

// libunwind's fast trace, for stacks that are not cached.
StackId unwindFast(ThreadState& t, CallSite caller) {
  SignalsHeld held(t);
  ForkGatedSection section;  // libunwind's locks (fork_gate.h)
  // libunwind loops on `errno == EINTR` after calls that succeed without touching errno: never let
  // the program's errno in (the hook restores it on the way out). Only where libunwind runs, not
  // on a cache hit.
  errno = 0;
  void* raw[format::kMaxFrames + 24];
  int limit = static_cast<int>(options.max_frames) + 24;
  int n = unw_backtrace(raw, limit);
  // Drop the unwinder's and the tracker's own frames: the stack starts at the return address into
  // the code that called the allocation function.
  int start = -1;
  for (int i = 0; i < n && i < 24; ++i) {
    if (reinterpret_cast<uintptr_t>(raw[i]) == caller.ret) {
      start = i;
      break;
    }
  }
  if (start < 0) {
    start = 0;
    while (start < n && (reinterpret_cast<uintptr_t>(raw[start]) - g_self_lo) < (g_self_hi - g_self_lo)) ++start;
  }
  uint32_t count = static_cast<uint32_t>(n - start);
  if (count > options.max_frames) count = static_cast<uint32_t>(options.max_frames);
  // Up to the innermost frame of the eval loop (python_frames.h), as unwindWithRules stops.
  const python::CodeRange eval_loop = python::evalLoop();
  for (uint32_t i = 0; i < count; ++i)
    if (eval_loop.contains(reinterpret_cast<uintptr_t>(raw[start + i]))) count = i + 1;
  return internFrames(t, reinterpret_cast<const uint64_t*>(raw + start), count);
}

}  // namespace

SignalsHeld::SignalsHeld(ThreadState& t) : t_(t) {
  if (t.signals_held) return;  // held by an outer unwind already
  held_ = sys::raw(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&kMask), reinterpret_cast<long>(&saved_), 8) == 0;
  t.signals_held = held_;
}

SignalsHeld::~SignalsHeld() {
  if (!held_) return;
  t_.signals_held = false;
  sys::raw(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&saved_), 0, 8);
}

namespace {

// The highest CFA libunwind has shown on this thread: the tracker's own unwinder never reads above.
__thread uint64_t t_stack_top __attribute__((tls_model("initial-exec")));

// Unwinds with libunwind's DWARF stepper from the hook's caller outward and learns each pc's rule
// (frame_rules.h), for the first `frames` frames (the outer ones were learned before: stepping
// through them again costs libunwind's look-ups for nothing). Slow (libunwind blocks signals
// around each look-up its small cache misses: two system calls), so it runs only for pcs not seen
// before.
void learnStack(CallSite caller, uint32_t frames) {
  SignalsHeld held(t_state);
  ForkGatedSection section;  // libunwind's locks (fork_gate.h)
  errno = 0;  // as in unwindFast
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return;
  for (int skipped = 0;; ++skipped) {
    unw_word_t ip = 0, sp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    if (ip == caller.ret && sp == caller.cfa()) break;
    if (skipped > 24 || unw_step(&cursor) <= 0) return;
  }
  for (uint32_t n = 0; n < options.max_frames && n < frames; ++n) {
    unw_word_t ip = 0, sp = 0, rbp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    if (python::evalLoop().contains(ip)) return;  // the stack ends there (python_frames.h)
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    unw_get_reg(&cursor, UNW_X86_64_RBP, &rbp);
    if (unw_is_signal_frame(&cursor) > 0) {
      learnFrameRule(ip, {FrameKind::Unusable, false, 0, 0});
      return;
    }
    int stepped = unw_step(&cursor);
    if (stepped <= 0) {
      if (stepped == 0) learnFrameRule(ip, {FrameKind::Outermost, false, 0, 0});
      return;
    }
    unw_word_t next_ip = 0, cfa = 0, next_rbp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &next_ip);
    unw_get_reg(&cursor, UNW_REG_SP, &cfa);
    unw_get_reg(&cursor, UNW_X86_64_RBP, &next_rbp);
    unw_save_loc_t loc;
    bool in_memory = unw_get_save_loc(&cursor, UNW_X86_64_RBP, &loc) == 0 && loc.type == UNW_SLT_MEMORY;
    if (cfa > t_stack_top) t_stack_top = cfa;
    FrameRule rule{FrameKind::Unusable, false, 0, 0};
    if (cfa <= sp || cfa - sp > (1u << 30) || *reinterpret_cast<const uint64_t*>(cfa - 8) != next_ip) {
      // the return address was not where a call leaves it: leave the rule Unusable
    } else if (rbp == cfa - 16 && in_memory && loc.u.addr == cfa - 16) {
      rule = {FrameKind::FramePointer, false, 0, 0};
    } else if (in_memory && loc.u.addr >= sp && loc.u.addr < cfa) {
      rule = {FrameKind::Fixed, true, static_cast<int16_t>(static_cast<int64_t>(loc.u.addr - cfa)),
              static_cast<uint32_t>(cfa - sp)};
    } else if (next_rbp == rbp) {
      rule = {FrameKind::Fixed, false, 0, static_cast<uint32_t>(cfa - sp)};
    }
    learnFrameRule(ip, rule);
    if (next_ip == 0) return;
  }
}

enum class Unwound { Done, NeedsLearning, Unusable };

// The tracker's own unwinder: follows the learned rules from the hook's caller, collects the
// frames and, in the cache's ring, every stack word the result depended on (see stack_cache.h);
// `checks` is their number (more than StackCache::kMaxChecks: too many to keep). NeedsLearning:
// `learn` is how many frames from the caller learnStack must learn (all of them when the stack
// goes above what libunwind has shown of this thread's).
Unwound unwindWithRules(CallSite caller, uint64_t* frames, uint32_t& n, StackCache& cache, uint32_t& checks, uint32_t& learn) {
  const uint64_t cfa0 = caller.cfa();
  const uint64_t top = t_stack_top;
  learn = UINT32_MAX;
  if (top <= cfa0) return Unwound::NeedsLearning;
  const auto max = static_cast<uint32_t>(options.max_frames);
  checks = 0;
  auto check = [&](uint64_t address, uint64_t value) {
    if (checks < StackCache::kMaxChecks)
      cache.writeCheck(checks, static_cast<int32_t>(static_cast<int64_t>(address - cfa0)), value);
    ++checks;
  };
  auto word = [](uint64_t address) { return *reinterpret_cast<const uint64_t*>(address); };
  uint64_t ip = caller.ret;
  uint64_t sp = cfa0;
  uint64_t rbp_from = caller.frame;  // where the current rbp value was read
  uint64_t rbp = word(rbp_from);
  n = 0;
  const python::CodeRange eval_loop = python::evalLoop();
  for (;;) {
    frames[n++] = ip;
    if (n == max || eval_loop.contains(ip)) break;
    FrameRule rule = frameRule(ip);
    uint64_t cfa = 0;
    switch (rule.kind) {
      case FrameKind::Unknown:
        learn = n;  // up to this frame
        return Unwound::NeedsLearning;
      case FrameKind::Unusable: return Unwound::Unusable;
      case FrameKind::Outermost: goto done;
      case FrameKind::FramePointer:
        cfa = rbp + 16;
        if (cfa < sp + 16 || cfa > top) return Unwound::NeedsLearning;
        check(rbp_from, rbp);  // this frame's size came from that word
        rbp_from = rbp;
        rbp = word(rbp_from);
        break;
      case FrameKind::Fixed:
        cfa = sp + rule.size;
        if (cfa > top) return Unwound::NeedsLearning;
        if (rule.saves_rbp) {
          rbp_from = cfa + static_cast<int64_t>(rule.rbp_offset);
          rbp = word(rbp_from);
        }
        break;
    }
    ip = word(cfa - 8);
    check(cfa - 8, ip);
    sp = cfa;
    if (ip == 0) {
      --checks;
      break;
    }
  }
done:
  return Unwound::Done;
}

// A hash of the return address after the caller's, read with the learned rules (0 where a
// rule is missing): it only spreads the cache's sets, the entries' checks decide a hit.
uint64_t spreadHash(CallSite caller) {
  const uint64_t top = t_stack_top;
  uint64_t ip = caller.ret, sp = caller.cfa();
  uint64_t rbp = *reinterpret_cast<const uint64_t*>(caller.frame);
  uint64_t h = 0;
  for (int i = 0; i < 1; ++i) {
    FrameRule rule = frameRule(ip);
    uint64_t cfa;
    if (rule.kind == FrameKind::Fixed) {
      cfa = sp + rule.size;
      if (cfa > top) break;
      if (rule.saves_rbp) rbp = *reinterpret_cast<const uint64_t*>(cfa + static_cast<int64_t>(rule.rbp_offset));
    } else if (rule.kind == FrameKind::FramePointer) {
      cfa = rbp + 16;
      if (cfa < sp + 16 || cfa > top) break;
      rbp = *reinterpret_cast<const uint64_t*>(rbp);
    } else {
      break;
    }
    ip = *reinterpret_cast<const uint64_t*>(cfa - 8);
    sp = cfa;
    h = (h ^ ip) * 0x9e3779b97f4a7c15ull;
  }
  return h;
}

void verify(ThreadState& t, CallSite caller, StackId id) {
  StackCacheStats& stats = stackCacheStats();
  __atomic_add_fetch(&stats.verified, 1, __ATOMIC_RELAXED);
  if (unwindFast(t, caller) != id && __atomic_fetch_add(&stats.mismatches, 1, __ATOMIC_RELAXED) == 0)
    sys::message("stack cache: a stack differs from libunwind's");
}

}  // namespace

namespace {

StackId captureNativeStack(ThreadState& t, CallSite caller) {
  StackCache* cache = threadStackCache();
  if (!cache) return unwindFast(t, caller);
  const uint32_t epoch = stackCacheEpoch();
  StackCache::Entry* victim = nullptr;
  if (StackId id = cache->find(caller, spreadHash(caller), epoch, victim)) {
    if (options.verify_stacks) {
      __atomic_add_fetch(&stackCacheStats().hits, 1, __ATOMIC_RELAXED);
      verify(t, caller, id);
    }
    return id;
  }
  victim->epoch = 0;  // invalid while its checks may be overwritten
  uint64_t frames[format::kMaxFrames];
  uint32_t n = 0, checks = 0;
  uint32_t learn = 0;
  Unwound result = unwindWithRules(caller, frames, n, *cache, checks, learn);
  // A stack new in one frame (another way into a known path) is learned as far as that frame, and
  // again as far as the next one it meets, a few times at most; then the whole of it.
  for (int attempt = 0; result == Unwound::NeedsLearning && attempt < 4; ++attempt) {
    learnStack(caller, attempt < 3 ? learn : UINT32_MAX);
    result = unwindWithRules(caller, frames, n, *cache, checks, learn);
  }
  if (result != Unwound::Done) {
    if (options.verify_stacks) __atomic_add_fetch(&stackCacheStats().uncacheable, 1, __ATOMIC_RELAXED);
    return unwindFast(t, caller);
  }
  StackId id = internFrames(t, frames, n);
  if (options.verify_stacks) {
    __atomic_add_fetch(&stackCacheStats().misses, 1, __ATOMIC_RELAXED);
    verify(t, caller, id);
  }
  if (id && checks <= StackCache::kMaxChecks) cache->commit(*victim, caller, id, checks, epoch);
  return id;
}

// Python frames are interned as a tree (format::PythonFrame): a frame is [kFrameTag | id of its
// caller's frame, its word]; a stack is [kNativeTag | native stack id, kFrameTag | its innermost
// frame's id] (format::PythonStack). Tags keep these apart from native stacks (user addresses).
constexpr uint64_t kNativeTag = 1ull << 62, kFrameTag = 1ull << 61;

// The depot's id of a two-word key, through the thread's cache of them (stack_cache.h).
StackId internPair(const uint64_t key[2], bool& is_new) {
  is_new = false;
  StackCache* cache = threadStackCache();
  if (!cache) return depot().intern(key, 2, is_new);
  const uint32_t epoch = stackCacheEpoch();
  StackCache::Pair& slot = cache->pairSlot(key);
  if (slot.epoch == epoch && slot.key[0] == key[0] && slot.key[1] == key[1]) return slot.id;
  StackId id = depot().intern(key, 2, is_new);
  if (id) slot = {{key[0], key[1]}, id, epoch};
  return id;
}

StackId internPythonFrame(ThreadState& t, StackId parent, uint64_t word) {
  const uint64_t key[2] = {kFrameTag | parent, word};
  bool is_new = false;
  StackId id = internPair(key, is_new);
  if (is_new)
    writeRecord(t.stream, writer().nextSeq(),
                format::PythonFrame{.frame_id = id,
                                    .parent = parent,
                                    .code_id = python::codeIdOf(word),
                                    .instruction = python::instructionOf(word),
                                    .entry = python::entryOf(word)});
  return id;
}

// words: the thread's Python frames, innermost first. Returns the innermost frame's id, 0 when the
// depot is full.
StackId internPythonChain(ThreadState& t, const uint64_t* words, uint32_t n) {
  StackCache* cache = threadStackCache();
  StackCache::PythonChain scratch;
  StackCache::PythonChain& memo = cache ? cache->python_chain : scratch;
  const uint32_t epoch = stackCacheEpoch();
  uint32_t same = 0;  // outermost frames shared with the last chain
  if (cache && memo.epoch == epoch)
    while (same < n && same < memo.count && memo.words[same] == words[n - 1 - same]) ++same;
  StackId parent = same ? memo.ids[same - 1] : 0;
  for (uint32_t r = same; r < n; ++r) {
    uint64_t word = words[n - 1 - r];
    parent = internPythonFrame(t, parent, word);
    if (!parent) {
      memo.count = 0;
      return 0;
    }
    memo.words[r] = word;
    memo.ids[r] = parent;
  }
  memo.count = n;
  memo.epoch = epoch;
  return parent;
}

// Whether live blocks are tracked in process, so the heap can be scanned.
bool scanEnabled() { return g_aggregate || options.scan; }

// A heap scan with the interpreter's object graph: the calling thread holds the GIL.
void scanWithObjectGraph(Stream& s, format::ScanReason reason) {
  scanHeap(s, static_cast<uint8_t>(reason), python::writeObjectGraph, python::leftInFreeList);
}

StackId withPythonFrames(ThreadState& t, CallSite caller) {
  python::wrapAllocatorWhenSafe(&t.stream);
  uint64_t words[format::kMaxFrames];
  // The Python frames first: they say where the native stack ends (python_frames.h).
  uint32_t n = python::readFrames(t.stream, threadStackCache(), words, static_cast<uint32_t>(options.max_frames));
  const StackId native = captureNativeStack(t, caller);
  if (n == 0) {
    // The first call on the thread finalizing the interpreter, after the program's atexit
    // handlers: its objects are all still there, and never will be again.
    if (scanEnabled() && python::exitGraphDue()) scanWithObjectGraph(t.stream, format::ScanReason::Exit);
    return native;
  }
  StackId innermost = internPythonChain(t, words, n);
  if (!innermost) return native;
  const uint64_t key[2] = {kNativeTag | native, kFrameTag | innermost};
  bool is_new = false;
  StackId id = internPair(key, is_new);
  if (is_new)
    writeRecord(t.stream, writer().nextSeq(),
                format::PythonStack{.stack_id = id, .native_stack = native, .python_frame = innermost});
  return id ? id : native;
}

}  // namespace

StackId captureStack(ThreadState& t, CallSite caller) {
  return python::framesAvailable() ? withPythonFrames(t, caller) : captureNativeStack(t, caller);
}

// ---- start, fork, exit --------------------------------------------------------------------------

namespace {

uint64_t parseNumber(const char* s, uint64_t fallback) {
  if (!s || !*s) return fallback;
  uint64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return fallback;
    v = v * 10 + static_cast<uint64_t>(*s - '0');
  }
  return v;
}

void readOptions() {
#define TIDEMARK_TEXT_OPTION(field, env, def, help) \
  options.field = getenv(env);                      \
  if (!options.field || !*options.field) options.field = def;
#define TIDEMARK_NUMBER_OPTION(field, env, def, help) options.field = parseNumber(getenv(env), def);
#define TIDEMARK_COMMAND_VARIABLE(env, help)
#include "tidemark/environment.inc"
#undef TIDEMARK_COMMAND_VARIABLE
#undef TIDEMARK_TEXT_OPTION
#undef TIDEMARK_NUMBER_OPTION
  g_aggregate = strcmp(options.mode, "aggregate") == 0;
  g_sampling = strcmp(options.mode, "sample") == 0;
  if (g_sampling) {
    options.scan = 0;  // a scan needs every live block
    if (options.sample_bytes == 0) options.sample_bytes = 1;
    configureSampling(options.sample_bytes, options.sample_seed);
  }
  if (options.max_frames > format::kMaxFrames) options.max_frames = format::kMaxFrames;
  if (options.max_frames == 0) options.max_frames = 1;
}

int findSelf(struct dl_phdr_info* info, size_t, void*) {
  auto here = reinterpret_cast<uint64_t>(&findSelf);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    uint64_t lo = info->dlpi_addr + ph.p_vaddr;
    if (here >= lo && here < lo + ph.p_memsz) {
      g_self_lo = lo;
      g_self_hi = lo + ph.p_memsz;
      return 1;
    }
  }
  return 0;
}

// Reads a small file with raw syscalls; returns bytes read (0 on failure), NUL-terminated.
size_t readSmallFile(const char* path, char* buf, size_t size) {
  int fd = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t total = 0;
  while (total < size - 1) {
    long n = sys::read(fd, buf + total, size - 1 - total);
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  sys::close(fd);
  buf[total] = '\0';
  return total;
}

uint64_t parseLimit(const char* text) {
  if (text[0] < '0' || text[0] > '9') return 0;  // "max"
  uint64_t v = 0;
  for (const char* s = text; *s >= '0' && *s <= '9'; ++s) v = v * 10 + static_cast<uint64_t>(*s - '0');
  return v >= (1ull << 62) ? 0 : v;  // cgroup v1 writes a huge number for "no limit"
}

// The tightest memory limit of the cgroup we run in and its ancestors (v2 memory.max, v1
// memory.limit_in_bytes); 0 when there is none.
uint64_t cgroupMemoryLimit() {
  char cgroups[4096];
  if (!readSmallFile("/proc/self/cgroup", cgroups, sizeof cgroups)) return 0;
  uint64_t best = 0;
  for (char* line = cgroups; *line;) {
    char* eol = strchr(line, '\n');
    if (eol) *eol = '\0';
    const char* dir = nullptr;
    const char* file = nullptr;
    char* rel = nullptr;
    if (strncmp(line, "0::", 3) == 0) {
      dir = "/sys/fs/cgroup";
      file = "memory.max";
      rel = line + 3;
    } else if (char* m = strstr(line, ":memory:")) {
      dir = "/sys/fs/cgroup/memory";
      file = "memory.limit_in_bytes";
      rel = m + 8;
    }
    if (dir) {
      char path[4096];
      char value[64];
      for (;;) {
        size_t n = 0;
        for (const char* parts[] = {dir, rel, "/", file}; const char* part : parts) {
          size_t len = strnlen(part, 1500);
          if (n + len >= sizeof path) break;
          memcpy(path + n, part, len);
          n += len;
        }
        path[n] = '\0';
        if (readSmallFile(path, value, sizeof value)) {
          uint64_t limit = parseLimit(value);
          if (limit && (!best || limit < best)) best = limit;
        }
        char* slash = strrchr(rel, '/');
        if (!slash || slash == rel) {
          if (rel[0] == '\0') break;
          rel[0] = '\0';  // one more round for the root of the hierarchy
          continue;
        }
        *slash = '\0';
      }
    }
    if (!eol) break;
    line = eol + 1;
  }
  return best;
}

// Whether the parent process runs the tracker too (its memory maps hold this library): a program it
// started by vfork or posix_spawn and exec, which no fork handler saw. Read once, at start.
bool parentIsTraced() {
  char path[64] = "/proc/";
  char* p = path + 6;
  int ppid = sys::getppid();
  char digits[16];
  int n = 0;
  do digits[n++] = static_cast<char>('0' + ppid % 10); while ((ppid /= 10) != 0);
  while (n) *p++ = digits[--n];
  memcpy(p, "/maps", 6);
  int fd = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static const char kName[] = "libtidemark_preload";
  constexpr size_t kKeep = sizeof kName - 1;  // a name cut between two reads is found whole
  char buf[4096 + kKeep + 1];
  size_t kept = 0;
  bool found = false;
  for (;;) {
    long got = sys::read(fd, buf + kept, 4096);
    if (got <= 0) break;
    size_t len = kept + static_cast<size_t>(got);
    buf[len] = '\0';
    if (memmem(buf, len, kName, kKeep)) {
      found = true;
      break;
    }
    kept = len < kKeep ? len : kKeep;
    memmove(buf, buf + len - kept, kept);
  }
  sys::close(fd);
  return found;
}

void writeProcessInfo(ThreadState& t) {
  static char exe[4096];
  long n = sys::readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  setExecutablePath(exe);
  static char cmdline[8192];
  size_t cmd_len = readSmallFile("/proc/self/cmdline", cmdline, sizeof cmdline);
  writeRecord(t.stream, writer().nextSeq(),
              format::ProcessInfo{.pid = static_cast<uint64_t>(sys::getpid()),
                                  .ppid = static_cast<uint64_t>(sys::getppid()),
                                  .exe = {exe, strnlen(exe, 4000)},
                                  .cmdline = {cmdline, cmd_len},
                                  .cgroup_limit = cgroupMemoryLimit()});
}

// Reads one "Name:   123 kB" field of /proc/self/smaps_rollup's text, in bytes (0 when absent).
uint64_t rollupField(const char* text, const char* name) {
  size_t len = strlen(name);
  for (const char* line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : nullptr) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') return strtoull(line + len + 1, nullptr, 10) * 1024;
  }
  return 0;
}

// The proportional and unique set sizes, from /proc/self/smaps_rollup. The kernel walks the page
// tables to answer (about 1 ms per 50 MB resident here), so the sampler reads it at most every
// 100 ms and then so that reading takes at most 1% of its time: every 2 s for a 1 GiB process.
// In its first second it reads every 100 ms whatever the cost, as processes start beside it and
// its shares change most (a pool's forked workers each split the pages they share with the
// others; a worker that lives 150 ms would otherwise be read once, before its siblings forked).
// Reads fall on a grid of the wall clock, multiples of 100 ms x 2^k, which every process of a run
// shares: what a reading says of a page mapped by several processes (its size over their number)
// holds at that moment only, so a tree's PSS adds up readings of the same moment.
class RollupReader {
 public:
  // Fills pss and uss when a read is due (the first sample, then each grid point); leaves them 0
  // otherwise.
  void sample(uint64_t wall_ns, uint64_t& pss, uint64_t& uss) {
    if (wall_ns < next_read_wall_ns_ || failed_) return;
    uint64_t begun = sys::threadCpuNs();  // the page walk's CPU time: a preemption is not its cost
    if (fd_ < 0) fd_ = sys::ownDescriptor(sys::open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC));
    char text[2048];
    long n = fd_ >= 0 ? sys::pread(fd_, text, sizeof text - 1, 0) : -1;
    if (n == -EBADF) {  // the program closed every descriptor: open ours again next time
      fd_ = -1;
      return;
    }
    if (n <= 0) {
      failed_ = true;  // no smaps_rollup (a kernel before 4.14, or /proc hidden): RSS only
      return;
    }
    text[n] = '\0';
    pss = rollupField(text, "Pss");
    uss = rollupField(text, "Private_Clean") + rollupField(text, "Private_Dirty");
    uint64_t cost = sys::threadCpuNs() - begun, period = kMinimumGapNs;
    if (!first_read_wall_ns_) first_read_wall_ns_ = wall_ns;
    while (period < cost * 100 && wall_ns - first_read_wall_ns_ >= kYoungNs) period *= 2;
    next_read_wall_ns_ = (wall_ns / period + 1) * period;
  }

  // When the next read is due, on the wall clock; UINT64_MAX when there is none.
  uint64_t nextReadWallNs() const { return failed_ ? UINT64_MAX : next_read_wall_ns_; }

 private:
  static constexpr uint64_t kMinimumGapNs = 100'000'000, kYoungNs = 1'000'000'000;
  int fd_ = -1;
  bool failed_ = false;
  uint64_t next_read_wall_ns_ = 0, first_read_wall_ns_ = 0;
};

// fd: /proc/self/statm in the calling thread's descriptor table (reopened there if lost);
// rollup: the sampler's reader of PSS and USS, null elsewhere.
void writeSample(ThreadState& t, int& fd = g_statm_fd, RollupReader* rollup = nullptr) {
  char statm[128];
  uint64_t rss = 0, rss_file = 0, pss = 0, uss = 0;
  long n = fd >= 0 ? sys::pread(fd, statm, sizeof statm - 1, 0) : -1;
  if (n == -EBADF) {  // the program closed every descriptor: open ours again
    fd = sys::ownDescriptor(sys::open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
    n = fd >= 0 ? sys::pread(fd, statm, sizeof statm - 1, 0) : -1;
  }
  if (n > 0) {
    statm[n] = '\0';
    // size resident shared ...: "shared" counts the resident pages of files and shared memory.
    char* s = strchr(statm, ' ');
    if (s) rss = strtoull(s + 1, &s, 10) * g_page_size;
    if (s && *s == ' ') rss_file = strtoull(s + 1, nullptr, 10) * g_page_size;
  }
  uint64_t now = sys::monotonicNs();
  if (rollup) rollup->sample(sys::realtimeNs(), pss, uss);
  writer().notePeaks(rss, pss);
  writer().noteLatest(now - writer().startNs(), rss, aggregator().heapLive() + aggregator().mmapLive());
  writeRecord(t.stream, writer().nextSeq(),
              format::Sample{.time_ns = now - writer().startNs(),
                             .rss = rss,
                             .heap = aggregator().heapLive(),
                             .mmap = aggregator().mmapLive(),
                             .rss_file = rss_file,
                             .pss = pss,
                             .uss = uss});
}

// Aggregate mode's per-stack timelines (format::StackLevels): written by the sampler at every
// timeline sample for the first kLevelsPerStride levels, then at every second sample for as many,
// every fourth, and so on (a run of an hour at 10 ms samples makes about 2,800 levels, a day about
// 4,000); and on the same schedule at the simulated dates the program marks, just before each
// date's marker, so that a backtest's days are seen even when a day takes less than a sample. The
// trace stays O(stacks x levels), nearly independent of how long the run is.
constexpr uint32_t kLevelsPerStride = 256;
constexpr uint32_t kLevelsPerRecord = 256;  // each at most 30 bytes: well within a record's 16 KiB

struct LevelsSchedule {
  uint64_t stride = 1;     // samples between two levels
  uint64_t countdown = 0;  // samples until the next levels
  uint32_t at_stride = 0;  // levels written at this stride
};

SpinLock g_levels_lock;  // the sampler's and the program's dates' levels, one at a time
LevelsSchedule g_date_levels;

void writeStackLevels(Stream& s) {
  const uint64_t time_ns = sys::monotonicNs() - writer().startNs();
  format::StackLevel batch[kLevelsPerRecord];
  uint32_t n = 0;
  auto flush = [&] {
    ElementRecordWriter<format::StackLevels> r(s, writer().nextSeq(), format::StackLevels{.time_ns = time_ns, .count = n});
    for (uint32_t i = 0; i < n; ++i) r.add(batch[i]);
    r.commit();
    n = 0;
  };
  aggregator().forEachChangedLevel([&](StackId stack, uint64_t live_bytes, uint64_t high_bytes) {
    batch[n++] = {.stack_id = stack, .live_bytes = live_bytes, .high_bytes = high_bytes};
    if (n == kLevelsPerRecord) flush();
  });
  if (n) flush();
}

void writeStackLevelsWhenDue(Stream& s, LevelsSchedule& when) {
  if (!g_aggregate || !aggregator().active()) return;
  LockGuard guard(g_levels_lock);
  if (when.countdown) {
    --when.countdown;
    return;
  }
  writeStackLevels(s);
  when.countdown = when.stride - 1;
  if (++when.at_stride == kLevelsPerStride) {
    when.stride *= 2;
    when.at_stride = 0;
  }
}

// The scan signal only raises a flag: the scan runs on the sampler thread, not in a handler; in a
// Python process, on its main thread at the interpreter's next safe point, with its object graph.
int g_scan_requested = 0;
void onScanSignal(int) { __atomic_store_n(&g_scan_requested, 1, __ATOMIC_RELEASE); }

// Called by the interpreter on its main thread, holding the GIL, between two bytecodes.
int scanAtSafePoint(void*) {
  ThreadState& t = t_state;
  if (!trackerReady() || t.busy) return 0;
  t.busy = true;
  int saved_errno = errno;
  scanWithObjectGraph(t.stream, format::ScanReason::Signal);
  errno = saved_errno;
  t.busy = false;
  return 0;
}

void installScanSignal() {
  if (!options.scan_signal || options.scan_signal >= 65 || !scanEnabled() || options.interval_ms == 0) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onScanSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(static_cast<int>(options.scan_signal), &sa, nullptr) != 0)
    sys::message("cannot install the scan signal handler; TIDEMARK_SCAN_SIGNAL ignored");
}

// The sampler's sleep: the sample interval, or less when PSS is due on its grid before then.
timespec untilNextSample(const timespec& interval, const RollupReader& rollup) {
  timespec sleep = interval;
  if (!__atomic_load_n(&g_in_process_tree, __ATOMIC_RELAXED)) return sleep;
  uint64_t wall = sys::realtimeNs(), due = rollup.nextReadWallNs(),
           interval_ns = static_cast<uint64_t>(interval.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(interval.tv_nsec);
  if (due > wall && due - wall < interval_ns)
    sleep = {static_cast<time_t>((due - wall) / 1'000'000'000ull), static_cast<long>((due - wall) % 1'000'000'000ull)};
  return sleep;
}

void* samplerMain(void*) {
  ThreadState& t = t_state;
  t.busy = true;  // the sampler's own allocations (none expected) are not the program's
  // A descriptor table of its own: what it opens (statm after the program closed everything, the
  // trace again, the scan's /proc files) never takes a number the program is about to open or
  // dup2 onto, and nothing the program closes is the sampler's.
  int own_statm_fd = g_statm_fd;
  int& statm_fd = writer().usePrivateDescriptors(g_statm_fd) ? own_statm_fd : g_statm_fd;
  uint32_t generation = writer().generation();
  RollupReader rollup;  // on the sampler's stack: a forked child starts a sampler of its own
  timespec interval{static_cast<time_t>(options.interval_ms / 1000),
                    static_cast<long>(options.interval_ms % 1000) * 1000000L};
  LevelsSchedule levels;
  while (writer().active() && writer().generation() == generation) {
    writeSample(t, statm_fd, __atomic_load_n(&g_in_process_tree, __ATOMIC_RELAXED) ? &rollup : nullptr);
    writeStackLevelsWhenDue(t.stream, levels);
    // an interpreter loaded later (dlopen of libpython); nothing once found
    python::detect(t.stream, options.python_allocator != 0, false, options.native_above_python != 0);
    if (__atomic_exchange_n(&g_scan_requested, 0, __ATOMIC_ACQ_REL) && scanEnabled() &&
        !python::callAtSafePoint(scanAtSafePoint))
      scanHeap(t.stream, static_cast<uint8_t>(format::ScanReason::Signal));
    writer().keepChunksReady(untilNextSample(interval, rollup));
  }
  return nullptr;
}

void startSampler() {
  if (options.interval_ms == 0) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the sampler never takes the program's signals
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  bool was_busy = t_state.busy;
  t_state.busy = true;
  pthread_create(&thread, &attr, samplerMain, nullptr);
  t_state.busy = was_busy;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void beginTrace(ThreadState& t) {
  uint32_t flags = (g_aggregate ? format::kFlagAggregate : g_sampling ? format::kFlagSampled : 0) | format::kFlagPssOnGrid;
  if (!writer().open(options.output, g_is_fork_child, options.interval_ms * 1000000ull, flags,
                     g_sampling ? options.sample_bytes : 0)) {
    __atomic_store_n(&g_tracker_state, 3, __ATOMIC_RELEASE);
    return;
  }
  if (writer().replacedTracedImage() || g_is_fork_child || parentIsTraced()) notePartOfProcessTree();
  if (g_aggregate) aggregator().start(writer().totals(), format::kDefaultChunkSize);
  if (g_statm_fd < 0) g_statm_fd = sys::ownDescriptor(sys::open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
  writeProcessInfo(t);
  if (g_is_fork_child && sectionWasUnderWayAtFork()) {
    // The module map walks the modules and every new stack unwinds, and either could hang: the
    // trace ends after saying which process this is and its memory at the fork, and why it ends;
    // the child runs on untracked.
    writeSample(t);
    writer().stop(format::StopReason::LockedAtFork);
    __atomic_store_n(&g_tracker_state, 3, __ATOMIC_RELEASE);
    return;
  }
  currentModuleMap(t.stream);
  writeSample(t);
  __atomic_store_n(&g_tracker_state, 2, __ATOMIC_RELEASE);
}

// The start lock first: a thread starting the tracker walks the modules while holding it.
void forkPrepare() {
  g_start_lock.lock();
  closeForkGate();
}
void forkParent() {
  openForkGateInParent();
  g_start_lock.unlock();
  notePartOfProcessTree();
}
// Registered before the program can register its own handlers, so it runs first in the child:
// every lock taken before the fork is free from here on (spinlock.h).
void forkChild() {
  advanceForkGeneration();
  openForkGateInChild();
  ThreadState& t = t_state;
  bool was_busy = t.busy;
  t.busy = true;
  // The child's trace starts empty: forget what belonged to the parent's.
  writer().resetAfterFork();
  depot().resetAfterFork();
  resetStackCachesAfterFork();
  aggregator().resetAfterFork();
  resetSamplingAfterFork();
  resetModuleMapAfterFork();
  g_is_fork_child = true;
  g_in_process_tree = true;
  g_statm_fd = -1;  // the parent's descriptor is shared; ours is reopened
  beginTrace(t);
  if (trackerReady()) python::resetAfterFork(t.stream);
  if (trackerReady()) startSampler();
  t.busy = was_busy;
}

}  // namespace

void notePartOfProcessTree() { __atomic_store_n(&g_in_process_tree, true, __ATOMIC_RELAXED); }

void ensureStarted() {
  int state = __atomic_load_n(&g_tracker_state, __ATOMIC_ACQUIRE);
  if (state >= 2) return;
  ThreadState& t = t_state;
  if (t.busy) return;
  LockGuard guard(g_start_lock);
  if (g_tracker_state >= 2) return;
  t.busy = true;
  g_tracker_state = 1;
  resolveRealFunctions();
  readOptions();
  g_page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  dl_iterate_phdr(findSelf, nullptr);
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  initThreadEnd();
  onThreadEnd(releaseThreadStackCache);
  onThreadEnd([] { writer().releaseStream(t_state.stream); });
  beginTrace(t);
  if (trackerReady()) {
    pthread_atfork(forkPrepare, forkParent, forkChild);
    python::detect(t.stream, options.python_allocator != 0, true, options.native_above_python != 0);
  }
  t.busy = false;
}

namespace {

__attribute__((constructor)) void onLoad() {
  ensureStarted();
  if (trackerReady()) {
    installScanSignal();
    startSampler();
  }
}

void reportStackCache() {
  const StackCacheStats& st = stackCacheStats();
  char line[256];
  size_t n = 0;
  auto text = [&](const char* s) {
    while (*s && n < sizeof line - 1) line[n++] = *s++;
  };
  auto number = [&](uint64_t v) {
    char digits[24];
    int k = 0;
    do digits[k++] = static_cast<char>('0' + v % 10); while ((v /= 10) != 0);
    while (k > 0 && n < sizeof line - 1) line[n++] = digits[--k];
  };
  text("stack cache: hits ");
  number(st.hits);
  text(", misses ");
  number(st.misses);
  text(", uncacheable ");
  number(st.uncacheable);
  text(", verified ");
  number(st.verified);
  text(", mismatches ");
  number(st.mismatches);
  line[n] = '\0';
  sys::message(line);
}

__attribute__((destructor)) void onExit() {
  if (!trackerReady()) return;
  if (options.verify_stacks) reportStackCache();
  ThreadState& t = t_state;
  bool was_busy = t.busy;
  t.busy = true;
  writeSample(t);
  // After main returned and the program's static destructors ran (this library was loaded
  // first, so its destructor runs last): what is unreachable now is lost.
  // (A Python process's exit scan was made before its interpreter finalized: python_objects.h.)
  if (scanEnabled() && !python::exitGraphTaken()) scanHeap(t.stream, static_cast<uint8_t>(format::ScanReason::Exit));
  writeRecord(t.stream, writer().nextSeq(), format::Exit{.time_ns = sys::monotonicNs() - writer().startNs()});
  writer().noteEnded(sys::monotonicNs() - writer().startNs());
  writer().releaseReadyChunks();
  t.busy = was_busy;
}

}  // namespace

}  // namespace tidemark::preload

// The entry point of include/tidemark/marker.h, found by the program with dlsym. A sample is
// written with every marker, so the timeline has a point exactly where the program said it was.
extern "C" __attribute__((visibility("default"))) void tidemark_marker_v1(int kind, const char* text) {
  using namespace tidemark::preload;
  if (!trackerReady() || kind < 0 || kind > 255) return;
  ThreadState& t = t_state;
  if (t.busy) return;
  t.busy = true;
  int saved_errno = errno;
  size_t len = text ? strnlen(text, 255) : 0;
  if (kind == static_cast<int>(tidemark::format::MarkerKind::SimulationDate)) {
    if (text) writer().noteDate(text, len);
    writeStackLevelsWhenDue(t.stream, g_date_levels);  // the day that ends: before the marker
  }
  writeRecord(t.stream, writer().nextSeq(),
              tidemark::format::Marker{.time_ns = sys::monotonicNs() - writer().startNs(),
                                       .kind = static_cast<uint64_t>(kind),
                                       .text = {text ? text : "", len}});
  writeSample(t);
  errno = saved_errno;
  t.busy = false;
}

// The entry point of tidemark.scan() (python/tidemark), found with dlsym: a heap scan now, with the
// interpreter's object graph when the caller holds the GIL (ctypes.PyDLL keeps it). 1: scanned with
// the object graph, 0: without, -1: not scanned (not recording, or not with --scan).
extern "C" __attribute__((visibility("default"))) int tidemark_scan_v1() {
  using namespace tidemark::preload;
  if (!trackerReady() || !scanEnabled()) return -1;
  ThreadState& t = t_state;
  if (t.busy) return -1;
  t.busy = true;
  int saved_errno = errno;
  const bool objects = python::objectGraphFromHere();
  if (objects)
    scanWithObjectGraph(t.stream, tidemark::format::ScanReason::Request);
  else
    scanHeap(t.stream, static_cast<uint8_t>(tidemark::format::ScanReason::Request));
  errno = saved_errno;
  t.busy = false;
  return objects ? 1 : 0;
}
