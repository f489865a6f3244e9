#include "checkpoint.h"

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <type_traits>
#include <unordered_map>

#include <fmt/format.h>

#include "error.h"
#include "trace_reader.h"

namespace tidemark {

namespace {

// The file: a fixed head, the key (what it was made from and by), then the body (the replay) with
// its length and checksum.
constexpr char kMagic[8] = {'T', 'M', 'C', 'K', 'P', 'T', '\n', '\0'};
// Changes whenever the body's layout does (fields() below); the build id changes with every build.
constexpr uint32_t kLayout = 4;
constexpr uint64_t kStillWritingNs = 60'000'000'000;  // a trace unchanged this long is finished

// A checksum of 8 bytes at a time (damage, not an adversary: the key's build id is the trust).
uint64_t checksum(const uint8_t* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

// The GNU build id of the object this code is linked into (the tidemark executable): a checkpoint
// is read only by the build that wrote it, so the body's layout needs no compatibility. Empty when
// the object has none (then no checkpoints).
std::string ownBuildId() {
  struct Search {
    uintptr_t address;
    std::string id;
  } search{reinterpret_cast<uintptr_t>(&ownBuildId), {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) -> int {
        auto* s = static_cast<Search*>(data);
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && s->address >= start && s->address < start + ph.p_memsz) mine = true;
        }
        if (!mine) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
          for (size_t at = 0; at + sizeof(ElfW(Nhdr)) <= ph.p_memsz;) {
            ElfW(Nhdr) note;
            memcpy(&note, p + at, sizeof note);
            size_t name_at = at + sizeof note, desc_at = name_at + ((note.n_namesz + 3) & ~3u);
            size_t next = desc_at + ((note.n_descsz + 3) & ~3u);
            if (next > ph.p_memsz) break;
            if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && memcmp(p + name_at, "GNU", 4) == 0)
              s->id.assign(reinterpret_cast<const char*>(p + desc_at), note.n_descsz);
            at = next;
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

struct Key {
  uint64_t device = 0, inode = 0, size = 0, modified_ns = 0, changed_ns = 0, header_sum = 0;
  std::string build_id;
};

Key keyOf(const TraceReader& reader) {
  static const std::string build_id = ownBuildId();
  TraceReader::Stamp stamp = reader.stamp();
  const format::FileHeader& h = reader.header();
  return {stamp.device, stamp.inode, reader.fileSize(), stamp.modified_ns, stamp.changed_ns,
          checksum(reinterpret_cast<const uint8_t*>(&h), sizeof h), build_id};
}

// ---- The body: one list of fields per type, for writing and reading alike. ----

template <class T>
inline constexpr bool kRaw = std::is_trivially_copyable_v<T>;  // copied as its bytes
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class K, class V>
struct IsMap<std::map<K, V>> : std::true_type {};
template <class K, class V>
struct IsMap<std::unordered_map<K, V>> : std::true_type {};
template <class T>
struct IsPair : std::false_type {};
template <class A, class B>
struct IsPair<std::pair<A, B>> : std::true_type {};

class Writer;
class Reader;

// The fields of every type that is not copied as its bytes. A static_assert on each size makes a
// new field a build error here until it is listed (x86-64 with libstdc++, where the sizes were read).
#if defined(__x86_64__) && defined(__GLIBCXX__)
#define TIDEMARK_LISTED_SIZE(T, bytes) \
  static_assert(sizeof(T) == (bytes), "a field was added to " #T ": list it in checkpoint.cpp and raise kLayout")
#else
#define TIDEMARK_LISTED_SIZE(T, bytes)
#endif

template <class A>
void fields(A& a, ModuleInfo& m) {
  TIDEMARK_LISTED_SIZE(ModuleInfo, 96);
  a(m.path, m.build_id, m.bias, m.segments);
}
template <class A>
void fields(A& a, StackDef& d) {
  TIDEMARK_LISTED_SIZE(StackDef, 48);
  a(d.generation, d.frames, d.native, d.python_frame);
}
template <class A>
void fields(A& a, ThreadInfo& t) {
  TIDEMARK_LISTED_SIZE(ThreadInfo, 40);
  a(t.tid, t.name);
}
template <class A>
void fields(A& a, Marker& m) {
  TIDEMARK_LISTED_SIZE(Marker, 56);
  a(m.time_ns, m.seq, m.kind, m.text);
}
template <class A>
void fields(A& a, PhaseWindow& p) {
  TIDEMARK_LISTED_SIZE(PhaseWindow, 80);
  a(p.name, p.begin_ns, p.end_ns, p.heap_at_begin, p.heap_peak, p.heap_at_end, p.ended);
}
template <class A>
void fields(A& a, ProcessEnd& e) {
  TIDEMARK_LISTED_SIZE(ProcessEnd, 48);
  a(e.state, e.code, e.time_ns, e.program);
}
template <class A>
void fields(A& a, CodeInfo& c) {
  TIDEMARK_LISTED_SIZE(CodeInfo, 104);
  a(c.function, c.file, c.first_line, c.line_table_format, c.line_table);
}
template <class A>
void fields(A& a, InterpreterInfo& i) {
  TIDEMARK_LISTED_SIZE(InterpreterInfo, 104);
  a(i.seen, i.version, i.frames, i.allocator, i.eval_loop, i.found_late_ns, i.finalizing_ns, i.problem);
}
template <class A>
void fields(A& a, PythonObjectGraph::Type& t) {
  TIDEMARK_LISTED_SIZE(PythonObjectGraph::Type, 40);
  a(t.address, t.name);
}
template <class A>
void fields(A& a, PythonObjectGraph::Name& n) {
  TIDEMARK_LISTED_SIZE(PythonObjectGraph::Name, 56);
  a(n.kind, n.holder, n.address, n.name);
}
template <class A>
void fields(A& a, PythonObjectGraph& g) {
  TIDEMARK_LISTED_SIZE(PythonObjectGraph, 240);
  a(g.present, g.problem, g.types, g.addr, g.refcount, g.type, g.flags, g.references, g.names);
}
template <class A>
void fields(A& a, ScanGraph& s) {
  TIDEMARK_LISTED_SIZE(ScanGraph, 408);
  a(s.present, s.complete, s.time_ns, s.duration_ns, s.words, s.root_bytes, s.reason, s.addr, s.size, s.stack,
    s.root_kind, s.edges, s.python);
}
template <class A, class T>
void fields(A& a, IdTable<T>& t) {
  TIDEMARK_LISTED_SIZE(IdTable<T>, 48);
  t.fields(a);
}
template <class A>
void fields(A& a, SeriesRecorder& s) {
  TIDEMARK_LISTED_SIZE(SeriesRecorder, 64);
  s.fields(a);
}
template <class A>
void fields(A& a, ReplayResult& r) {
  TIDEMARK_LISTED_SIZE(ReplayResult, 2144);
  a(r.pid, r.ppid, r.exe, r.argv, r.cgroup_limit, r.start_realtime_ns, r.sample_interval_ns, r.host);
  a(r.aggregated, r.pss_on_grid, r.sample_bytes, r.heap_variance, r.heap_peak_variance, r.stopped, r.end,
    r.end_from_parent, r.run_limit, r.oom, r.group_oom, r.duration_ns, r.last_event_time_ns);
  a(r.heap_live, r.heap_peak, r.heap_peak_seq, r.heap_peak_time_ns, r.allocations, r.frees, r.reallocs,
    r.allocated_bytes, r.live_blocks, r.mmap_live, r.mmap_peak);
  a(r.rss_peak, r.rss_peak_time_ns, r.rss_last, r.pss_peak, r.uss_peak, r.child_ends);
  a(r.anomalies);
  a(r.stacks, r.stack_defs, r.module_maps, r.module_load_ns, r.code_objects, r.python_frames, r.interpreter,
    r.timeline, r.series, r.allocated_series, r.day_series, r.has_series, r.markers, r.phases, r.scan,
    r.first_python_scan, r.tracker_errors, r.warnings, r.peak_epoch, r.threads, r.thread_stacks,
    r.sole_allocating_thread);
}

class Writer {
 public:
  // Writes at most `limit` bytes: past it, nothing more is kept and over() says so (a replay too
  // large to keep is not built in memory first: a Python trace's was 380 MiB).
  explicit Writer(size_t limit = SIZE_MAX) : limit_(limit) {}
  template <class... T>
  void operator()(T&... v) {
    (put(v), ...);
  }
  std::string& bytes() { return out_; }
  bool over() const { return over_; }

 private:
  void raw(const void* p, size_t n) {
    if (over_ || n > limit_ - out_.size()) {
      over_ = true;
      return;
    }
    if (n) out_.append(static_cast<const char*>(p), n);  // an empty vector's data() may be null
  }
  template <class T>
  void put(T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
      uint64_t n = v.size();
      raw(&n, sizeof n);
      raw(v.data(), n);
    } else if constexpr (IsVector<T>::value) {
      uint64_t n = v.size();
      raw(&n, sizeof n);
      if constexpr (kRaw<typename T::value_type>) raw(v.data(), n * sizeof(typename T::value_type));
      else for (auto& e : v) put(e);
    } else if constexpr (IsMap<T>::value) {
      uint64_t n = v.size();
      raw(&n, sizeof n);
      for (auto& [k, e] : v) {
        auto key = k;
        put(key);
        put(e);
      }
    } else if constexpr (IsPair<T>::value) {
      put(v.first);
      put(v.second);
    } else if constexpr (kRaw<T>) {
      raw(&v, sizeof v);
    } else {
      fields(*this, v);
    }
  }
  std::string out_;
  size_t limit_;
  bool over_ = false;
};

// Reads what Writer wrote; every length is checked against the bytes left before anything is
// allocated, so a damaged body fails (ok() false) instead of asking for more memory than the file.
class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  template <class... T>
  void operator()(T&... v) {
    (get(v), ...);
  }
  bool ok() const { return ok_; }
  bool atEnd() const { return p_ == end_; }

 private:
  bool raw(void* out, size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) return ok_ = false;
    if (n) memcpy(out, p_, n);  // an empty vector's data() may be null
    p_ += n;
    return true;
  }
  // A count of elements of at least `each` bytes; 0 when it cannot be (and ok_ false).
  uint64_t count(size_t each) {
    uint64_t n = 0;
    if (!raw(&n, sizeof n)) return 0;
    if (n > static_cast<uint64_t>(end_ - p_) / each) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  template <class T>
  void get(T& v) {
    if (!ok_) return;
    if constexpr (std::is_same_v<T, std::string>) {
      v.resize(count(1));
      raw(v.data(), v.size());
    } else if constexpr (IsVector<T>::value) {
      using E = typename T::value_type;
      if constexpr (kRaw<E>) {
        v.resize(count(sizeof(E)));
        raw(v.data(), v.size() * sizeof(E));
      } else {
        v.resize(count(1));
        for (auto& e : v) get(e);
      }
    } else if constexpr (IsMap<T>::value) {
      uint64_t n = count(1);
      for (uint64_t i = 0; i < n && ok_; ++i) {
        typename T::key_type k{};
        typename T::mapped_type e{};
        get(k);
        get(e);
        v.emplace(std::move(k), std::move(e));
      }
    } else if constexpr (IsPair<T>::value) {
      get(v.first);
      get(v.second);
    } else if constexpr (std::is_same_v<T, bool>) {
      uint8_t b = 0;
      raw(&b, 1);
      if (b > 1) ok_ = false;
      v = b;
    } else if constexpr (kRaw<T>) {
      raw(&v, sizeof v);
    } else {
      fields(*this, v);
    }
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

struct Head {
  char magic[8];
  uint32_t layout;
  uint32_t build_id_bytes;
  uint64_t device, inode, size, modified_ns, changed_ns, header_sum;
  uint64_t body_bytes, body_sum;
};

bool writeAll(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Whether the trace may still grow: its process runs, and its data changed within the last minute
// (a tracker writing through its mapping moves mtime at least every writeback).
bool mayStillChange(const ReplayResult& run, const TraceReader::Stamp& stamp) {
  if (run.end.state != EndState::Unknown || run.stopped.stopped()) return false;
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
  return stamp.modified_ns + kStillWritingNs > static_cast<uint64_t>(now.count());
}

}  // namespace

CheckpointPolicy checkpointPolicy() {
  const char* v = getenv("TIDEMARK_CHECKPOINT");
  if (!v || !*v) return CheckpointPolicy::Large;
  if (strcmp(v, "0") == 0) return CheckpointPolicy::Never;
  if (strcmp(v, "1") == 0) return CheckpointPolicy::Always;
  throw Error(fmt::format("TIDEMARK_CHECKPOINT={}: expected 0 (no checkpoints) or 1 (for every trace); unset, for "
                          "traces of {} MiB and more",
                          v, kCheckpointMinBytes >> 20));
}

std::string checkpointPath(const std::string& trace_path) { return trace_path + ".tmcheckpoint"; }

std::optional<ReplayResult> loadCheckpoint(const TraceReader& reader) {
  if (checkpointPolicy() == CheckpointPolicy::Never) return std::nullopt;
  Key key = keyOf(reader);
  if (key.build_id.empty() || key.inode == 0) return std::nullopt;
  int fd = ::open(checkpointPath(reader.path()).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::optional<ReplayResult> out;
  struct stat st {};
  Head head{};
  std::string id(key.build_id.size(), '\0');
  std::vector<uint8_t> body;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pread(fd, &head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
      memcmp(head.magic, kMagic, sizeof kMagic) == 0 && head.layout == kLayout && head.build_id_bytes == id.size() &&
      head.device == key.device && head.inode == key.inode && head.size == key.size &&
      head.modified_ns == key.modified_ns && head.changed_ns == key.changed_ns &&
      head.header_sum == key.header_sum &&
      pread(fd, id.data(), id.size(), sizeof head) == static_cast<ssize_t>(id.size()) && id == key.build_id &&
      head.body_bytes <= static_cast<uint64_t>(st.st_size) &&
      static_cast<uint64_t>(st.st_size) == sizeof head + id.size() + head.body_bytes) {
    body.resize(head.body_bytes);
    ssize_t got = pread(fd, body.data(), body.size(), static_cast<off_t>(sizeof head + id.size()));
    if (got == static_cast<ssize_t>(body.size()) && checksum(body.data(), body.size()) == head.body_sum) {
      out.emplace();
      Reader in(body.data(), body.data() + body.size());
      fields(in, *out);
      if (!in.ok() || !in.atEnd() || !out->stacks.consistent() || !out->stack_defs.consistent()) out.reset();
    }
  }
  ::close(fd);
  return out;
}

bool saveCheckpoint(const TraceReader& reader, const ReplayResult& run) {
  CheckpointPolicy policy = checkpointPolicy();
  // Sizes are those of the records (a packed trace's before packing): the replay's cost follows them.
  if (policy == CheckpointPolicy::Never || (policy == CheckpointPolicy::Large && reader.recordBytes() < kCheckpointMinBytes))
    return false;
  Key key = keyOf(reader);
  if (key.build_id.empty() || key.inode == 0 || mayStillChange(run, reader.stamp())) return false;
  // Reading the replay costs about what replaying a trace of its size does: a replay larger than a
  // quarter of the trace (many deep stacks, object graphs) saves too little to keep by default.
  Writer out(policy == CheckpointPolicy::Large ? reader.recordBytes() / kCheckpointMaxShare : SIZE_MAX);
  fields(out, const_cast<ReplayResult&>(run));  // Writer only reads what it is given
  if (out.over()) return false;
  const std::string& body = out.bytes();
  Head head{};
  memcpy(head.magic, kMagic, sizeof kMagic);
  head.layout = kLayout;
  head.build_id_bytes = static_cast<uint32_t>(key.build_id.size());
  head.device = key.device;
  head.inode = key.inode;
  head.size = key.size;
  head.modified_ns = key.modified_ns;
  head.changed_ns = key.changed_ns;
  head.header_sum = key.header_sum;
  head.body_bytes = body.size();
  head.body_sum = checksum(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  // Written aside and renamed into place: a reader sees the old checkpoint or the whole new one.
  std::string path = checkpointPath(reader.path());
  std::string temporary = fmt::format("{}.{}.tmp", path, getpid());
  // Readable by whom the trace is: it tells the same (the program's stacks, arguments, files).
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  ::fchmod(fd, reader.stamp().mode & 0666);
  bool ok = writeAll(fd, &head, sizeof head) && writeAll(fd, key.build_id.data(), key.build_id.size()) &&
            writeAll(fd, body.data(), body.size());
  ok = ::close(fd) == 0 && ok;
  if (ok) ok = ::rename(temporary.c_str(), path.c_str()) == 0;
  if (!ok) ::unlink(temporary.c_str());
  return ok;
}

}  // namespace tidemark
