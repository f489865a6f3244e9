// The CPython found in the process, as python_frames.cpp detected it: where the fields the tracker
// reads sit, and the interpreter's functions it calls. Shared by the frame reader
// (python_frames.cpp) and the object-graph dump (python_objects.cpp); nothing here runs Python code.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace tidemark::preload::python {

// CPython's PyMemAllocatorEx (the same from 3.5 to 3.13).
struct Allocator {
  void* ctx;
  void* (*malloc)(void* ctx, unsigned long size);
  void* (*calloc)(void* ctx, unsigned long n, unsigned long size);
  void* (*realloc)(void* ctx, void* p, unsigned long size);
  void (*free)(void* ctx, void* p);
};

// Where the fields the tracker reads sit, for one CPython version. -1: the version has no such field.
struct Layout {
  int32_t runtime_initialized, runtime_finalizing;  // in _PyRuntime
  int32_t tstate_cframe;        // 3.11, 3.12: PyThreadState.cframe (then cframe_current_frame in it)
  int32_t cframe_current_frame;
  int32_t tstate_current_frame;  // 3.13: PyThreadState.current_frame
  int32_t frame_code, frame_previous, frame_instruction, frame_owner;
  int32_t frame_is_entry;  // 3.11; later versions mark entries by a frame owned by the C stack
  // code_bytecode (co_code_adaptive) is also PyCode_Type.tp_basicsize: checks the layout against
  // the interpreter
  int32_t code_filename, code_qualname, code_linetable, code_firstlineno, code_bytecode;
  int32_t unicode_state, unicode_length, ascii_size, compact_size;
  int32_t bytes_size, bytes_data;
  int32_t interp_gc;  // PyInterpreterState.gc: the cycle collector's state
};

// The same in every supported version (3.11 to 3.13, not a debug build).
constexpr int32_t kObjectType = 8;        // PyObject.ob_type
constexpr int32_t kTypeName = 24;         // PyTypeObject.tp_name
constexpr int32_t kTypeBasicSize = 32;    // PyTypeObject.tp_basicsize
constexpr int32_t kTypeFlags = 168;       // PyTypeObject.tp_flags
constexpr int32_t kTypeTraverse = 184;    // PyTypeObject.tp_traverse
constexpr uint64_t kHeapTypeFlag = 1ul << 9, kHaveGcFlag = 1ul << 14;  // Py_TPFLAGS_HEAPTYPE, _HAVE_GC
constexpr int32_t kGcHeadSize = 16;       // PyGC_Head, before the object
constexpr int32_t kModuleDict = 16, kModuleName = 48;  // PyModuleObject.md_dict, .md_name
// PyDictObject.ma_keys, .ma_values; in PyDictKeysObject: dk_log2_index_bytes, dk_kind (0: any keys,
// else str keys only), dk_nentries, dk_indices (the entries follow the indices); the size of an
// entry {me_key, me_value} of a str-keys table, and of {me_hash, me_key, me_value} of another.
constexpr int32_t kDictKeys = 32, kDictValues = 40;
constexpr int32_t kKeysLog2IndexBytes = 9, kKeysKind = 10, kKeysEntryCount = 24, kKeysIndices = 32;
constexpr int32_t kStrKeysEntrySize = 16, kAnyKeysEntrySize = 24;
// In the collector's state (struct _gc_runtime_state): three generations of {PyGC_Head head;
// threshold, count}, the pointer to the first one's head, the permanent generation (gc.freeze),
// and whether a collection is running.
constexpr int32_t kGcGenerations = 24, kGcGenerationSize = 24, kGcGeneration0 = 96, kGcPermanent = 104,
                  kGcCollecting = 200;

// A code object as the tracker knows it: its address and what tells it from a later code object
// at the same address (code objects die and their memory is reused).
struct CodeKey {
  uint64_t address, qualname, filename, linetable;
  int32_t first_line;
  bool operator==(const CodeKey&) const = default;
};

struct Runtime {
  Layout layout;
  uint64_t version_hex;
  const uint8_t* runtime;  // &_PyRuntime
  const void* code_type;   // &PyCode_Type
  void* (*this_thread_state)();
  void* (*current_thread_state)();  // the thread state holding the GIL on this thread, or null
  void (*get_allocator)(int domain, Allocator* out);
  void (*set_allocator)(int domain, Allocator* in);
  void* (*main_interpreter)();      // PyInterpreterState_Main
  int (*add_pending_call)(int (*)(void*), void*);  // Py_AddPendingCall
  const void* eval_loop;   // &_PyEval_EvalFrameDefault
  const void* module_type, *unicode_type;  // &PyModule_Type, &PyUnicode_Type
  const void* tuple_type, *list_type, *dict_type;  // the types whose objects wait in free lists
  char version[16];        // "3.12.1"
  bool found_late;         // by the sampler, after the start
  const char* problem;     // why frames are not available, "" when they are
};
// Complete once framesAvailable() (python_frames.h) says so.
const Runtime& runtime();

template <class T> T at(const void* base, int32_t offset) {
  T v;
  memcpy(&v, static_cast<const uint8_t*>(base) + offset, sizeof v);
  return v;
}

// The text of a str object as UTF-8 (in `buffer` when it has to be converted), at most `capacity`
// bytes; "?" for a string the tracker cannot read without running code.
std::string_view textOf(const uint8_t* str, const Layout& L, char* buffer, size_t capacity);

// Whether the calling thread holds the GIL of the running interpreter.
bool holdsGil();

}  // namespace tidemark::preload::python
