#include "pipeline/chunk_schedule.h"

#include <algorithm>

#include "error.h"

namespace tidemark::engine {

std::vector<SessionRange> pipelineChunks(uint32_t begin, uint32_t end, uint32_t first_chunk, uint32_t chunk) {
  if (first_chunk == 0 || chunk == 0) throw EngineError("pipeline chunk sizes must be at least 1");
  std::vector<SessionRange> out;
  for (uint32_t s = begin; s < end;) {
    uint32_t size = out.empty() ? first_chunk : chunk;
    uint32_t stop = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{s} + size, end));
    out.push_back({s, stop});
    s = stop;
  }
  return out;
}

}  // namespace tidemark::engine
