// The tidemark trace format: the one definition shared by the writer (preload/), the reader
// (analyzer/) and the tests. Documented in docs/trace-format.md; change both together and bump
// kVersion when a reader of the previous version could misread the new one.
//
// This header is included inside the target process: plain C++ only, no allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidemark::format {

// File layout
//
//   +---------------------------+  offset 0
//   | FileHeader (kHeaderSize)  |
//   +---------------------------+  kHeaderSize
//   | chunk 0 (chunk_size)      |  each chunk belongs to one writer stream (one thread)
//   | chunk 1                   |
//   | ...                       |
//   +---------------------------+
//
// The file is a MAP_SHARED mapping in the writer: every record is in the kernel's page cache the
// moment it is written, so a trace survives kill -9 of the target. Unwritten space is zero.
inline constexpr char kMagic[8] = {'T', 'M', 'T', 'R', 'A', 'C', 'E', '\0'};
inline constexpr uint32_t kVersion = 3;  // 2: scan records (18-22); 3: memory limit and OOM kill (23-24)
inline constexpr uint32_t kHeaderSize = 4096;
inline constexpr uint32_t kChunkMagic = 0x4b434d54;  // "TMCK" little-endian
inline constexpr uint32_t kDefaultChunkSize = 256 * 1024;
inline constexpr uint32_t kMaxFrames = 128;
inline constexpr uint32_t kMaxRecordSize = 16 * 1024;  // a record never spans chunks

// Aggregated mode: instead of one record per event, the tracker keeps per-stack counters and
// process totals in the file itself (so they survive kill -9 too). The trace grows with the number
// of distinct stacks and timeline samples, not with the number of allocations.
struct AggregateTotals {
  uint64_t heap_live;
  uint64_t heap_peak;
  uint64_t peak_epoch;   // bumped at every new heap peak (see StackCounters)
  uint64_t peak_seq;     // sequence number of the event that reached the peak
  uint64_t allocations;
  uint64_t frees;
  uint64_t reallocs;
  uint64_t allocated_bytes;
  uint64_t unknown_frees;
  uint64_t mmap_live;
  uint64_t mmap_peak;
  uint64_t max_stack_id;
};

// One per stack id, 64 bytes, in aggregate chunks (stream kAggregateStream, stream_chunk = page).
// Value at the heap peak: peak_* when touched_epoch == the final peak_epoch, else live_*.
struct StackCounters {
  uint64_t live_bytes;
  uint64_t live_blocks;
  uint64_t peak_bytes;
  uint64_t peak_blocks;
  uint64_t touched_epoch;
  uint64_t alloc_count;
  uint64_t alloc_bytes;
  uint64_t mmap_bytes;
};
static_assert(sizeof(StackCounters) == 64);
inline constexpr uint32_t kAggregateStream = 0xfffffffe;
inline constexpr uint32_t kWrapperStream = 0xffffffff;
inline constexpr uint32_t kFlagAggregate = 1;
// An aggregate chunk: ChunkHeader, padding to 64 bytes, then counters for ids
// [page * countersPerChunk, (page + 1) * countersPerChunk).
inline constexpr uint32_t countersPerChunk(uint32_t chunk_size) { return (chunk_size - 64) / 64; }

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint32_t chunk_size;
  uint32_t flags;                // kFlagAggregate for an aggregated trace
  uint64_t pid;
  uint64_t ppid;
  uint64_t start_realtime_ns;    // CLOCK_REALTIME at start
  uint64_t start_monotonic_ns;   // CLOCK_MONOTONIC at start; record times are relative to it
  uint64_t chunks_allocated;     // updated atomically by writers; the file holds at least this many
  uint64_t sample_interval_ns;
  AggregateTotals aggregate;     // aggregated mode only; all zero in a full event log
};
static_assert(sizeof(FileHeader) <= kHeaderSize);

struct ChunkHeader {
  uint32_t magic;         // kChunkMagic; 0 = allocated but never written
  uint32_t stream_id;     // one stream per writing thread (and one for the wrapper)
  uint32_t stream_chunk;  // index of this chunk within its stream: 0, 1, 2, ...
  uint32_t tid;           // kernel thread id of the writer, for display
};
static_assert(sizeof(ChunkHeader) == 16);

// Records follow the chunk header back to back:
//
//   +------+----------------+---------...
//   | type | seq delta (v)  | payload (fields below, v = LEB128 varint, z = zigzag varint)
//   +------+----------------+---------...
//
// `type` is written last, after the payload, so a record whose type byte is non-zero is complete;
// a zero type byte ends the chunk. seq is a process-wide counter: merging all streams by seq gives
// the order in which the events happened (a free is numbered before the memory is released, an
// allocation after it was obtained, so address reuse across threads orders correctly).
// Delta state (previous seq, previous address, previous ip) restarts at zero in every chunk, so
// each chunk decodes on its own.
enum class RecordType : uint8_t {
  End = 0,
  // v pid, v ppid, s exe, s cmdline (NUL-separated argv), v cgroup memory limit (0 = none)
  ProcessInfo = 1,
  // v generation, v module count: a full module map follows as Module records
  ModuleMapBegin = 2,
  // v generation, z load bias, s path, s build-id (raw bytes), v segment count,
  // then per PT_LOAD segment: v vaddr, v memsz (relative to the bias)
  Module = 3,
  // v stack id, v module-map generation, v frame count, frames (leaf first):
  //   native frame:      v (zigzag(ip - previous ip) << 1)
  //   interpreted frame: v (code id << 1 | 1), v line
  // Every native ip is a return address (the preload's own frames are dropped): symbolize ip - 1.
  StackDef = 4,
  Alloc = 5,    // v stack id, z address delta, v size
  Free = 6,     // z address delta
  Realloc = 7,  // v stack id, z old address delta, z new address delta, v size
  Mmap = 8,     // v stack id, z address delta, v size          (anonymous mappings only)
  Munmap = 9,   // z address delta, v size
  Mremap = 10,  // v stack id, z old address delta, v old size, z new address delta, v new size
  Sample = 11,  // v time ns since start, v rss bytes, v heap bytes, v mmap bytes (both 0 in a full log)
  Marker = 12,  // v time ns, v marker kind, s text
  CodeObject = 13,  // v code id, s function, s file, v first line   (interpreted code, reserved)
  Exit = 14,        // v time ns: the process called exit() / returned from main
  ProcessEnd = 15,  // v time ns, v status kind (EndKind), v code: written by the `tidemark run` wrapper
  TrackerError = 16,  // v time ns, s message: the tracker stopped recording for the reason given
  ThreadName = 17,    // v tid, s name   (reserved)
  // The heap graph from a conservative scan (at exit, or on the scan signal). Blocks are numbered
  // in address order; every index below refers to that numbering.
  ScanBegin = 18,   // v time ns, v live block count, v reason (ScanReason)
  ScanBlocks = 19,  // v first index, v n, n x (v address delta from the previous, v size, v stack id)
  ScanRoots = 20,   // v n, n x (v index delta from the previous, v root kind (RootKind))
  ScanEdges = 21,   // v n, n x (z source delta from the previous source, z target - source)
  ScanEnd = 22,     // v time ns, v words scanned, v root bytes scanned, v duration ns
  // Written by `tidemark run --memory-limit`: the limit it ran the process under and how (LimitKind).
  MemoryLimit = 23,  // v limit bytes, v kind
  // Written by `tidemark run` when the out-of-memory killer ended the process: when, the evidence
  // (OomEvidence), and the memory in use at the limit (the cgroup's peak usage, or the RSS that
  // tidemark's watchdog saw).
  OomKill = 24,  // v time ns, v evidence, v usage bytes
  Count
};
// s = v length followed by that many bytes.

enum class EndKind : uint8_t { Exited = 1, Signaled = 2 };

enum class ScanReason : uint8_t { Exit = 0, Signal = 1 };

enum class LimitKind : uint8_t { CgroupV2 = 1, CgroupV1 = 2, Watchdog = 3 };
enum class OomEvidence : uint8_t { CgroupEvents = 1, CgroupOomControl = 2, Watchdog = 3 };
// Where the pointer that makes a block reachable was found.
enum class RootKind : uint8_t { Stack = 1, Data = 2, Other = 3 };

enum class MarkerKind : uint8_t { Text = 0, SimulationDate = 1, PhaseBegin = 2, PhaseEnd = 3 };

inline const char* recordTypeName(RecordType t) {
  switch (t) {
    case RecordType::End: return "End";
    case RecordType::ProcessInfo: return "ProcessInfo";
    case RecordType::ModuleMapBegin: return "ModuleMapBegin";
    case RecordType::Module: return "Module";
    case RecordType::StackDef: return "StackDef";
    case RecordType::Alloc: return "Alloc";
    case RecordType::Free: return "Free";
    case RecordType::Realloc: return "Realloc";
    case RecordType::Mmap: return "Mmap";
    case RecordType::Munmap: return "Munmap";
    case RecordType::Mremap: return "Mremap";
    case RecordType::Sample: return "Sample";
    case RecordType::Marker: return "Marker";
    case RecordType::CodeObject: return "CodeObject";
    case RecordType::Exit: return "Exit";
    case RecordType::ProcessEnd: return "ProcessEnd";
    case RecordType::TrackerError: return "TrackerError";
    case RecordType::ThreadName: return "ThreadName";
    case RecordType::ScanBegin: return "ScanBegin";
    case RecordType::ScanBlocks: return "ScanBlocks";
    case RecordType::ScanRoots: return "ScanRoots";
    case RecordType::ScanEdges: return "ScanEdges";
    case RecordType::ScanEnd: return "ScanEnd";
    case RecordType::MemoryLimit: return "MemoryLimit";
    case RecordType::OomKill: return "OomKill";
    case RecordType::Count: break;
  }
  return "?";
}

// ---- varint helpers, used by both sides --------------------------------------------------------

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Writes v at p, returns the byte after it. At most 10 bytes.
inline uint8_t* putVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Reads a varint from [p, end). Returns nullptr when the input ends or the varint is over-long.
inline const uint8_t* getVarint(const uint8_t* p, const uint8_t* end, uint64_t& out) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) return nullptr;
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      out = v;
      return p;
    }
  }
  return nullptr;
}

}  // namespace tidemark::format
