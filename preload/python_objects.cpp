#include "python_objects.h"

#include "python_frames.h"
#include "python_runtime.h"
#include "radix_sort.h"
#include "trace_writer.h"

namespace tidemark::preload::python {

namespace {

// The exit graph: taken once, by the first thread holding the GIL after finalizing began.
int g_exit_graph_taken = 0;

// A generation list holds at most this many objects: past that it is not what it seems.
constexpr size_t kMaxObjects = size_t{1} << 31;

struct Tracked {
  uint64_t addr;    // the object (its PyGC_Head is just before)
  uint32_t type_id;
  uint32_t flags;   // format::PythonObjectFlags
};

// The next object of a generation list: PyGC_Head._gc_next, whose low bits the collector uses
// only while it collects.
const uint8_t* nextHead(const uint8_t* head) { return reinterpret_cast<const uint8_t*>(at<uint64_t>(head, 0) & ~uint64_t{3}); }

// Type ids of this graph, by the type's address (open addressing; 0 = empty slot).
class TypeIds {
 public:
  bool allocate() { return slots_.allocate(kSlots); }
  // The id of `type`, and whether it is new; 0 when the table is full.
  uint32_t idOf(uint64_t type, bool& is_new) {
    is_new = false;
    for (uint64_t i = (type * 0x9e3779b97f4a7c15ull) >> 50;; i = (i + 1) & (kSlots - 1)) {
      Slot& s = slots_.data[i];
      if (s.type == type) return s.id;
      if (s.type) continue;
      if (next_ > kSlots / 2) return 0;
      s = {type, next_++};
      is_new = true;
      return s.id;
    }
  }

 private:
  static constexpr uint64_t kSlots = 1 << 14;
  static_assert(kSlots / 2 < format::kMaxPythonTypeId);
  struct Slot {
    uint64_t type;
    uint32_t id;
  };
  Scratch<Slot> slots_;
  uint32_t next_ = 1;
};

void writeType(Stream& s, uint32_t id, const uint8_t* type) {
  const char* name = at<const char*>(type, kTypeName);
  writeRecord(s, writer().nextSeq(),
              format::PythonType{.type_id = id,
                                 .address = reinterpret_cast<uint64_t>(type),
                                 .name = name ? std::string_view{name, strnlen(name, 255)} : std::string_view{"?"}});
}

// References are buffered and written kBatch at a time (at most 20 bytes each).
class ReferenceWriter {
 public:
  explicit ReferenceWriter(Stream& s) : stream_(s) {}
  void add(uint64_t source, uint64_t target) {
    pending_[count_++] = {.source = source, .target = target};
    if (count_ == kBatch) flush();
  }
  void flush() {
    if (!count_) return;
    ElementRecordWriter r(stream_, writer().nextSeq(), format::PythonReferences{.count = count_});
    for (size_t i = 0; i < count_; ++i) r.add(pending_[i]);
    r.commit();
    count_ = 0;
  }

 private:
  static constexpr size_t kBatch = 700;
  Stream& stream_;
  format::PythonReference pending_[kBatch];
  size_t count_ = 0;
};

// What tp_traverse's visit function is given: the object being traversed, where its references go.
struct Visit {
  ReferenceWriter& out;
  uint64_t source;     // the object's index
  uint64_t type;       // its type
  uint32_t* flags;     // its flags: kPythonClassEdge once its type was visited
};

int visitReference(void* referent, void* arg) {
  auto& v = *static_cast<Visit*>(arg);
  const auto target = reinterpret_cast<uint64_t>(referent);
  if (target == v.type) *v.flags |= format::kPythonClassEdge;
  v.out.add(v.source, target);
  return 0;
}

using TraverseFunction = int (*)(void* object, int (*visit)(void*, void*), void* arg);

// The heads of the collector's lists: its three generations, then the permanent one.
struct Heads {
  const uint8_t* head[4];
  static constexpr int kPermanent = 3;
};

// Finds the collector's lists of the main interpreter; the reason when they do not check out.
const char* findHeads(Heads& out) {
  const Runtime& r = runtime();
  if (r.layout.interp_gc < 0 || !r.main_interpreter) return "the interpreter's collector cannot be found";
  const auto* gc = static_cast<const uint8_t*>(r.main_interpreter()) + r.layout.interp_gc;
  if (at<const uint8_t*>(gc, kGcGeneration0) != gc + kGcGenerations)
    return "the collector's state is not laid out as this version's headers say";
  if (at<int32_t>(gc, kGcCollecting)) return "a collection was running";
  for (int g = 0; g < 3; ++g) out.head[g] = gc + kGcGenerations + g * kGcGenerationSize;
  out.head[Heads::kPermanent] = gc + kGcPermanent;
  return "";
}

// At most this many names are written for one graph.
constexpr size_t kMaxNames = size_t{1} << 20;

// Names a module's globals dict and the values its globals hold that the collector may track
// (containers, functions, instances: what a chain from a root goes through). Reads the dict's
// table as the headers lay it out; a table split between keys and values is not a module's.
void writeModuleNames(Stream& s, const uint8_t* module, size_t& written) {
  const Runtime& r = runtime();
  const auto* dict = at<const uint8_t*>(module, kModuleDict);
  if (!dict || at<const void*>(dict, kDictValues)) return;
  char text[256];
  std::string_view module_name = textOf(at<const uint8_t*>(module, kModuleName), r.layout, text, sizeof text);
  writeRecord(s, writer().nextSeq(),
              format::PythonName{.kind = static_cast<uint64_t>(format::PythonNameKind::Module),
                                 .holder = reinterpret_cast<uint64_t>(module),
                                 .address = reinterpret_cast<uint64_t>(dict), .name = module_name});
  const auto* keys = at<const uint8_t*>(dict, kDictKeys);
  const uint8_t log2_index_bytes = at<uint8_t>(keys, kKeysLog2IndexBytes);
  const int64_t entries = at<int64_t>(keys, kKeysEntryCount);
  if (log2_index_bytes > 40 || entries < 0 || entries > (int64_t{1} << 32)) return;
  const bool str_keys = at<uint8_t>(keys, kKeysKind) != 0;
  const int32_t entry_size = str_keys ? kStrKeysEntrySize : kAnyKeysEntrySize, key_at = str_keys ? 0 : 8;
  const uint8_t* entry = keys + kKeysIndices + (int64_t{1} << log2_index_bytes);
  for (int64_t i = 0; i < entries && written < kMaxNames; ++i, entry += entry_size) {
    const auto* key = at<const uint8_t*>(entry, key_at);
    const auto* value = at<const uint8_t*>(entry, key_at + 8);
    if (!key || !value || at<const void*>(key, kObjectType) != r.unicode_type) continue;
    const auto* value_type = at<const uint8_t*>(value, kObjectType);
    if (!(at<uint64_t>(value_type, kTypeFlags) & kHaveGcFlag)) continue;
    writeRecord(s, writer().nextSeq(),
                format::PythonName{.kind = static_cast<uint64_t>(format::PythonNameKind::Global),
                                   .holder = reinterpret_cast<uint64_t>(dict),
                                   .address = reinterpret_cast<uint64_t>(value),
                                   .name = textOf(key, r.layout, text, sizeof text)});
    ++written;
  }
}

}  // namespace

bool leftInFreeList(const uint8_t* block, uint64_t size) {
  // These types' objects follow the collector's header, and a live one has a reference.
  if (size < kGcHeadSize + 16) return false;
  const Runtime& r = runtime();
  const void* type = at<const void*>(block, kGcHeadSize + kObjectType);
  return at<int64_t>(block, kGcHeadSize) == 0 && type && (type == r.tuple_type || type == r.list_type || type == r.dict_type);
}

bool objectGraphPossible() { return framesAvailable() && runtime().main_interpreter && runtime().layout.interp_gc >= 0; }

bool objectGraphFromHere() { return objectGraphPossible() && holdsGil(); }

bool exitGraphDue() {
  const Runtime& r = runtime();
  if (!at<uint64_t>(r.runtime, r.layout.runtime_finalizing) || __atomic_load_n(&g_exit_graph_taken, __ATOMIC_ACQUIRE))
    return false;
  if (!holdsGil()) return false;
  int was = 0;
  return __atomic_compare_exchange_n(&g_exit_graph_taken, &was, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

bool exitGraphTaken() { return __atomic_load_n(&g_exit_graph_taken, __ATOMIC_ACQUIRE); }

bool callAtSafePoint(int (*fn)(void*)) {
  const Runtime& r = runtime();
  if (!objectGraphPossible() || !r.add_pending_call || !at<int32_t>(r.runtime, r.layout.runtime_initialized) ||
      at<uint64_t>(r.runtime, r.layout.runtime_finalizing))
    return false;
  return r.add_pending_call(fn, nullptr) == 0;
}

void writeObjectGraph(Stream& s) {
  auto fail = [&](const char* why) {
    writeRecord(s, writer().nextSeq(), format::PythonGraph{.object_count = 0, .problem = {why, strlen(why)}});
  };
  if (!objectGraphPossible()) return fail("no supported interpreter");
  Heads heads;
  if (const char* problem = findHeads(heads); problem[0]) return fail(problem);

  // Count, then copy: the lists do not change while the GIL is held and no Python code runs.
  size_t n = 0;
  for (const uint8_t* head : heads.head)
    for (const uint8_t* p = nextHead(head); p != head; p = nextHead(p))
      if (!p || ++n > kMaxObjects) return fail("a generation list of the collector does not check out");
  Scratch<Tracked> objects, tmp;
  TypeIds types;
  if (!objects.allocate(n) || !tmp.allocate(n) || !types.allocate()) return fail("no memory for the object graph");
  size_t k = 0;
  for (int g = 0; g < 4; ++g)
    for (const uint8_t* p = nextHead(heads.head[g]); p != heads.head[g] && k < n; p = nextHead(p))
      objects.data[k++] = {reinterpret_cast<uint64_t>(p) + kGcHeadSize, 0,
                           g == Heads::kPermanent ? uint32_t{format::kPythonPermanent} : 0u};
  n = k;
  sortByAddress(objects.data, tmp.data, n);
  writeRecord(s, writer().nextSeq(), format::PythonGraph{.object_count = n, .problem = {}});

  // Types, each written before the references and objects that need it.
  const bool has_immortals = ((runtime().version_hex >> 16) & 0xff) >= 12;
  for (size_t i = 0; i < n; ++i) {
    Tracked& o = objects.data[i];
    const auto* type = at<const uint8_t*>(reinterpret_cast<const void*>(o.addr), kObjectType);
    bool is_new = false;
    o.type_id = types.idOf(reinterpret_cast<uint64_t>(type), is_new);
    if (is_new) writeType(s, o.type_id, type);
    if (has_immortals && static_cast<int32_t>(at<int64_t>(reinterpret_cast<const void*>(o.addr), 0)) < 0)
      o.flags |= format::kPythonImmortal;
  }

  // References, as each object's type reports them to the collector.
  {
    ReferenceWriter out(s);
    for (size_t i = 0; i < n; ++i) {
      Tracked& o = objects.data[i];
      const auto* object = reinterpret_cast<void*>(o.addr);
      const auto* type = at<const uint8_t*>(object, kObjectType);
      auto traverse = at<TraverseFunction>(type, kTypeTraverse);
      if (!traverse) continue;
      Visit visit{out, i, reinterpret_cast<uint64_t>(type), &o.flags};
      traverse(const_cast<void*>(object), visitReference, &visit);
    }
    out.flush();
  }

  // The objects, in address order (references name them by index).
  constexpr size_t kBatch = 350;  // at most 40 bytes each
  for (size_t first = 0; first < n; first += kBatch) {
    size_t count = n - first < kBatch ? n - first : kBatch;
    ElementRecordWriter r(s, writer().nextSeq(), format::PythonObjects{.first_index = first, .count = count});
    if (!r.ok()) return;
    for (size_t i = first; i < first + count; ++i) {
      const Tracked& o = objects.data[i];
      uint64_t refcount = (o.flags & format::kPythonImmortal) ? 0 : at<uint64_t>(reinterpret_cast<const void*>(o.addr), 0);
      r.add({.address = o.addr, .type_id = o.type_id, .refcount = refcount, .flags = o.flags});
    }
    r.commit();
  }

  // The names modules give their globals.
  if (!runtime().module_type || !runtime().unicode_type) return;
  size_t names = 0;
  for (size_t i = 0; i < n && names < kMaxNames; ++i) {
    const auto* object = reinterpret_cast<const uint8_t*>(objects.data[i].addr);
    if (at<const void*>(object, kObjectType) == runtime().module_type) writeModuleNames(s, object, names);
  }
}

}  // namespace tidemark::preload::python
