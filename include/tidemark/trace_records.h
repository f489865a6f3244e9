// Every record of the trace, defined once: its type code, a plain struct of its fields, and the
// order and encoding of those fields on the wire (each struct's `fields`, read by the encoder, the
// decoder and the documentation alike: see trace_codec.h). docs/trace-format.md's record table is
// generated from these definitions and a test checks that it matches.
//
// Included inside the target process: no allocation, no exceptions, nothing from libstdc++'s
// runtime (std::string_view is used for its layout only).
#pragma once

#include <cstdint>
#include <string_view>

#include "tidemark/trace_format.h"

namespace tidemark::format {

// The record types: X(name, code). A code is never reused; a new record gets the next code and a
// new format version.
#define TIDEMARK_RECORD_TYPES(X) \
  X(ProcessInfo, 1)              \
  X(ModuleMapBegin, 2)           \
  X(Module, 3)                   \
  X(StackDef, 4)                 \
  X(Alloc, 5)                    \
  X(Free, 6)                     \
  X(Realloc, 7)                  \
  X(Mmap, 8)                     \
  X(Munmap, 9)                   \
  X(Mremap, 10)                  \
  X(Sample, 11)                  \
  X(Marker, 12)                  \
  X(CodeObject, 13)              \
  X(Exit, 14)                    \
  X(ProcessEnd, 15)              \
  X(TrackerError, 16)            \
  X(ThreadName, 17)              \
  X(ScanBegin, 18)               \
  X(ScanBlocks, 19)              \
  X(ScanRoots, 20)               \
  X(ScanEdges, 21)               \
  X(ScanEnd, 22)                 \
  X(MemoryLimit, 23)             \
  X(OomKill, 24)                 \
  X(Ending, 25)                  \
  X(Interpreter, 26)             \
  X(PythonFrame, 27)             \
  X(PythonStack, 28)             \
  X(PythonGraph, 29)             \
  X(PythonType, 30)              \
  X(PythonObjects, 31)           \
  X(PythonReferences, 32)        \
  X(PythonName, 33)              \
  X(ChildEnd, 34)               \
  X(StackLevels, 35)

enum class RecordType : uint8_t {
  End = 0,  // a zero type byte ends a chunk
#define TIDEMARK_RECORD_ENUM(name, code) name = code,
  TIDEMARK_RECORD_TYPES(TIDEMARK_RECORD_ENUM)
#undef TIDEMARK_RECORD_ENUM
  Count
};

inline const char* recordTypeName(RecordType t) {
  switch (t) {
#define TIDEMARK_RECORD_NAME(name, code) \
  case RecordType::name: return #name;
    TIDEMARK_RECORD_TYPES(TIDEMARK_RECORD_NAME)
#undef TIDEMARK_RECORD_NAME
    case RecordType::End:
    case RecordType::Count: break;
  }
  return "?";
}

// How each record's fields are written (the visitor F decides what is done with them):
//   f.varint(name, x)        v  LEB128
//   f.signedVarint(name, x)  z  zigzag LEB128
//   f.address(name, x)       a  z delta from the previous address written in the same chunk
//   f.bytes(name, s)         s  v length, then the bytes
// A record with repeated elements (`Element`, counted by the field `kCount`) writes its fields, then
// that many elements, whose fields may also use:
//   f.ascending(name, x, previous)  v  x − the same field of the previous element (0 for the first)
//   f.delta(name, x, previous)      z  x − the same field of the previous element
//   f.relative(name, x, base)       z  x − another field of the same element
//   f.frame(name, frame, previous)     a stack frame (StackFrame below)

// ---- the process -----------------------------------------------------------------------------

struct ProcessInfo {
  static constexpr RecordType kType = RecordType::ProcessInfo;
  static constexpr const char* kAbout = "who the process is; written first";
  uint64_t pid = 0, ppid = 0;
  std::string_view exe;      // /proc/self/exe
  std::string_view cmdline;  // argv, NUL-separated
  uint64_t cgroup_limit = 0;  // the tightest memory limit of the process's cgroups at start, 0 = none
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("pid", r.pid) && f.varint("ppid", r.ppid) && f.bytes("exe", r.exe) &&
           f.bytes("cmdline", r.cmdline) && f.varint("cgroup_limit", r.cgroup_limit);
  }
};

struct ModuleMapBegin {
  static constexpr RecordType kType = RecordType::ModuleMapBegin;
  static constexpr const char* kAbout = "a new module map follows as Module records";
  uint64_t generation = 0, module_count = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("generation", r.generation) && f.varint("module_count", r.module_count);
  }
};

struct ModuleSegment {  // a PT_LOAD segment, relative to the module's load bias
  uint64_t vaddr = 0, memsz = 0;
  template <class F, class R> static bool fields(F& f, R& r, const ModuleSegment&) {
    return f.varint("vaddr", r.vaddr) && f.varint("memsz", r.memsz);
  }
};

struct Module {
  static constexpr RecordType kType = RecordType::Module;
  static constexpr const char* kAbout = "one loaded object (executable or shared library) of a module map";
  uint64_t generation = 0;
  int64_t load_bias = 0;
  std::string_view path;
  std::string_view build_id;  // raw bytes
  uint64_t segment_count = 0;
  using Element = ModuleSegment;
  static constexpr uint64_t Module::*kCount = &Module::segment_count;
  static constexpr uint64_t kMaxElements = 64;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("generation", r.generation) && f.signedVarint("load_bias", r.load_bias) &&
           f.bytes("path", r.path) && f.bytes("build_id", r.build_id) && f.varint("segment_count", r.segment_count);
  }
};

// One frame of a stack, leaf first: a return address (the preload's own frames are dropped;
// symbolize ip - 1), written as v (zigzag(ip − previous ip) << 1). A set low bit is reserved (a
// reader takes it for damage).
struct StackFrame {
  uint64_t ip = 0;
  template <class F, class R> static bool fields(F& f, R& r, const StackFrame& previous) {
    return f.frame("frame", r, previous);
  }
};

struct StackDef {
  static constexpr RecordType kType = RecordType::StackDef;
  static constexpr const char* kAbout = "a stack, written the first time it is seen; events refer to it by id";
  uint64_t stack_id = 0, module_generation = 0, frame_count = 0;
  using Element = StackFrame;
  static constexpr uint64_t StackDef::*kCount = &StackDef::frame_count;
  static constexpr uint64_t kMaxElements = 4 * kMaxFrames;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("stack_id", r.stack_id) && f.varint("module_generation", r.module_generation) &&
           f.varint("frame_count", r.frame_count);
  }
};

// ---- events (full mode) ----------------------------------------------------------------------

struct Alloc {
  static constexpr RecordType kType = RecordType::Alloc;
  static constexpr const char* kAbout = "a block from the malloc family";
  uint64_t stack_id = 0, address = 0, size = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("stack_id", r.stack_id) && f.address("address", r.address) && f.varint("size", r.size);
  }
};

struct Free {
  static constexpr RecordType kType = RecordType::Free;
  static constexpr const char* kAbout = "a block released (numbered before the memory is)";
  uint64_t address = 0;
  template <class F, class R> static bool fields(F& f, R& r) { return f.address("address", r.address); }
};

struct Realloc {
  static constexpr RecordType kType = RecordType::Realloc;
  static constexpr const char* kAbout = "a block moved or resized by realloc";
  uint64_t stack_id = 0, old_address = 0, new_address = 0, size = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("stack_id", r.stack_id) && f.address("old_address", r.old_address) &&
           f.address("new_address", r.new_address) && f.varint("size", r.size);
  }
};

struct Mmap {
  static constexpr RecordType kType = RecordType::Mmap;
  static constexpr const char* kAbout = "an anonymous mapping (size rounded up to pages)";
  uint64_t stack_id = 0, address = 0, size = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("stack_id", r.stack_id) && f.address("address", r.address) && f.varint("size", r.size);
  }
};

struct Munmap {
  static constexpr RecordType kType = RecordType::Munmap;
  static constexpr const char* kAbout = "an unmapped range";
  uint64_t address = 0, size = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.address("address", r.address) && f.varint("size", r.size);
  }
};

struct Mremap {
  static constexpr RecordType kType = RecordType::Mremap;
  static constexpr const char* kAbout = "a mapping moved or resized";
  uint64_t stack_id = 0, old_address = 0, old_size = 0, new_address = 0, new_size = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("stack_id", r.stack_id) && f.address("old_address", r.old_address) &&
           f.varint("old_size", r.old_size) && f.address("new_address", r.new_address) &&
           f.varint("new_size", r.new_size);
  }
};

// ---- the timeline ----------------------------------------------------------------------------

struct Sample {
  static constexpr RecordType kType = RecordType::Sample;
  static constexpr const char* kAbout =
      "a timeline point; heap and mmap are the live bytes in aggregate mode, 0 in a full log (replay knows them); "
      "rss_file: the resident pages of files and shared memory (libraries, mapped files), part of rss; pss: the "
      "proportional set size (a page shared by n processes counts 1/n), uss: the pages no other process maps, both "
      "from /proc/self/smaps_rollup and 0 in samples that did not read it";
  uint64_t time_ns = 0, rss = 0, heap = 0, mmap = 0, rss_file = 0, pss = 0, uss = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("rss", r.rss) && f.varint("heap", r.heap) &&
           f.varint("mmap", r.mmap) && f.since(5, "rss_file", r.rss_file) && f.since(9, "pss", r.pss) &&
           f.since(9, "uss", r.uss);
  }
};

struct Marker {
  static constexpr RecordType kType = RecordType::Marker;
  static constexpr const char* kAbout = "where the program says it is (tidemark/marker.h); kind is a MarkerKind";
  uint64_t time_ns = 0, kind = 0;
  std::string_view text;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("kind", r.kind) && f.bytes("text", r.text);
  }
};

struct CodeObject {
  static constexpr RecordType kType = RecordType::CodeObject;
  static constexpr const char* kAbout =
      "a Python code object, written before the first frame that refers to it by code_id: its qualified name, "
      "file, first line and a copy of its line table (line_table_format is a LineTableFormat)";
  uint64_t code_id = 0;
  std::string_view function, file;
  uint64_t first_line = 0;
  uint64_t line_table_format = 0;
  std::string_view line_table;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("code_id", r.code_id) && f.bytes("function", r.function) && f.bytes("file", r.file) &&
           f.varint("first_line", r.first_line) && f.varint("line_table_format", r.line_table_format) &&
           f.bytes("line_table", r.line_table);
  }
};

// Python frames form a tree of call chains (the same caller is written once for all its callees):
// a PythonFrame is one frame with the frame that called it, a PythonStack one thread's whole stack.
struct PythonFrame {
  static constexpr RecordType kType = RecordType::PythonFrame;
  static constexpr const char* kAbout =
      "a Python frame: code code_id at instruction (code units from the start of its bytecode; the CodeObject "
      "maps it to a line), called from frame parent (0: none); entry 1 if it is the outermost frame of one "
      "native call of the eval loop";
  uint64_t frame_id = 0, parent = 0, code_id = 0, instruction = 0, entry = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("frame_id", r.frame_id) && f.varint("parent", r.parent) && f.varint("code_id", r.code_id) &&
           f.varint("instruction", r.instruction) && f.varint("entry", r.entry);
  }
};

struct PythonStack {
  static constexpr RecordType kType = RecordType::PythonStack;
  static constexpr const char* kAbout =
      "a stack of a thread running Python: the native stack native_stack (a StackDef) with each of its eval-loop "
      "frames replaced by the Python frames that call ran, from python_frame outward";
  uint64_t stack_id = 0, native_stack = 0, python_frame = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("stack_id", r.stack_id) && f.varint("native_stack", r.native_stack) &&
           f.varint("python_frame", r.python_frame);
  }
};

struct Interpreter {
  static constexpr RecordType kType = RecordType::Interpreter;
  static constexpr const char* kAbout =
      "an interpreter found in the process (CPython): its version, whether stacks carry its frames and its own "
      "allocator is tracked (flags is InterpreterFlags), the address of its eval loop, and why not where not";
  uint64_t time_ns = 0;
  std::string_view version;
  uint64_t flags = 0;
  uint64_t eval_loop = 0;  // _PyEval_EvalFrameDefault: its module is the interpreter's
  std::string_view problem;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.bytes("version", r.version) && f.varint("flags", r.flags) &&
           f.varint("eval_loop", r.eval_loop) && f.bytes("problem", r.problem);
  }
};

struct Exit {
  static constexpr RecordType kType = RecordType::Exit;
  static constexpr const char* kAbout = "the process called exit() or returned from main";
  uint64_t time_ns = 0;
  template <class F, class R> static bool fields(F& f, R& r) { return f.varint("time_ns", r.time_ns); }
};

struct ProcessEnd {
  static constexpr RecordType kType = RecordType::ProcessEnd;
  static constexpr const char* kAbout = "how the process ended (kind is an EndKind; code the exit code or signal); by `tidemark run`";
  uint64_t time_ns = 0, kind = 0, code = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("kind", r.kind) && f.varint("code", r.code);
  }
};

struct TrackerError {
  static constexpr RecordType kType = RecordType::TrackerError;
  static constexpr const char* kAbout = "the tracker stopped recording, for the reason given";
  uint64_t time_ns = 0;
  std::string_view message;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.bytes("message", r.message);
  }
};

struct ThreadName {
  static constexpr RecordType kType = RecordType::ThreadName;
  static constexpr const char* kAbout = "a thread takes the stream: its tid and name, before its first record, with that record's seq";
  uint64_t tid = 0;
  std::string_view name;
  template <class F, class R> static bool fields(F& f, R& r) { return f.varint("tid", r.tid) && f.bytes("name", r.name); }
};

// ---- the heap graph of a conservative scan (blocks numbered in address order) ------------------

struct ScanBegin {
  static constexpr RecordType kType = RecordType::ScanBegin;
  static constexpr const char* kAbout = "a heap scan begins (reason is a ScanReason); a scan without its ScanEnd is ignored";
  uint64_t time_ns = 0, block_count = 0, reason = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("block_count", r.block_count) && f.varint("reason", r.reason);
  }
};

struct ScanBlock {
  uint64_t address = 0, size = 0, stack_id = 0;
  template <class F, class R> static bool fields(F& f, R& r, const ScanBlock& previous) {
    return f.ascending("address", r.address, previous.address) && f.varint("size", r.size) &&
           f.varint("stack_id", r.stack_id);
  }
};

struct ScanBlocks {
  static constexpr RecordType kType = RecordType::ScanBlocks;
  static constexpr const char* kAbout = "live blocks first_index, first_index + 1, ... of the scan";
  uint64_t first_index = 0, count = 0;
  using Element = ScanBlock;
  static constexpr uint64_t ScanBlocks::*kCount = &ScanBlocks::count;
  static constexpr uint64_t kMaxElements = kMaxRecordSize;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("first_index", r.first_index) && f.varint("count", r.count);
  }
};

struct ScanRoot {
  uint64_t block_index = 0, kind = 0;  // kind is a RootKind
  template <class F, class R> static bool fields(F& f, R& r, const ScanRoot& previous) {
    return f.ascending("block_index", r.block_index, previous.block_index) && f.varint("kind", r.kind);
  }
};

struct ScanRoots {
  static constexpr RecordType kType = RecordType::ScanRoots;
  static constexpr const char* kAbout = "blocks referenced from outside the heap, and where from";
  uint64_t count = 0;
  using Element = ScanRoot;
  static constexpr uint64_t ScanRoots::*kCount = &ScanRoots::count;
  static constexpr uint64_t kMaxElements = kMaxRecordSize;
  template <class F, class R> static bool fields(F& f, R& r) { return f.varint("count", r.count); }
};

struct ScanEdge {
  uint64_t source = 0, target = 0;  // block indexes: source holds a pointer into target
  template <class F, class R> static bool fields(F& f, R& r, const ScanEdge& previous) {
    return f.delta("source", r.source, previous.source) && f.relative("target", r.target, r.source);
  }
};

struct ScanEdges {
  static constexpr RecordType kType = RecordType::ScanEdges;
  static constexpr const char* kAbout = "references between blocks";
  uint64_t count = 0;
  using Element = ScanEdge;
  static constexpr uint64_t ScanEdges::*kCount = &ScanEdges::count;
  static constexpr uint64_t kMaxElements = kMaxRecordSize;
  template <class F, class R> static bool fields(F& f, R& r) { return f.varint("count", r.count); }
};

struct ScanEnd {
  static constexpr RecordType kType = RecordType::ScanEnd;
  static constexpr const char* kAbout = "the scan is complete";
  uint64_t time_ns = 0, words = 0, root_bytes = 0, duration_ns = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("words", r.words) && f.varint("root_bytes", r.root_bytes) &&
           f.varint("duration_ns", r.duration_ns);
  }
};

// ---- the Python object graph of a scan (inside ScanBegin ... ScanEnd) --------------------------

struct PythonGraph {
  static constexpr RecordType kType = RecordType::PythonGraph;
  static constexpr const char* kAbout =
      "the interpreter's object graph follows (PythonType, PythonObjects, PythonReferences): object_count "
      "objects the cycle collector tracks; problem says why there is none when it is not empty";
  uint64_t object_count = 0;
  std::string_view problem;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("object_count", r.object_count) && f.bytes("problem", r.problem);
  }
};

struct PythonType {
  static constexpr RecordType kType = RecordType::PythonType;
  static constexpr const char* kAbout =
      "a type of the objects of this scan's graph: its id there (below 2^20), address and name";
  uint64_t type_id = 0, address = 0;
  std::string_view name;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("type_id", r.type_id) && f.varint("address", r.address) && f.bytes("name", r.name);
  }
};

// flags is a PythonObjectFlags; refcount is the object's reference count as the collector reads it.
struct PythonObject {
  uint64_t address = 0, type_id = 0, refcount = 0, flags = 0;
  template <class F, class R> static bool fields(F& f, R& r, const PythonObject& previous) {
    return f.ascending("address", r.address, previous.address) && f.varint("type_id", r.type_id) &&
           f.varint("refcount", r.refcount) && f.varint("flags", r.flags);
  }
};

struct PythonObjects {
  static constexpr RecordType kType = RecordType::PythonObjects;
  static constexpr const char* kAbout =
      "objects first_index, first_index + 1, ... of the graph (in address order): the objects the cycle collector "
      "tracks";
  uint64_t first_index = 0, count = 0;
  using Element = PythonObject;
  static constexpr uint64_t PythonObjects::*kCount = &PythonObjects::count;
  static constexpr uint64_t kMaxElements = kMaxRecordSize;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("first_index", r.first_index) && f.varint("count", r.count);
  }
};

// A reference as the object's type reports it to the collector (tp_traverse): source is an object
// index, target the address referred to (an object of the graph, or one the collector does not track).
struct PythonReference {
  uint64_t source = 0, target = 0;
  template <class F, class R> static bool fields(F& f, R& r, const PythonReference& previous) {
    return f.ascending("source", r.source, previous.source) && f.address("target", r.target);
  }
};

struct PythonReferences {
  static constexpr RecordType kType = RecordType::PythonReferences;
  static constexpr const char* kAbout = "references of the graph's objects, in the order of their sources";
  uint64_t count = 0;
  using Element = PythonReference;
  static constexpr uint64_t PythonReferences::*kCount = &PythonReferences::count;
  static constexpr uint64_t kMaxElements = kMaxRecordSize;
  template <class F, class R> static bool fields(F& f, R& r) { return f.varint("count", r.count); }
};

// Names the program gives the graph's objects (format::PythonNameKind): a module's globals dict,
// and what a module global holds. Only values the collector may track are named.
struct PythonName {
  static constexpr RecordType kType = RecordType::PythonName;
  static constexpr const char* kAbout =
      "a name of an object of the graph: kind Module (address is the globals dict of the module holder, called "
      "name) or Global (address is held by the globals dict holder under the key name)";
  uint64_t kind = 0, holder = 0, address = 0;
  std::string_view name;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("kind", r.kind) && f.address("holder", r.holder) && f.address("address", r.address) &&
           f.bytes("name", r.name);
  }
};

struct Ending {
  static constexpr RecordType kType = RecordType::Ending;
  static constexpr const char* kAbout =
      "the process ends by _exit (kind FastExit, with its code) or replaces itself by exec (kind Exec, with the program)";
  uint64_t time_ns = 0, kind = 0, code = 0;
  std::string_view program;  // exec: the path given to exec
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("kind", r.kind) && f.varint("code", r.code) &&
           f.bytes("program", r.program);
  }
};

struct ChildEnd {
  static constexpr RecordType kType = RecordType::ChildEnd;
  static constexpr const char* kAbout =
      "a child process ended, as the process learnt when it waited for it (kind is an EndKind; code the exit code "
      "or signal)";
  uint64_t time_ns = 0, pid = 0, kind = 0, code = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("pid", r.pid) && f.varint("kind", r.kind) &&
           f.varint("code", r.code);
  }
};

struct StackLevel {
  uint64_t stack_id = 0, live_bytes = 0;
  uint64_t high_bytes = 0;  // the most the stack held since the levels before (at least live_bytes)
  template <class F, class R> static bool fields(F& f, R& r, const StackLevel& previous) {
    return f.ascending("stack_id", r.stack_id, previous.stack_id) && f.varint("live_bytes", r.live_bytes) &&
           f.relative("high_bytes", r.high_bytes, r.live_bytes);
  }
};

struct StackLevels {
  static constexpr RecordType kType = RecordType::StackLevels;
  static constexpr const char* kAbout =
      "aggregate mode: the live heap bytes of the stacks whose bytes changed since the last levels, at time_ns (one "
      "moment may take several records), and the most each held in between; the per-site timelines of the growth "
      "findings";
  uint64_t time_ns = 0, count = 0;
  using Element = StackLevel;
  static constexpr uint64_t StackLevels::*kCount = &StackLevels::count;
  static constexpr uint64_t kMaxElements = kMaxRecordSize / 3;  // each element takes 3 bytes at least
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("count", r.count);
  }
};

// ---- written by the `tidemark run` wrapper after the process ended -----------------------------

struct MemoryLimit {
  static constexpr RecordType kType = RecordType::MemoryLimit;
  static constexpr const char* kAbout = "the limit `tidemark run --memory-limit` ran the process under (kind is a LimitKind)";
  uint64_t bytes = 0, kind = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("bytes", r.bytes) && f.varint("kind", r.kind);
  }
};

struct OomKill {
  static constexpr RecordType kType = RecordType::OomKill;
  static constexpr const char* kAbout =
      "the out-of-memory killer ended the process (evidence is an OomEvidence; usage the memory in use at the limit); "
      "other_process 1: it ended another process of the run's cgroup (kills of them), not this one";
  uint64_t time_ns = 0, evidence = 0, usage = 0, other_process = 0, kills = 0;
  template <class F, class R> static bool fields(F& f, R& r) {
    return f.varint("time_ns", r.time_ns) && f.varint("evidence", r.evidence) && f.varint("usage", r.usage) &&
           f.since(9, "other_process", r.other_process) && f.since(9, "kills", r.kills);
  }
};

}  // namespace tidemark::format
