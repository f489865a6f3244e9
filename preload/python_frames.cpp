#include "python_frames.h"

#include <dlfcn.h>
#include <link.h>

#include <cstring>

#include "hash_table.h"
#include "python_runtime.h"
#include "spinlock.h"
#include "stack_cache.h"
#include "sys.h"
#include "trace_writer.h"

namespace tidemark::preload::python {

namespace {

constexpr uint8_t kOwnedByCStack = 3;    // 3.12+: the entry frame of one native eval-loop call

// From the headers of 3.11 (python3.11-dev's Include/internal) and 3.12 (pyenv's include/python3.12).
constexpr Layout kPython311{16, 24, 56, 8, -1, 32, 48, 56, 69, 68, 112, 128, 136, 72, 184, 32, 16, 48, 72, 16, 32, 648};
constexpr Layout kPython312{16, 24, 56, 0, -1, 0, 8, 56, 70, -1, 112, 128, 136, 68, 192, 32, 16, 40, 56, 16, 32, 112};

// The head of 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h), the first member of
// _PyRuntime: the offsets an out-of-process reader needs, as 64-bit numbers.
struct DebugOffsets313 {
  char cookie[8];
  uint64_t version, free_threaded;
  uint64_t runtime_size, runtime_finalizing, runtime_interpreters_head;
  uint64_t interp[13];
  uint64_t tstate_size, tstate_prev, tstate_next, tstate_interp, tstate_current_frame, tstate_thread_id,
      tstate_native_thread_id, tstate_datastack_chunk, tstate_status;
  uint64_t frame_size, frame_previous, frame_executable, frame_instr_ptr, frame_localsplus, frame_owner;
  uint64_t code_size, code_filename, code_name, code_qualname, code_linetable, code_firstlineno, code_argcount,
      code_localsplusnames, code_localspluskinds, code_co_code_adaptive;
  uint64_t pyobject_size, pyobject_ob_type;
  uint64_t type_size, type_tp_name, type_tp_repr, type_tp_flags;
  uint64_t tuple[3], list[3], dict[3], float_[2], long_[3];
  uint64_t bytes_size, bytes_ob_size, bytes_ob_sval;
  uint64_t unicode_size, unicode_state, unicode_length, unicode_asciiobject_size;
};
constexpr int32_t kRuntimeInitialized313 = 600;  // not in the debug offsets; from the 3.13 headers
constexpr int kDebugInterpGc = 4;  // interp[]: size, id, next, threads_head, gc, ...

Runtime g_runtime;
bool g_detected = false;        // an interpreter was found (supported or not)
bool g_finalizing = false;      // it was seen finalizing (and the trace was told)
bool g_frames_available = false;  // published with release once g_runtime is complete

// Wrapped early (before the interpreter started) is checked again once it runs: PYTHONMALLOC and
// -X dev make it set up its allocators afresh, dropping the tracker's.
enum WrapState : int { kNotWrapped = 0, kWrapping = 1, kWrappedEarly = 2, kWrapped = 3, kCannotWrap = 4 };
int g_wrap_state = kNotWrapped;
constexpr int kDomainMem = 1, kDomainObject = 2;
// What the tracker's wrappers delegate to: [early or late][domain]. Two sets, so that wrapping
// again over a wrapper that wraps the early one (tracemalloc's) never makes a loop.
Allocator g_wrapped[2][3];

void* symbol(const char* name) { return dlsym(RTLD_DEFAULT, name); }

// ---- code objects --------------------------------------------------------------------------

class CodeRegistry {
 public:
  // The id of the code object at `code`, writing its CodeObject record the first time; 0 when the
  // registry is out of memory.
  // `cache`: the thread's, whose table of recent code objects is looked at first (may be null).
  uint64_t idOf(Stream& t, StackCache* cache, const uint8_t* code, const Layout& L) {
    CodeKey key{reinterpret_cast<uint64_t>(code), at<uint64_t>(code, L.code_qualname),
                at<uint64_t>(code, L.code_filename), at<uint64_t>(code, L.code_linetable),
                at<int32_t>(code, L.code_firstlineno)};
    if (!cache) return idInRegistry(t, code, key, L);
    const uint32_t epoch = stackCacheEpoch();
    StackCache::Code& recent = cache->codeSlot(key.address);
    if (recent.epoch == epoch && recent.key == key) return recent.id;
    uint64_t id = idInRegistry(t, code, key, L);
    if (id) recent = {key, epoch, id};
    return id;
  }

  void resetAfterFork() {
    table_ = nullptr;  // the parent's tables stay mapped, unused
    next_id_ = 1;
  }

 private:
  uint64_t idInRegistry(Stream& t, const uint8_t* code, const CodeKey& key, const Layout& L) {
    uint64_t hash = hashOf(key);
    if (const Table* table = __atomic_load_n(&table_, __ATOMIC_ACQUIRE))
      if (uint64_t id = find(table, hash, key)) return id;
    LockGuard guard(lock_);
    if (!table_ || table_->full()) {
      Table* grown = Table::grown(table_, 4096);
      if (!grown) return 0;
      __atomic_store_n(&table_, grown, __ATOMIC_RELEASE);
    }
    if (uint64_t id = find(table_, hash, key)) return id;
    uint64_t id = next_id_++;
    writeCodeObject(t, id, code, L);
    Slot* s = table_->emptySlot(hash);
    s->key = key;
    s->id = id;
    ++table_->used;
    __atomic_store_n(&s->hash, hash, __ATOMIC_RELEASE);
    return id;
  }

  struct Slot {
    uint64_t hash;  // 0 = empty; written last, with release
    CodeKey key;
    uint64_t id;
  };
  using Table = HashTable<Slot>;

  static uint64_t hashOf(const CodeKey& k) {
    uint64_t h = k.address * 0x9e3779b97f4a7c15ull;
    h ^= (k.qualname ^ (k.filename << 1) ^ (k.linetable << 2) ^ static_cast<uint32_t>(k.first_line)) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    return h ? h : 1;
  }

  static uint64_t find(const Table* t, uint64_t hash, const CodeKey& key) {
    for (uint64_t i = hash & t->mask;; i = (i + 1) & t->mask) {
      const Slot& s = t->slots[i];
      uint64_t h = __atomic_load_n(&s.hash, __ATOMIC_ACQUIRE);
      if (h == 0) return 0;
      if (h == hash && s.key == key) return s.id;
    }
  }

  static void writeCodeObject(Stream& t, uint64_t id, const uint8_t* code, const Layout& L);

  SpinLock lock_;
  Table* table_ = nullptr;
  uint64_t next_id_ = 1;
};

CodeRegistry g_codes;

}  // namespace

std::string_view textOf(const uint8_t* str, const Layout& L, char* buffer, size_t capacity) {
  if (!str) return "?";
  uint32_t state = at<uint32_t>(str, L.unicode_state);
  uint32_t kind = (state >> 2) & 7;
  bool compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  int64_t length = at<int64_t>(str, L.unicode_length);
  if (!compact || length < 0) return "?";
  if (ascii) {
    size_t n = static_cast<size_t>(length) < capacity ? static_cast<size_t>(length) : capacity;
    return {reinterpret_cast<const char*>(str + L.ascii_size), n};
  }
  const uint8_t* data = str + L.compact_size;
  size_t out = 0;
  for (int64_t i = 0; i < length; ++i) {
    uint32_t c = kind == 1 ? data[i] : kind == 2 ? at<uint16_t>(data, static_cast<int32_t>(i * 2)) : at<uint32_t>(data, static_cast<int32_t>(i * 4));
    char enc[4];
    size_t k;
    if (c < 0x80) {
      enc[0] = static_cast<char>(c), k = 1;
    } else if (c < 0x800) {
      enc[0] = static_cast<char>(0xc0 | c >> 6), enc[1] = static_cast<char>(0x80 | (c & 0x3f)), k = 2;
    } else if (c < 0x10000) {
      enc[0] = static_cast<char>(0xe0 | c >> 12), enc[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      enc[2] = static_cast<char>(0x80 | (c & 0x3f)), k = 3;
    } else {
      enc[0] = static_cast<char>(0xf0 | c >> 18), enc[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      enc[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3f)), enc[3] = static_cast<char>(0x80 | (c & 0x3f)), k = 4;
    }
    if (out + k > capacity) break;
    memcpy(buffer + out, enc, k);
    out += k;
  }
  return {buffer, out};
}

namespace {

// Bigger line tables (module code of very long files) are cut: their later lines read as the
// last line the kept part reaches.
constexpr size_t kMaxLineTable = 12 * 1024;

void CodeRegistry::writeCodeObject(Stream& t, uint64_t id, const uint8_t* code, const Layout& L) {
  char function[512], file[2048];
  const auto* table = at<const uint8_t*>(code, L.code_linetable);
  std::string_view line_table;
  if (table) {
    int64_t size = at<int64_t>(table, L.bytes_size);
    if (size > 0)
      line_table = {reinterpret_cast<const char*>(table + L.bytes_data),
                    static_cast<size_t>(size) < kMaxLineTable ? static_cast<size_t>(size) : kMaxLineTable};
  }
  int32_t first_line = at<int32_t>(code, L.code_firstlineno);
  writeRecord(t, writer().nextSeq(),
              format::CodeObject{
                  .code_id = id,
                  .function = textOf(at<const uint8_t*>(code, L.code_qualname), L, function, sizeof function),
                  .file = textOf(at<const uint8_t*>(code, L.code_filename), L, file, sizeof file),
                  .first_line = first_line > 0 ? static_cast<uint64_t>(first_line) : 0,
                  .line_table_format = static_cast<uint64_t>(format::LineTableFormat::CPython311),
                  .line_table = line_table});
}

// ---- the allocator domains -----------------------------------------------------------------

// Puts the tracker's wrappers around the mem and obj domains, delegating to what is there; `set`
// picks the storage of what they delegate to (g_wrapped).
void wrapDomains(int set) {
  const Runtime& r = g_runtime;
  for (int domain : {kDomainMem, kDomainObject}) {
    r.get_allocator(domain, &g_wrapped[set][domain]);
    Allocator mine = trackingAllocator(&g_wrapped[set][domain]);
    r.set_allocator(domain, &mine);
  }
}

// At the start of the process, before the interpreter starts: nothing has been allocated through
// its domains, and no other thread runs it.
void wrapAtStart() {
  wrapDomains(0);
  __atomic_store_n(&g_wrap_state, kWrappedEarly, __ATOMIC_RELEASE);
}

// ---- finding the interpreter ---------------------------------------------------------------

// Writes the Interpreter record; problem is empty when frames are available.
void writeInterpreter(Stream& t) {
  const Runtime& r = g_runtime;
  const char* problem = r.problem;
  uint64_t flags = problem[0] ? 0 : format::kInterpreterFrames;
  int wrap = __atomic_load_n(&g_wrap_state, __ATOMIC_ACQUIRE);
  if (wrap == kWrapped || wrap == kWrappedEarly) flags |= format::kInterpreterAllocator;
  if (r.found_late) flags |= format::kInterpreterFoundLate;
  if (__atomic_load_n(&g_finalizing, __ATOMIC_ACQUIRE)) flags |= format::kInterpreterFinalizing;
  writeRecord(t, writer().nextSeq(),
              format::Interpreter{.time_ns = sys::monotonicNs() - writer().startNs(),
                                  .version = {r.version, strnlen(r.version, sizeof r.version)},
                                  .flags = flags,
                                  .eval_loop = reinterpret_cast<uint64_t>(r.eval_loop),
                                  .problem = {problem, strlen(problem)}});
}

// Checks the interpreter found against a layout; the reason it does not fit, or "".
const char* layoutFor(uint64_t version_hex, const uint8_t* runtime, Layout& out) {
  uint64_t minor = (version_hex >> 16) & 0xff;
  if ((version_hex >> 24) != 3 || minor < 11) return "CPython before 3.11 is not supported";
  if (minor == 11) out = kPython311;
  else if (minor == 12) out = kPython312;
  else if (minor == 13) {
    DebugOffsets313 d;
    memcpy(&d, runtime, sizeof d);
    if (memcmp(d.cookie, "xdebugpy", 8) != 0) return "no _Py_DebugOffsets at the start of _PyRuntime";
    if (d.free_threaded) return "the free-threaded build (3.13t) is not supported";
    auto i32 = [](uint64_t v) { return static_cast<int32_t>(v); };
    out = Layout{kRuntimeInitialized313, i32(d.runtime_finalizing), -1, -1, i32(d.tstate_current_frame),
                 i32(d.frame_executable), i32(d.frame_previous), i32(d.frame_instr_ptr), i32(d.frame_owner), -1,
                 i32(d.code_filename), i32(d.code_qualname), i32(d.code_linetable), i32(d.code_firstlineno),
                 i32(d.code_co_code_adaptive), i32(d.unicode_state), i32(d.unicode_length),
                 i32(d.unicode_asciiobject_size), i32(d.unicode_asciiobject_size + 16), i32(d.bytes_ob_size),
                 i32(d.bytes_ob_sval), i32(d.interp[kDebugInterpGc])};
    if (d.pyobject_ob_type != kObjectType) return "a debug build (its objects have a different header)";
  } else {
    return "CPython after 3.13 is not supported yet";
  }
  return "";
}

}  // namespace

CodeRange g_eval_loop = {0, 0};  // set once, before frames are published; emptied at finalizing

void detect(Stream& t, bool wrap_allocator, bool at_start, bool whole_native_stacks) {
  if (g_detected) return;
  auto* version = static_cast<const unsigned long*>(symbol("Py_Version"));
  auto* version_text = reinterpret_cast<const char* (*)()>(symbol("Py_GetVersion"));
  if (!version && !version_text) return;
  g_detected = true;
  Runtime& r = g_runtime;
  r.found_late = !at_start;
  if (version_text) {  // "3.12.1 (main, ...": a static string, formatted once
    const char* text = version_text();
    for (size_t i = 0; i < sizeof r.version - 1 && text[i] && text[i] != ' '; ++i) r.version[i] = text[i];
  }
  if (!version) {
    r.problem = "CPython before 3.11 is not supported";
    writeInterpreter(t);
    return;
  }
  r.version_hex = *version;
  r.runtime = static_cast<const uint8_t*>(symbol("_PyRuntime"));
  r.code_type = symbol("PyCode_Type");
  r.this_thread_state = reinterpret_cast<void* (*)()>(symbol("PyGILState_GetThisThreadState"));
  r.current_thread_state = reinterpret_cast<void* (*)()>(symbol("PyThreadState_GetUnchecked"));
  if (!r.current_thread_state) r.current_thread_state = reinterpret_cast<void* (*)()>(symbol("_PyThreadState_UncheckedGet"));
  r.get_allocator = reinterpret_cast<void (*)(int, Allocator*)>(symbol("PyMem_GetAllocator"));
  r.set_allocator = reinterpret_cast<void (*)(int, Allocator*)>(symbol("PyMem_SetAllocator"));
  r.main_interpreter = reinterpret_cast<void* (*)()>(symbol("PyInterpreterState_Main"));
  r.add_pending_call = reinterpret_cast<int (*)(int (*)(void*), void*)>(symbol("Py_AddPendingCall"));
  r.eval_loop = symbol("_PyEval_EvalFrameDefault");
  r.module_type = symbol("PyModule_Type");
  r.unicode_type = symbol("PyUnicode_Type");
  r.tuple_type = symbol("PyTuple_Type");
  r.list_type = symbol("PyList_Type");
  r.dict_type = symbol("PyDict_Type");
  const char* problem = "";
  if (!r.runtime || !r.code_type || !r.this_thread_state || !r.current_thread_state || !r.eval_loop)
    problem = "the interpreter does not export the symbols the tracker reads (_PyRuntime, PyCode_Type, "
              "PyGILState_GetThisThreadState, _PyEval_EvalFrameDefault)";
  else if (symbol("_Py_NegativeRefcount") || symbol("_Py_RefTotal"))
    problem = "a debug build (its objects have a different header)";
  else
    problem = layoutFor(r.version_hex, r.runtime, r.layout);
  if (!problem[0] && at<uint64_t>(r.code_type, kTypeBasicSize) != static_cast<uint64_t>(r.layout.code_bytecode))
    problem = "its code objects are not laid out as this version's headers say";
  r.problem = problem;
  if (!problem[0]) {
    if (!wrap_allocator || !r.get_allocator || !r.set_allocator)
      g_wrap_state = kCannotWrap;
    else if (at_start && !at<int32_t>(r.runtime, r.layout.runtime_initialized))
      wrapAtStart();
    Dl_info info;
    const ElfW(Sym)* eval_symbol = nullptr;  // its size: where the eval loop ends
    if (!whole_native_stacks &&
        dladdr1(r.eval_loop, &info, const_cast<void**>(reinterpret_cast<const void**>(&eval_symbol)), RTLD_DL_SYMENT) &&
        eval_symbol && info.dli_saddr == r.eval_loop)
      g_eval_loop = {reinterpret_cast<uint64_t>(r.eval_loop), eval_symbol->st_size};
    __atomic_store_n(&g_frames_available, true, __ATOMIC_RELEASE);
  }
  writeInterpreter(t);
}

bool framesAvailable() { return __atomic_load_n(&g_frames_available, __ATOMIC_ACQUIRE); }

const Runtime& runtime() { return g_runtime; }

bool holdsGil() {
  const Runtime& r = g_runtime;
  void* current = r.current_thread_state();
  return current && current == r.this_thread_state();
}

uint32_t readFrames(Stream& t, StackCache* cache, uint64_t* words, uint32_t max) {
  const Runtime& r = g_runtime;
  const Layout& L = r.layout;
  // Not once the interpreter is finalizing: its thread states are being freed. (Before it starts,
  // PyGILState_GetThisThreadState returns null on every version: it checks its key first.)
  if (at<uint64_t>(r.runtime, L.runtime_finalizing)) {
    bool was = false;
    if (__atomic_compare_exchange_n(&g_finalizing, &was, true, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      writeInterpreter(t);  // the summary says from when stacks have no Python frames
      // With no Python frames to stand for them, native stacks are whole again (g_eval_loop).
      __atomic_store_n(&g_eval_loop.size, 0, __ATOMIC_RELAXED);
      invalidateStackCaches();
    }
    return 0;
  }
  const auto* tstate = static_cast<const uint8_t*>(r.this_thread_state());
  if (!tstate) return 0;
  const uint8_t* frame;
  if (L.tstate_current_frame >= 0) {
    frame = at<const uint8_t*>(tstate, L.tstate_current_frame);
  } else {
    const auto* cframe = at<const uint8_t*>(tstate, L.tstate_cframe);
    frame = cframe ? at<const uint8_t*>(cframe, L.cframe_current_frame) : nullptr;
  }
  uint32_t n = 0;
  for (uint32_t seen = 0; frame && n < max && seen < 4 * max; ++seen) {
    const auto* code = at<const uint8_t*>(frame, L.frame_code);
    if (L.frame_is_entry < 0 && at<uint8_t>(frame, L.frame_owner) == kOwnedByCStack) {
      if (n) words[n - 1] |= kEntryBit;  // the frames since the last entry ran in one native call
    } else {
      if (!code || at<const void*>(code, kObjectType) != r.code_type) return 0;  // not a frame after all
      auto instruction = at<const uint8_t*>(frame, L.frame_instruction);
      const uint8_t* bytecode = code + L.code_bytecode;
      uint64_t index = instruction > bytecode ? static_cast<uint64_t>(instruction - bytecode) / 2 : 0;
      if (index > kMaxInstruction) index = kMaxInstruction;
      uint64_t id = g_codes.idOf(t, cache, code, L);
      if (!id) return 0;
      uint64_t word = kPythonWord | id << 24 | index;
      if (L.frame_is_entry >= 0 && at<bool>(frame, L.frame_is_entry)) word |= kEntryBit;
      words[n++] = word;
    }
    frame = at<const uint8_t*>(frame, L.frame_previous);
  }
  if (n) words[n - 1] |= kEntryBit;  // the outermost frame began the outermost call
  return n;
}

void wrapAllocatorWhenSafe(Stream* t) {
  int state = __atomic_load_n(&g_wrap_state, __ATOMIC_ACQUIRE);
  if (state != kNotWrapped && state != kWrappedEarly) return;
  const Runtime& r = g_runtime;
  // Only a thread holding the GIL of a running interpreter: no other thread is inside its
  // allocator then (before it runs, only the start of the process is safe: wrapAtStart).
  if (!at<int32_t>(r.runtime, r.layout.runtime_initialized) || !holdsGil()) return;
  if (!__atomic_compare_exchange_n(&g_wrap_state, &state, kWrapping, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  // Wrapped early and still in place: nothing to do. Otherwise PYTHONMALLOC or -X dev set the
  // allocators up afresh (or the interpreter was found late): wrap what is there now.
  bool ours = state == kWrappedEarly;
  for (int domain : {kDomainMem, kDomainObject}) {
    Allocator now;
    r.get_allocator(domain, &now);
    ours = ours && now.malloc == trackingAllocator(&g_wrapped[0][domain]).malloc && now.ctx == &g_wrapped[0][domain];
  }
  if (!ours) wrapDomains(1);
  __atomic_store_n(&g_wrap_state, kWrapped, __ATOMIC_RELEASE);
  if (t && !ours) writeInterpreter(*t);  // the allocator is tracked from here on
}

void resetAfterFork(Stream& t) {
  g_codes.resetAfterFork();
  if (g_detected) writeInterpreter(t);  // the child's trace starts empty
}

}  // namespace tidemark::preload::python
