// Reads a trace file: validates the header, finds every stream's chunks, and hands out records
// merged across streams in seq order (the order in which the events happened).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/trace_format.h"

namespace tidemark {

inline constexpr uint64_t kInterpretedFrame = 1ull << 63;

// One decoded record. Which fields are set depends on `type` (see trace_format.h).
struct Record {
  format::RecordType type = format::RecordType::End;
  uint64_t seq = 0;
  uint32_t stream = 0;
  uint64_t stack = 0;  // stack id, or module-map / stack-def generation where noted
  uint64_t addr = 0;
  uint64_t addr2 = 0;  // new address (Realloc, Mremap)
  uint64_t size = 0;
  uint64_t size2 = 0;  // new size (Mremap)
  uint64_t a = 0, b = 0, c = 0;  // small fields: times, pids, kinds, ids, counts
  int64_t bias = 0;
  std::string_view text, text2;
  // StackDef, leaf first: native return addresses, or interpreted frames marked with
  // kInterpretedFrame | code id << 24 | line.
  std::vector<uint64_t> frames;
  std::vector<uint64_t> segments;  // Module: vaddr, memsz pairs
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

  // Aggregated mode: process totals from the header and the per-stack counters (by stack id).
  bool aggregated() const { return header_.flags & format::kFlagAggregate; }
  std::vector<format::StackCounters> stackCounters() const;

  // Calls fn for every record, in seq order. Throws Error on a corrupt record.
  void forEach(const std::function<void(const Record&)>& fn);

 private:
  struct Chunk {
    uint64_t offset;
    uint64_t length;  // bytes present in the file (less than chunk_size if the file was cut)
    uint32_t stream;
    uint32_t stream_chunk;
  };
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  format::FileHeader header_{};
  std::vector<Chunk> chunks_;  // record chunks, sorted by (stream, stream_chunk)
  std::vector<Chunk> aggregate_chunks_;
  std::vector<std::string> warnings_;
};

}  // namespace tidemark
