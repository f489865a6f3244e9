// The tidemark trace format: the one definition shared by the writer (preload/), the reader
// (analyzer/) and the tests. This header: the file layout and the values of enumerated fields;
// trace_records.h: every record; trace_codec.h: their encoding. Documented in docs/trace-format.md; change both together and bump
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
// 2: scan records (18-22); 3: memory limit and OOM kill (23-24); 4: stop reason in the header, Ending (25);
// 5: Sample's rss_file; 6: Python: CodeObject (13), Interpreter (26), PythonFrame (27), PythonStack (28);
// 7: the Python object graph of a scan: PythonGraph (29), PythonType (30), PythonObjects (31), PythonReferences (32)
// 8: module globals' names in the object graph: PythonName (33)
// 9: process trees: the host and peak RSS/PSS in the header, Sample's pss and uss, ChildEnd (34)
// 10: sample mode: kFlagSampled and the header's sample_bytes (Alloc and Free records of the sampled
//     blocks only: a reader of version 9 would take them for every block)
// 11: packed traces (kFlagPacked): the chunks, re-encoded and compressed by `tidemark pack` or the
//     wrapper once the process has ended, follow the header as packs (PackHeader)
// 12: aggregate mode's per-stack timelines: StackLevels (35)
inline constexpr uint32_t kVersion = 12;
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
// Sample mode: Alloc records are the allocations sampled by bytes (a Poisson process of mean
// FileHeader::sample_bytes), Free records the releases of those blocks only.
inline constexpr uint32_t kFlagSampled = 2;
// PSS is read on a grid of the wall clock shared by every process of a run (multiples of
// 100 ms x 2^k; a process's first reading is taken at its start), so that the readings of a tree's
// processes at one grid point can be added up.
inline constexpr uint32_t kFlagPssOnGrid = 4;
// A packed trace (version 11): after the header come packs, not chunks (PackHeader below). Its
// records are the same as before packing, byte for byte; only how they are stored differs.
inline constexpr uint32_t kFlagPacked = 8;
// The tracker's own anonymous memory in the traced process, counted in its RSS though it is not the
// program's: at most kTrackerBytesPerThread for each thread that allocates (its stack cache,
// preload/stack_cache.h) and about kTrackerBytesPerProcess besides (the stack depot's first table
// and arena, the sampler thread's stack); in aggregate mode and with the heap scan, its table of
// live blocks too (preload/aggregator.h): kTrackerBlockTableBytes at first, and at most
// kTrackerBytesPerLiveBlock for each block live at once (24-byte slots, at most half of them used,
// a quarter just after the table doubled). The analysis allows for it before it calls RSS growth
// the program's (findings.cpp).
inline constexpr uint64_t kTrackerBytesPerThread = 1280u << 10;  // 1.25 MiB
inline constexpr uint64_t kTrackerBytesPerProcess = 2u << 20;
inline constexpr uint64_t kTrackerBlockTableBytes = 1536u << 10;  // 1.5 MiB
inline constexpr uint64_t kTrackerBytesPerLiveBlock = 96;
inline constexpr uint64_t kDefaultSampleBytes = 512 * 1024;  // as jemalloc's default (lg_prof_sample 19)
// An aggregate chunk: ChunkHeader, padding to 64 bytes, then counters for ids
// [page * countersPerChunk, (page + 1) * countersPerChunk).
inline constexpr uint32_t countersPerChunk(uint32_t chunk_size) { return (chunk_size - 64) / 64; }

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint32_t chunk_size;
  uint32_t flags;                // kFlagAggregate or kFlagSampled, and kFlagPssOnGrid
  uint64_t pid;
  uint64_t ppid;
  uint64_t start_realtime_ns;    // CLOCK_REALTIME at start
  uint64_t start_monotonic_ns;   // CLOCK_MONOTONIC at start; record times are relative to it
  uint64_t chunks_allocated;     // updated atomically by writers; the file holds at least this many
  uint64_t sample_interval_ns;
  AggregateTotals aggregate;     // aggregated mode only; all zero in a full event log
  // Version 4: when the tracker stopped recording before the process ended, and why (StopReason).
  // Kept in the header because a tracker that cannot grow the file cannot write a record either.
  uint64_t stopped_ns;           // since start_monotonic_ns; 0 with stop_reason None
  uint32_t stop_reason;
  uint32_t reserved;
  // Version 9: what a run's table of processes needs without reading the records. The peaks are
  // kept up to date by the sampler while the process runs (0: not sampled).
  char host[64];                 // the host name (uname's nodename), NUL-terminated
  uint64_t peak_rss;             // largest RSS sampled
  uint64_t peak_pss;             // largest PSS read from /proc/self/smaps_rollup
  // The latest of the process, kept current by the sampler for `tidemark watch` and the wrapper's
  // status line, which read the header alone. Added within version 9 (a reader of the records
  // never needs them): zero in traces written before them.
  uint64_t last_sample_ns;       // since start_monotonic_ns, of the latest sample; 0 before the first
  uint64_t last_rss;
  uint64_t last_heap;            // aggregate mode: heap blocks and anonymous mappings; 0 in a full event log,
                                 // whose live heap is known only to a reader of its records
  char last_date[16];            // the latest simulated date marked (NUL-terminated); empty without
  uint64_t ended_ns;             // since start_monotonic_ns: the image ended (exit, _exit, exec, or its
                                 // end recorded by the wrapper); 0 while it runs or when killed unseen
  // Version 10: sample mode (kFlagSampled): the mean bytes between two sampled allocations.
  uint64_t sample_bytes;
};
static_assert(sizeof(FileHeader) <= kHeaderSize);

struct ChunkHeader {
  uint32_t magic;         // kChunkMagic; 0 = allocated but never written
  uint32_t stream_id;     // one stream per writing thread (and one for the wrapper)
  uint32_t stream_chunk;  // index of this chunk within its stream: 0, 1, 2, ...
  uint32_t tid;           // kernel thread id of the writer, for display
};
static_assert(sizeof(ChunkHeader) == 16);

// A packed trace: packs one after another from header_size on. A pack holds consecutive chunks of
// one stream: this header, chunk_count PackedChunk entries, then payload_bytes of zstd data that
// decompress to body_bytes, each chunk's body at its body_offset. A body is the chunk's bytes
// after its ChunkHeader, either as they were (PackEncoding::Raw) or with each Alloc's and Free's
// address named by the pack's address model (analyzer/chunk_packing.h), which starts afresh in every
// pack, by its first rules (PackEncoding::Modeled), its second (Modeled2, written in session 19 and
// since) or its third (Modeled3: a Free's block by its stack, since session 22; one pack's modeled
// chunks all follow one of the last two); what follows the last record (zeros) is left out of any
// of them.
inline constexpr uint32_t kPackMagic = 0x4b504d54;  // "TMPK" little-endian
inline constexpr uint32_t kMaxChunksPerPack = 64;
struct PackHeader {
  uint32_t magic;
  uint32_t chunk_count;
  uint64_t payload_bytes;
  uint64_t body_bytes;
};
static_assert(sizeof(PackHeader) == 24);
enum class PackEncoding : uint32_t { Raw = 0, Modeled = 1, Modeled2 = 2, Modeled3 = 3 };
struct PackedChunk {
  ChunkHeader header;    // as the chunk had it
  uint32_t length;       // the chunk's bytes in the trace before packing, its header included
  uint32_t encoding;     // PackEncoding
  uint64_t body_offset;  // within the pack's decompressed body
  uint64_t body_bytes;
};
static_assert(sizeof(PackedChunk) == 40);

// Records follow the chunk header back to back: trace_records.h defines each one, trace_codec.h
// how they are encoded.

enum class EndKind : uint8_t { Exited = 1, Signaled = 2 };

// How a process ended by itself without returning from main or calling exit() (Ending records).
enum class EndingKind : uint8_t { FastExit = 1, Exec = 2 };

// Why the tracker stopped recording while the process went on (FileHeader::stop_reason).
enum class StopReason : uint32_t {
  None = 0,
  FileFull = 1,        // the trace file could not grow: the disk or the quota is full
  MapFailed = 2,       // the trace file could not be mapped (no address space, or too many mappings)
  DescriptorLost = 3,  // the program closed or replaced the trace's file descriptor
  LockedAtFork = 4,    // forked while a thread unwound or walked the loaded modules, past the wait (preload/fork_gate.h)
};

enum class ScanReason : uint8_t { Exit = 0, Signal = 1, Request = 2 };  // Request: tidemark_scan_v1 (tidemark.scan())

enum class LimitKind : uint8_t { CgroupV2 = 1, CgroupV1 = 2, Watchdog = 3 };
enum class OomEvidence : uint8_t { CgroupEvents = 1, CgroupOomControl = 2, Watchdog = 3 };
// Where the pointer that makes a block reachable was found.
enum class RootKind : uint8_t { Stack = 1, Data = 2, Other = 3 };

// format::PythonObject's flags.
enum PythonObjectFlags : uint64_t {
  kPythonImmortal = 1,    // 3.12+: an immortal object (its count is not kept)
  kPythonPermanent = 2,   // in the permanent generation (gc.freeze): never collected
  kPythonClassEdge = 4,   // the first reference to its own type is the instance's class (not an attribute)
};
// A graph's type ids (format::PythonType, PythonObject) are below this.
inline constexpr uint64_t kMaxPythonTypeId = uint64_t{1} << 20;

// format::PythonName's kinds.
enum class PythonNameKind : uint8_t {
  Module = 1,  // address is the globals dict of the module `holder`; name is the module's name
  Global = 2,  // address is held by the globals dict `holder` under the key `name`
};

enum class MarkerKind : uint8_t { Text = 0, SimulationDate = 1, PhaseBegin = 2, PhaseEnd = 3 };

// CodeObject::line_table_format: how to read its line_table.
enum class LineTableFormat : uint8_t {
  None = 0,
  CPython311 = 1,  // co_linetable of CPython 3.11 to 3.13 (the "location table" of Objects/locations.md)
};
// Interpreter::flags
enum InterpreterFlags : uint8_t {
  kInterpreterFrames = 1,      // stacks carry its frames (PythonStack)
  kInterpreterAllocator = 2,   // its own allocator (pymalloc's object and mem domains) is tracked
  kInterpreterFoundLate = 4,   // found after the start (loaded with dlopen): earlier stacks are native
  kInterpreterFinalizing = 8,  // it has begun to finalize (at exit): its frames are not read from here on
};

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
