// Writes records into the trace file. Each thread owns a Stream: a chunk of the file mapped
// MAP_SHARED, filled without any lock. Only taking a new chunk (every 256 KiB of records) is shared.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tidemark/trace_codec.h"

namespace tidemark::preload {

// Lives in initial-exec TLS, so it must be zero-initialized: no member initializers.
struct Stream {
  uint8_t* chunk;  // start of the mapped chunk, nullptr before the first record
  uint8_t* pos;
  uint8_t* end;
  format::ChunkDeltas deltas;  // restart at zero in every chunk
  uint32_t id;
  uint32_t chunk_count;
  uint32_t generation;  // the trace generation this stream writes to (a fork starts a new one)
};

class TraceWriter {
 public:
  // Opens the trace for this process. Returns false (and reports once) when it cannot.
  // flags: FileHeader::flags; sample_bytes: the sample mode's mean (0 in the other modes).
  bool open(const char* pattern, bool is_fork_child, uint64_t interval_ns, uint32_t flags, uint64_t sample_bytes);
  bool active() const { return __atomic_load_n(&active_, __ATOMIC_RELAXED); }
  // Stops recording, silently (the program's output stays its own): the header says when and why,
  // and `tidemark run` or the analyzer tell the user. The target runs on unharmed.
  void stop(format::StopReason why);
  // A thread ends: its stream goes to a pool for the next new thread (its chunk stays mapped and
  // half full), or is unmapped when the pool is full. Bounds mappings and file growth for programs
  // that start a thread per task.
  void releaseStream(Stream& s);
  uint64_t nextSeq() { return __atomic_fetch_add(&seq_, 1, __ATOMIC_RELAXED); }
  // The next number to be handed out, without taking it: places an event among the records.
  uint64_t peekSeq() const { return __atomic_load_n(&seq_, __ATOMIC_RELAXED); }
  uint32_t generation() const { return generation_; }
  uint64_t startNs() const { return start_ns_; }
  // The process whose trace this is: a vfork child shares our memory but is not that process.
  uint64_t pid() const { return pid_; }
  const char* path() const { return path_; }
  // The trace of the image this process was before exec() was there (kept as .pre-exec).
  bool replacedTracedImage() const { return replaced_traced_image_; }

  // Makes room for a record of at most `size` bytes, numbered `seq`, in `s`, taking a new chunk
  // when needed. A thread's first record is preceded by its ThreadName (the same seq), which says
  // from there on whose records the stream holds.
  uint8_t* reserve(Stream& s, size_t size, uint64_t seq) {
    if (__builtin_expect(s.generation == generation_ && s.chunk && static_cast<size_t>(s.end - s.pos) >= size, 1))
      return s.pos;
    return reserveSlow(s, size, seq);
  }
  // Maps the page of per-stack counters with the given index (aggregated mode); nullptr on failure.
  uint8_t* mapAggregatePage(uint32_t page);
  format::AggregateTotals* totals() { return &header_->aggregate; }
  // Raises the header's peaks (read by a run's table of processes while the process runs).
  void notePeaks(uint64_t rss, uint64_t pss) {
    if (!header_) return;
    if (rss > header_->peak_rss) __atomic_store_n(&header_->peak_rss, rss, __ATOMIC_RELAXED);
    if (pss > header_->peak_pss) __atomic_store_n(&header_->peak_pss, pss, __ATOMIC_RELAXED);
  }
  // The latest sample and simulated date, for readers of the header alone (tidemark watch).
  void noteLatest(uint64_t time_ns, uint64_t rss, uint64_t heap) {
    if (!header_) return;
    __atomic_store_n(&header_->last_rss, rss, __ATOMIC_RELAXED);
    __atomic_store_n(&header_->last_heap, heap, __ATOMIC_RELAXED);
    __atomic_store_n(&header_->last_sample_ns, time_ns, __ATOMIC_RELEASE);
  }
  void noteEnded(uint64_t time_ns) {
    if (header_ && !__atomic_load_n(&header_->ended_ns, __ATOMIC_RELAXED))
      __atomic_store_n(&header_->ended_ns, time_ns ? time_ns : 1, __ATOMIC_RELEASE);
  }
  void noteDate(const char* text, size_t len) {
    if (!header_) return;
    char date[sizeof header_->last_date] = {};
    for (size_t i = 0; i < len && i + 1 < sizeof date; ++i) date[i] = text[i];
    for (size_t i = 0; i < sizeof date; ++i) __atomic_store_n(&header_->last_date[i], date[i], __ATOMIC_RELAXED);
  }
  // Forgets everything after a fork, in the child, before open() is called again.
  void resetAfterFork();

  // Chunks made ready ahead for the program's threads by the sampler thread: mapped, their disk
  // space allocated and their pages faulted in for writing, so that the kernel's work of filling a
  // chunk's 64 pages (0.2-0.4 s of the bench workload's 1.3-1.5 s traced run, docs/performance.md)
  // is done on another core and taking a chunk costs a thread no system call. Only for a process
  // that has taken kChunksBeforeReady chunks: a short one never leaves unused chunks behind.
  // The sampler's sleep: waits until `pause` has passed, making chunks ready whenever a thread
  // took one.
  void keepChunksReady(const timespec& pause);
  // At exit: the chunks still unused give their space back to the disk (holes, read as chunks
  // never written) and no more are made ready.
  void releaseReadyChunks();

 // Gives the calling thread (the sampler) a descriptor table of its own (unshare), holding only the
  // trace and `keep`: the program can neither close what it uses nor see what it opens, so a file
  // it opens never races with the program's own open() and dup2() for the lowest numbers. The
  // thread's chunks are mapped through that table from then on. False when the kernel refuses.
  bool usePrivateDescriptors(int keep);

 private:
  uint8_t* reserveSlow(Stream& s, size_t size, uint64_t seq);
  // Writes the calling thread's ThreadName into s, its new stream.
  bool nameThread(Stream& s, uint64_t seq);
  int openFile(const char* path);  // 0 or -errno
  // Makes [offset, offset + len) of the file real disk space (fallocate, else written zeros), so
  // that a store into its mapping can never raise SIGBUS. 0 or -errno.
  int growFile(int fd, long offset, long len);
  // Whether fd_ is still the trace file (a program may close or dup2 over any descriptor); if not,
  // reopens the trace by its path, when that still names the same file.
  bool ownsDescriptor();
  bool isTraceFile(int fd) const;  // fd leads to the trace (same device and inode)
  // The trace's descriptor in the calling thread's descriptor table: the sampler's own, or the
  // program's.
  int& descriptor();
  bool newChunk(Stream& s);
  // Maps a new chunk of the file (its index taken, its space allocated) and gives its offset, or
  // stops recording (with the reason) and returns nullptr.
  void* mapChunk(long& offset);
  void* takeReadyChunk();
  bool writesALot() const { return __atomic_load_n(&header_->chunks_allocated, __ATOMIC_RELAXED) >= kChunksBeforeReady; }

  static constexpr uint32_t kStreamPoolSize = 64;
  static constexpr uint32_t kReadyChunks = 2, kChunksBeforeReady = 8;
  struct ReadyChunk {
    void* chunk;
    long offset;
  };
  ReadyChunk ready_[kReadyChunks] = {};
  uint32_t ready_count_ = 0;
  bool ready_closed_ = false;  // at exit: no more
  uint32_t ready_taken_ = 0;   // futex word: a thread took a ready chunk (the sampler wakes)
  int fd_ = -1;
  // The thread with a descriptor table of its own (the sampler) and the trace's descriptor there.
  int private_tid_ = 0, private_fd_ = -1;
  uint64_t file_dev_ = 0, file_ino_ = 0;
  Stream stream_pool_[kStreamPoolSize] = {};
  uint32_t stream_pool_size_ = 0;
  format::FileHeader* header_ = nullptr;
  uint32_t chunk_size_ = format::kDefaultChunkSize;
  uint64_t seq_ = 1;
  uint64_t start_ns_ = 0;
  uint64_t pid_ = 0;
  uint32_t next_stream_ = 1;
  uint32_t generation_ = 1;
  bool active_ = false;
  char path_[4096] = {};
  bool replaced_traced_image_ = false;
};

// Constant-initialized: no constructor runs at load time, no guard on access.
extern TraceWriter g_trace_writer;
inline TraceWriter& writer() { return g_trace_writer; }

// Writes one record (trace_records.h) into the thread's stream. False when recording has stopped.
template <class T>
bool writeRecord(Stream& s, uint64_t seq, const T& record) {
  uint8_t* start = writer().reserve(s, format::recordBound(record), seq);
  if (!start) return false;
  format::RecordEncoder<T> encoder(start, s.deltas, seq, record);
  s.pos = encoder.end();
  format::publishRecord(start, T::kType);
  return true;
}

// A record with repeated elements: exactly the count its header declares must be added before
// commit(). Nothing is visible to a reader until commit().
template <class T>
class ElementRecordWriter {
 public:
  ElementRecordWriter(Stream& s, uint64_t seq, const T& header)
      : stream_(s),
        start_(writer().reserve(s, format::recordBound(header, header.*T::kCount), seq)),
        encoder_(start_, s.deltas, seq, header) {}
  bool ok() const { return start_ != nullptr; }
  void add(const typename T::Element& element) {
    if (start_) encoder_.add(element);
  }
  void commit() {
    if (!start_) return;
    stream_.pos = encoder_.end();
    format::publishRecord(start_, T::kType);
  }

 private:
  Stream& stream_;
  uint8_t* start_;
  format::RecordEncoder<T> encoder_;
};

}  // namespace tidemark::preload
