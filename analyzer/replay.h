// Replays a trace's events in order and keeps what the findings need: per-stack live bytes now,
// at the heap peak (exact, without snapshots: see PeakTracker) and at the end; the timeline; the
// process's identity, end and module maps.
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "python_code.h"
#include "site_series.h"
#include "trace_reader.h"

namespace tidemark {

using StackId = uint32_t;

struct ModuleInfo {
  std::string path;
  std::string build_id;  // raw bytes
  int64_t bias = 0;
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // [start, end) absolute addresses
};

// Frame::ip of a Python frame (symbolizer.h): kInterpretedFrame | code id << 24 | line.
inline constexpr uint64_t kInterpretedFrame = 1ull << 63;

// A Python frame (format::PythonFrame) as replay keeps it: its line, not its instruction (frames
// of one line are one frame), and the frame that called it.
struct PythonFrameNode {
  uint64_t parent = 0;  // 0: the outermost
  uint64_t code_id = 0;
  int line = 0;
  bool entry = false;   // the outermost frame of one native call of the eval loop
};

struct StackDef {
  uint32_t generation = 0;        // module map the addresses belong to
  std::vector<uint64_t> frames;   // return addresses, leaf first
  // A thread running Python (format::PythonStack): the native stack `native` (its frames are not
  // copied here), with the Python frames from python_frame outward.
  StackId native = 0;
  uint64_t python_frame = 0;
};

struct StackStats {
  uint64_t live_bytes = 0, live_blocks = 0;
  uint64_t peak_bytes = 0, peak_blocks = 0;  // valid when touched_epoch == epoch of the last peak
  uint64_t touched_epoch = 0;
  uint64_t alloc_count = 0, alloc_bytes = 0;
  // Temporary: freed by the same thread before that thread allocated anything else (as heaptrack).
  uint64_t temporary_count = 0, temporary_bytes = 0;
  uint64_t mmap_bytes = 0;  // live anonymous-mmap bytes
  // Sample mode: the variance of the estimates live_bytes and peak_bytes (sum over the sampled
  // blocks, SampledBlock::variance); 0 in a trace of every allocation.
  double live_variance = 0, peak_variance = 0;
};

// Something about some of the stack ids, by id: a 4-byte slot per id up to the highest one with an
// entry, and the entries one after another. Stacks' figures (only the stacks that allocated or
// mapped have any: most of a Python trace's ids are its frames') and their definitions: a pandas
// script's replay held 96 MiB of 104-byte figures for 967,000 ids, and a std::map of its 500,000
// definitions cost 10% of `summary` to free and 20 nodes a look-up.
template <class T>
class IdTable {
 public:
  // An id's entry; empty (zeros) for one that has none.
  const T& operator[](StackId id) const {
    const T* s = find(id);
    return s ? *s : kNone;
  }
  const T* find(StackId id) const { return id < slot_.size() && slot_[id] ? &entries_[slot_[id] - 1] : nullptr; }
  bool contains(StackId id) const { return find(id) != nullptr; }
  // The replay's: the id's entry, made (empty) when it has none; `most`: the ids a trace of its
  // size can hold. A reference lasts until the next entry is made.
  T& make(StackId id, size_t most = SIZE_MAX) {
    if (__builtin_expect(id < slot_.size() && slot_[id], 1)) return entries_[slot_[id] - 1];  // every event's
    return add(id, most);
  }
  size_t size() const { return entries_.size(); }  // the ids that have entries
  StackId idBound() const { return static_cast<StackId>(slot_.size()); }  // every id with an entry is below
  // fn(id, entry) for every id that has one, by id.
  template <class Fn>
  void forEach(Fn&& fn) const {
    for (StackId id = 0; id < slot_.size(); ++id)
      if (slot_[id]) fn(id, entries_[slot_[id] - 1]);
  }
  // Whether every slot names an entry (a checkpoint read back).
  bool consistent() const {
    for (uint32_t slot : slot_)
      if (slot > entries_.size()) return false;
    return true;
  }
  template <class Archive>
  void fields(Archive& a) {
    a(slot_, entries_);
  }

 private:
  T& add(StackId id, size_t most) {  // an id's first entry
    if (id >= slot_.size()) growTo(slot_, size_t{id} + 1, most);
    uint32_t& slot = slot_[id];
    if (!slot) {
      entries_.emplace_back();
      slot = static_cast<uint32_t>(entries_.size());
    }
    return entries_[slot - 1];
  }
  static inline const T kNone{};
  std::vector<uint32_t> slot_;  // by id: 1 + the index of its entry, 0: none
  std::vector<T> entries_;
};
using StackTable = IdTable<StackStats>;

// Sample mode: what one sampled block of `size` bytes stands for when allocations are sampled by
// bytes with a mean of `mean` bytes between two points. It was sampled with probability
// p = 1 - exp(-size / mean), so `bytes` = size / p is an unbiased estimate of what the allocations
// it stands for hold (Horvitz-Thompson), and `variance` = bytes^2 (1 - p) an unbiased estimate of
// that estimate's variance. Sums of independent blocks add both.
struct SampledBlock {
  uint64_t bytes = 0;
  double variance = 0;
};
SampledBlock weighSample(uint64_t size, uint64_t mean);
// The half-width of the 95% interval of an estimate with this variance (normal approximation).
uint64_t errorBytes(double variance);

// A thread that recorded (format::ThreadName: written before a thread's first record). Threads are
// told apart by (tid, name): the kernel reuses a tid only after the thread ended.
struct ThreadInfo {
  uint64_t tid = 0;
  std::string name;
};

struct TimelineSample {
  uint64_t time_ns;
  uint64_t seq;
  uint64_t rss;
  uint64_t heap;
  uint64_t mmap;
  uint64_t rss_file;  // resident pages of files and shared memory, part of rss (0 before format 5)
  uint64_t pss = 0, uss = 0;  // from smaps_rollup, in the samples that read it (format 9); 0 in the others
  // The highest the heap was since the sample before (blocks made and freed between two samples
  // count); in an aggregate trace, whose samples cannot see between them, the heap's peak.
  uint64_t heap_high = 0;
};

struct Marker {
  uint64_t time_ns;
  uint64_t seq;
  uint32_t kind;
  std::string text;
};

// A phase the program marked (PhaseBegin to PhaseEnd of the same name, nested or repeated), with
// the live heap across it, exact to the event: full event logs only.
struct PhaseWindow {
  std::string name;
  uint64_t begin_ns = 0, end_ns = 0;
  uint64_t heap_at_begin = 0, heap_peak = 0, heap_at_end = 0;  // heap_peak: the highest inside it
  bool ended = false;  // false: the trace stops inside it (figures up to there)
};

// How the process ended, as far as the trace knows. The latest word wins: an exec that failed is
// followed by the exit that came after it, and the wrapper's ProcessEnd comes after everything.
enum class EndState {
  Unknown,     // no word: killed (SIGKILL, a crash) or still running
  ExitCalled,  // exit() or a return from main, code unknown (only the waiting parent has it)
  Exited,      // exit code known: _exit, or `tidemark run` saw it
  Signaled,    // killed by a signal, as `tidemark run` saw it
  Exec,        // replaced itself by another program (its trace is a separate file)
};

struct ProcessEnd {
  EndState state = EndState::Unknown;
  int code = 0;  // exit code or signal number
  uint64_t time_ns = 0;
  std::string program;  // Exec: the program it became
};

// Oddities that a correct trace of a well-behaved program does not have.
struct TraceAnomalies {
  uint64_t unknown_frees = 0;       // free of an address never allocated in the trace
  uint64_t overwritten_allocs = 0;  // allocation at an address that was still live
  uint64_t undefined_stacks = 0;    // a stack that allocated and was never defined
};

// A child of the process ended, as the process saw when it waited for it (format::ChildEnd).
struct ChildEnd {
  uint64_t time_ns = 0, pid = 0;
  bool signaled = false;
  int code = 0;  // exit code or signal number
};

// The limit `tidemark run --memory-limit` ran the process under, and the out-of-memory kill it saw.
struct RunLimit {
  uint64_t bytes = 0;  // 0: none was set by the wrapper
  uint32_t kind = 0;   // format::LimitKind
};
struct OomKill {
  bool seen = false;
  uint64_t time_ns = 0;
  uint32_t evidence = 0;  // format::OomEvidence
  uint64_t usage = 0;     // memory in use at the limit
  uint64_t kills = 0;     // group_oom: how many processes of the run it ended
  bool in_group = false;  // this process was found to be one of them by the run's tree (process_tree.h)
};

// The interpreter's object graph recorded with a scan (format::PythonGraph and what follows it):
// the objects its cycle collector tracks, in address order, and the references their types report.
struct PythonObjectGraph {
  bool present = false;
  std::string problem;  // why there is no graph, when the tracker said so
  struct Type {
    uint64_t address = 0;
    std::string name;
  };
  std::unordered_map<uint64_t, Type> types;  // by type id
  std::vector<uint64_t> addr, refcount;
  std::vector<uint32_t> type;  // type id (below format::kMaxPythonTypeId)
  std::vector<uint8_t> flags;  // format::PythonObjectFlags
  std::vector<std::pair<uint32_t, uint64_t>> references;  // source object index, target address
  struct Name {
    uint8_t kind = 0;  // format::PythonNameKind
    uint64_t holder = 0, address = 0;
    std::string name;
  };
  std::vector<Name> names;  // module globals dicts and what module globals hold
};

// The heap graph of the last conservative scan in the trace (blocks in address order).
struct ScanGraph {
  bool present = false;
  bool complete = false;  // ScanEnd seen: a scan cut by a kill is not used
  uint64_t time_ns = 0, duration_ns = 0, words = 0, root_bytes = 0;
  uint32_t reason = 0;
  std::vector<uint64_t> addr, size;
  std::vector<StackId> stack;
  std::vector<uint8_t> root_kind;  // per block: 0 = not referenced from a root
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  PythonObjectGraph python;
};

// The tracker stopped recording while the process went on (format::StopReason in the header).
struct RecordingStop {
  uint32_t reason = 0;  // format::StopReason; 0: the trace is complete
  uint64_t time_ns = 0;
  bool stopped() const { return reason != 0; }
  // "the trace file could not grow (the disk or the quota is full)", ...
  const char* why() const;
};

// ProcessInfo's cmdline (NUL-separated) as arguments, made printable.
std::vector<std::string> splitCommandLine(std::string_view cmdline);

struct ReplayResult {
  // Identity
  uint64_t pid = 0, ppid = 0;
  std::string exe;
  std::vector<std::string> argv;
  uint64_t cgroup_limit = 0;  // the container's cgroup memory limit seen at start, 0 = none
  uint64_t start_realtime_ns = 0;
  uint64_t sample_interval_ns = 0;
  std::string host;  // where it ran (format 9)

  bool aggregated = false;  // the trace holds per-stack counters, not events
  bool pss_on_grid = false;  // PSS was read on the run's grid of the wall clock (kFlagPssOnGrid)
  // Sample mode: the mean bytes between two sampled allocations; 0 when every allocation is in the
  // trace. Heap figures are then estimates (each sampled block weighed by weighSample).
  uint64_t sample_bytes = 0;
  double heap_variance = 0, heap_peak_variance = 0;  // of heap_live and heap_peak
  RecordingStop stopped;    // recording stopped early: every figure covers only what came before
  ProcessEnd end;
  bool end_from_parent = false;  // `end` is the word of the process that waited for it (a run's tree)
  RunLimit run_limit;
  OomKill oom;
  OomKill group_oom;  // the run's root: the OOM killer ended other processes of the run (workers)
  uint64_t duration_ns = 0;
  uint64_t last_event_time_ns = 0;  // time of the latest sample, marker or exit: where the trace stops

  // Heap (malloc family)
  uint64_t heap_live = 0;
  uint64_t heap_peak = 0;
  uint64_t heap_peak_seq = 0;
  uint64_t heap_peak_time_ns = 0;
  uint64_t allocations = 0, frees = 0, reallocs = 0;
  uint64_t allocated_bytes = 0;
  uint64_t live_blocks = 0;

  // Anonymous mmap
  uint64_t mmap_live = 0, mmap_peak = 0;

  // RSS
  uint64_t rss_peak = 0, rss_peak_time_ns = 0, rss_last = 0;
  uint64_t pss_peak = 0, uss_peak = 0;  // of the samples that read smaps_rollup (format 9)
  std::vector<ChildEnd> child_ends;  // in the order the process reaped them

  TraceAnomalies anomalies;

  StackTable stacks;
  IdTable<StackDef> stack_defs;
  std::map<uint32_t, std::vector<ModuleInfo>> module_maps;  // by generation
  std::vector<uint64_t> module_load_ns;  // when each module map was written (libraries loaded)
  std::map<uint64_t, CodeInfo> code_objects;  // by code id
  std::unordered_map<uint64_t, PythonFrameNode> python_frames;  // by frame id: one per distinct line chain
  InterpreterInfo interpreter;
  std::vector<TimelineSample> timeline;
  // Per-stack live heap bytes over time (full event logs only: has_series).
  SeriesRecorder series;
  // Per-stack bytes allocated so far, on the same bins as `series` (a report's time ranges: what
  // was allocated inside one).
  SeriesRecorder allocated_series;
  // The same per simulated day, when the run marks dates: the axis is the number of dates begun
  // (day 1 from the first date marker), so a bin is one day (two, four... past kMaxBins days).
  SeriesRecorder day_series{1};
  bool has_series = false;
  std::vector<Marker> markers;
  std::vector<PhaseWindow> phases;  // in the order they began
  ScanGraph scan;
  // The first scan that recorded a Python object graph, when a later scan replaced it: what the
  // graph grew from.
  ScanGraph first_python_scan;
  std::vector<std::string> tracker_errors;
  std::vector<std::string> warnings;

  // Per-stack bytes and blocks live at the heap peak.
  uint64_t peakBytes(StackId id) const;
  uint64_t peakBlocks(StackId id) const;
  uint64_t peakBytes(const StackStats& s) const { return s.touched_epoch == peak_epoch ? s.peak_bytes : s.live_bytes; }
  uint64_t peakBlocks(const StackStats& s) const { return s.touched_epoch == peak_epoch ? s.peak_blocks : s.live_blocks; }
  double peakVariance(const StackStats& s) const { return s.touched_epoch == peak_epoch ? s.peak_variance : s.live_variance; }
  uint64_t peak_epoch = 0;

  // The threads that recorded, in the order they began (empty in traces before threads were named).
  std::vector<ThreadInfo> threads;
  // What each stack did in each thread, once a second thread allocated (until then
  // sole_allocating_thread's figures are `stacks`): by thread index << 32 | stack id. A free counts
  // for the thread that allocated the block.
  std::unordered_map<uint64_t, StackStats> thread_stacks;
  uint32_t sole_allocating_thread = 0;
  // A stack's figures in one thread (nullptr: none there, or the trace does not say: aggregated,
  // or written before threads were named).
  const StackStats* threadStack(uint32_t thread, StackId id) const;

  // Wall time of an event, interpolated between the timeline samples around it.
  uint64_t timeAtSeq(uint64_t seq) const;
};

ReplayResult replay(TraceReader& reader);

}  // namespace tidemark
