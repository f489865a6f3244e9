// How the pipeline splits a run into chunks, as zipline does: a short first chunk, so the first
// results come quickly, then long ones, so the per-chunk overhead is paid rarely.
#pragma once

#include <cstdint>
#include <vector>

namespace tidemark::engine {

struct SessionRange {
  uint32_t begin = 0, end = 0;  // [begin, end)
  uint32_t size() const { return end - begin; }
  bool contains(uint32_t s) const { return s >= begin && s < end; }
  bool operator==(const SessionRange&) const = default;
};

// [begin, end) cut into a chunk of `first_chunk` sessions, then chunks of `chunk` sessions; the last
// is shorter when the run does not divide evenly. Both sizes must be at least 1.
std::vector<SessionRange> pipelineChunks(uint32_t begin, uint32_t end, uint32_t first_chunk, uint32_t chunk);

}  // namespace tidemark::engine
