// Builds trace files record by record for unit and golden tests, with the preload's own encoder
// (trace_codec.h), so the reader and replay can be tested on exactly known events.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tidemark/trace_codec.h"

namespace tmtest {

class TraceBuilder {
 public:
  explicit TraceBuilder(uint32_t chunk_size = 4096) : chunk_size_(chunk_size) {}

  TraceBuilder& onStream(uint32_t stream) {
    current_ = stream;
    return *this;
  }

  // Any record of trace_records.h, with its elements when it has them.
  template <class T>
  TraceBuilder& record(uint64_t seq, const T& rec) {
    return record(seq, rec, std::vector<typename ElementOf<T>::type>{});
  }
  template <class T, class E>
  TraceBuilder& record(uint64_t seq, const T& rec, const std::vector<E>& elements) {
    size_t bound = tidemark::format::recordBound(rec, elements.size());
    StreamState& s = streamFor(bound);
    std::vector<uint8_t>& chunk = s.chunks.back();
    size_t at = chunk.size();
    chunk.resize(at + bound);
    tidemark::format::RecordEncoder<T> encoder(chunk.data() + at, s.deltas, seq, rec);
    if constexpr (tidemark::format::HasElements<T>)
      for (const E& e : elements) encoder.add(e);
    chunk[at] = static_cast<uint8_t>(T::kType);
    chunk.resize(static_cast<size_t>(encoder.end() - chunk.data()));
    return *this;
  }

  TraceBuilder& processInfo(uint64_t seq, uint64_t pid, const std::string& exe, const std::string& cmdline);
  TraceBuilder& stackDef(uint64_t seq, uint32_t id, const std::vector<uint64_t>& frames);
  TraceBuilder& alloc(uint64_t seq, uint32_t stack, uint64_t addr, uint64_t size);
  TraceBuilder& free(uint64_t seq, uint64_t addr);
  TraceBuilder& realloc(uint64_t seq, uint32_t stack, uint64_t old_addr, uint64_t new_addr, uint64_t size);
  TraceBuilder& mmap(uint64_t seq, uint32_t stack, uint64_t addr, uint64_t size);
  TraceBuilder& munmap(uint64_t seq, uint64_t addr, uint64_t size);
  TraceBuilder& sample(uint64_t seq, uint64_t time_ns, uint64_t rss);
  TraceBuilder& exit(uint64_t seq, uint64_t time_ns);

  // Makes it an aggregated trace: the header's totals and the per-stack counters (by stack id)
  // that the tracker keeps in aggregate chunks.
  TraceBuilder& aggregate(const tidemark::format::AggregateTotals& totals,
                          const std::vector<tidemark::format::StackCounters>& counters) {
    aggregated_ = true;
    totals_ = totals;
    counters_ = counters;
    return *this;
  }

  // Makes it a sampled trace (sample mode): its allocations were sampled by bytes with this mean.
  TraceBuilder& sampled(uint64_t mean_bytes) {
    sample_bytes_ = mean_bytes;
    return *this;
  }

  // Writes the trace and returns its bytes too.
  std::string write(const std::string& path) const;

 private:
  template <class T>
  struct ElementOf {
    using type = char;
  };
  template <tidemark::format::HasElements T>
  struct ElementOf<T> {
    using type = typename T::Element;
  };
  struct StreamState {
    std::vector<std::vector<uint8_t>> chunks;
    tidemark::format::ChunkDeltas deltas{};
  };
  // The current stream, with a chunk that has room for `bound` more bytes.
  StreamState& streamFor(size_t bound);

  uint32_t chunk_size_;
  uint32_t current_ = 1;
  std::map<uint32_t, StreamState> streams_;
  std::vector<std::pair<uint32_t, uint32_t>> order_;  // (stream, chunk) in the order chunks were taken
  bool aggregated_ = false;
  std::optional<uint64_t> sample_bytes_;
  tidemark::format::AggregateTotals totals_{};
  std::vector<tidemark::format::StackCounters> counters_;
};

}  // namespace tmtest
