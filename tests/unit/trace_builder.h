// Builds trace files record by record for unit and golden tests, with the same encoding as the
// preload (trace_format.h), so the reader and replay can be tested on exactly known events.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tidemark/trace_format.h"

namespace tmtest {

class TraceBuilder {
 public:
  explicit TraceBuilder(uint32_t chunk_size = 4096) : chunk_size_(chunk_size) {}

  TraceBuilder& onStream(uint32_t stream) {
    current_ = stream;
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

  // Writes the trace and returns its bytes too.
  std::string write(const std::string& path) const;

 private:
  struct StreamState {
    std::vector<std::vector<uint8_t>> chunks;
    uint64_t prev_seq = 0, prev_addr = 0;
  };
  struct Rec {
    TraceBuilder& b;
    StreamState& s;
    std::vector<uint8_t> bytes;
    void v(uint64_t x);
    void z(int64_t x) { v(tidemark::format::zigzag(x)); }
    void addr(uint64_t a);
    void str(const std::string& t);
  };
  Rec begin(tidemark::format::RecordType type, uint64_t seq);
  void finish(Rec& r);

  uint32_t chunk_size_;
  uint32_t current_ = 1;
  std::map<uint32_t, StreamState> streams_;
  std::vector<std::pair<uint32_t, uint32_t>> order_;  // (stream, chunk) in the order chunks were taken
};

}  // namespace tmtest
