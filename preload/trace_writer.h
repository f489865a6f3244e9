// Writes records into the trace file. Each thread owns a Stream: a chunk of the file mapped
// MAP_SHARED, filled without any lock. Only taking a new chunk (every 256 KiB of records) is shared.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tidemark/trace_format.h"

namespace tidemark::preload {

// Lives in initial-exec TLS, so it must be zero-initialized: no member initializers.
struct Stream {
  uint8_t* chunk;  // start of the mapped chunk, nullptr before the first record
  uint8_t* pos;
  uint8_t* end;
  uint64_t prev_seq;
  uint64_t prev_addr;
  uint32_t id;
  uint32_t chunk_count;
  uint32_t generation;  // the trace generation this stream writes to (a fork starts a new one)
};

// A record being built: payload is written at `p`, then commit() publishes it.
class RecordBuilder {
 public:
  // max_size bounds what the caller will write (type, seq and payload).
  RecordBuilder(Stream& s, format::RecordType type, uint64_t seq, size_t max_size = format::kMaxRecordSize);
  bool ok() const { return start_ != nullptr; }
  void v(uint64_t x) { p_ = format::putVarint(p_, x); }
  void z(int64_t x) { p_ = format::putVarint(p_, format::zigzag(x)); }
  void addr(uint64_t a) {
    z(static_cast<int64_t>(a - stream_.prev_addr));
    stream_.prev_addr = a;
  }
  void bytes(const void* data, size_t n);  // v length + bytes; n must fit the record budget
  void commit();

 private:
  Stream& stream_;
  format::RecordType type_;
  uint8_t* start_ = nullptr;
  uint8_t* p_ = nullptr;
  uint64_t seq_;
};

class TraceWriter {
 public:
  // Opens the trace for this process. Returns false (and reports once) when it cannot.
  bool open(const char* pattern, bool is_fork_child, uint64_t interval_ns, bool aggregate);
  bool active() const { return __atomic_load_n(&active_, __ATOMIC_RELAXED); }
  // Stops recording: called when the file cannot grow (disk full) so the target keeps running.
  void deactivate(const char* why);
  uint64_t nextSeq() { return __atomic_fetch_add(&seq_, 1, __ATOMIC_RELAXED); }
  // The next number to be handed out, without taking it: places an event among the records.
  uint64_t peekSeq() const { return __atomic_load_n(&seq_, __ATOMIC_RELAXED); }
  uint32_t generation() const { return generation_; }
  uint64_t startNs() const { return start_ns_; }
  const char* path() const { return path_; }

  // Makes room for a record of at most `size` bytes in `s`, taking a new chunk when needed.
  uint8_t* reserve(Stream& s, size_t size) {
    if (__builtin_expect(s.generation == generation_ && s.chunk && static_cast<size_t>(s.end - s.pos) >= size, 1))
      return s.pos;
    return reserveSlow(s, size);
  }
  // Maps the page of per-stack counters with the given index (aggregated mode); nullptr on failure.
  uint8_t* mapAggregatePage(uint32_t page);
  format::AggregateTotals* totals() { return &header_->aggregate; }
  // Forgets everything after a fork, in the child, before open() is called again.
  void resetAfterFork();

 private:
  uint8_t* reserveSlow(Stream& s, size_t size);
  int openFile(const char* path);  // 0 or -errno
  bool newChunk(Stream& s);

  int fd_ = -1;
  format::FileHeader* header_ = nullptr;
  uint32_t chunk_size_ = format::kDefaultChunkSize;
  uint64_t seq_ = 1;
  uint64_t start_ns_ = 0;
  uint32_t next_stream_ = 1;
  uint32_t generation_ = 1;
  bool active_ = false;
  char path_[4096] = {};
};

// Constant-initialized: no constructor runs at load time, no guard on access.
extern TraceWriter g_trace_writer;
inline TraceWriter& writer() { return g_trace_writer; }

inline RecordBuilder::RecordBuilder(Stream& s, format::RecordType type, uint64_t seq, size_t max_size)
    : stream_(s), type_(type), seq_(seq) {
  start_ = writer().reserve(s, max_size);
  if (!start_) return;
  p_ = start_ + 1;
  z(static_cast<int64_t>(seq - s.prev_seq));
}

inline void RecordBuilder::commit() {
  if (!start_) return;
  stream_.prev_seq = seq_;
  stream_.pos = p_;
  // The type byte goes last: a reader that sees it non-zero sees the whole record.
  __atomic_store_n(start_, static_cast<uint8_t>(type_), __ATOMIC_RELEASE);
}

}  // namespace tidemark::preload
