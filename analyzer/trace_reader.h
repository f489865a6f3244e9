// Reads a trace file: validates the header, finds every stream's chunks, and hands out records
// merged across streams in seq order (the order in which the events happened).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "record.h"
#include "tidemark/trace_codec.h"

namespace tidemark {

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
  // The bytes of the header and the record chunks as written: a packed trace's size before packing.
  uint64_t recordBytes() const;
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

  bool packed() const { return header_.flags & format::kFlagPacked; }
  static constexpr uint32_t kNotPacked = ~0u;
  // A chunk of records. In a packed trace, offset is where its body starts in its pack's
  // decompressed body, and position its place among the pack's chunks.
  struct Chunk {
    uint64_t offset;
    uint64_t length;  // the chunk's bytes (less than chunk_size if the file was cut)
    uint32_t stream;
    uint32_t stream_chunk;
    uint32_t pack = kNotPacked;
    uint32_t position = 0;
    uint32_t tid = 0;  // a packed chunk's header's (a chunk read from the file has its own)
    format::PackEncoding encoding = format::PackEncoding::Raw;
    uint64_t body_bytes = 0;
  };
  struct Pack {
    uint64_t payload_offset, payload_bytes, body_bytes;
  };
  // The record chunks, sorted by (stream, stream_chunk); the packs of a packed trace.
  const std::vector<Chunk>& chunks() const { return chunks_; }
  const std::vector<Pack>& packs() const { return packs_; }
  // Aggregate mode: the chunks of per-stack counters (stream_chunk: the page of ids they hold).
  const std::vector<Chunk>& aggregateChunks() const { return aggregate_chunks_; }
  // A pack's body, decompressed into `out` (`compressed`: scratch); throws Error when it cannot be
  // read or does not decompress to its size.
  void packBody(uint32_t pack, std::vector<uint8_t>& compressed, std::vector<uint8_t>& out) const;

 private:
  void findChunks();
  bool neverWritten(uint64_t chunk_offset) const;
  void findPacks();
  [[noreturn]] void fail(const std::string& why);

  std::string path_;
  bool stop_ = false;
  int fd_ = -1;
  uint64_t size_ = 0;
  format::FileHeader header_{};
  std::vector<Chunk> chunks_;  // record chunks, sorted by (stream, stream_chunk)
  std::vector<Chunk> aggregate_chunks_;
  std::vector<Pack> packs_;
  std::vector<std::string> warnings_;
};

}  // namespace tidemark
