// Reads a trace file: validates the header, finds every stream's chunks, and hands out records
// merged across streams in seq order (the order in which the events happened).
#pragma once

#include <cassert>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tidemark/trace_codec.h"

namespace tidemark {

// A decoded record of type T: its fields, and its repeated elements when it has them.
template <class T>
struct WithElements : T {
  std::vector<typename T::Element> elements;
};
template <class T>
using Decoded = std::conditional_t<format::HasElements<T>, WithElements<T>, T>;

namespace detail {
struct NoRecord {};
#define TIDEMARK_DECODED_TYPE(name, code) Decoded<format::name>,
using RecordPayloads = std::tuple<TIDEMARK_RECORD_TYPES(TIDEMARK_DECODED_TYPE) NoRecord>;
#undef TIDEMARK_DECODED_TYPE
}  // namespace detail

// One decoded record: its type, its place in the merged order and the stream (thread) that wrote
// it, and its fields as the typed struct of trace_records.h. Reused from one record to the next.
struct Record {
  format::RecordType type = format::RecordType::End;
  uint64_t seq = 0;
  uint32_t stream = 0;

  // The fields of this record; T must be the struct of `type`.
  template <class T>
  const Decoded<T>& get() const {
    assert(T::kType == type);
    return std::get<Decoded<T>>(payloads_);
  }
  template <class T>
  Decoded<T>& slot() {
    return std::get<Decoded<T>>(payloads_);
  }

 private:
  detail::RecordPayloads payloads_;
};

class TraceReader {
 public:
  // Throws Error with a one-line reason for a missing file, a wrong magic, a newer version, or a
  // header cut short. A trace cut inside its chunks is readable: see warnings().
  explicit TraceReader(const std::string& path);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const format::FileHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  uint64_t fileSize() const { return size_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  // What tells this file's contents apart from another's or from its own later: its device and
  // inode, when its data last changed (mtime, which a program can set back) and when the file last
  // changed in any way (ctime, which it cannot). Zeros when fstat fails.
  struct Stamp {
    uint64_t device = 0, inode = 0, modified_ns = 0, changed_ns = 0;
    uint32_t mode = 0;  // permission bits
  };
  Stamp stamp() const;

  // Aggregated mode: process totals from the header and the per-stack counters (by stack id).
  bool aggregated() const { return header_.flags & format::kFlagAggregate; }
  bool pssOnGrid() const { return header_.flags & format::kFlagPssOnGrid; }
  // Sample mode: the mean bytes between two sampled allocations (0: every allocation recorded).
  uint64_t sampleBytes() const { return header_.flags & format::kFlagSampled ? header_.sample_bytes : 0; }
  std::vector<format::StackCounters> stackCounters() const;

  // Calls fn for every record, in seq order. Throws Error on a corrupt record.
  void forEach(const std::function<void(const Record&)>& fn);
  // Called by forEach's fn: no record after this one.
  void stopReading() { stop_ = true; }

  // Reads length bytes at offset (zeros past the end of a file cut meanwhile); false on an I/O error.
  bool readAt(uint64_t offset, void* out, size_t length) const;

 private:
  struct Chunk {
    uint64_t offset;
    uint64_t length;  // bytes present in the file (less than chunk_size if the file was cut)
    uint32_t stream;
    uint32_t stream_chunk;
  };
  std::string path_;
  bool stop_ = false;
  int fd_ = -1;
  uint64_t size_ = 0;
  format::FileHeader header_{};
  std::vector<Chunk> chunks_;  // record chunks, sorted by (stream, stream_chunk)
  std::vector<Chunk> aggregate_chunks_;
  std::vector<std::string> warnings_;
};

}  // namespace tidemark
