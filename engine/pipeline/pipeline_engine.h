// Runs the pipeline chunk by chunk as the simulation reaches each chunk, and holds the current
// chunk's results until the next one has been computed: memory rises at each chunk boundary and
// falls when the old results go, a sawtooth with the chunk's period.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/bundle.h"
#include "pipeline/chunk_schedule.h"
#include "pipeline/factors.h"

namespace tidemark::engine {

class PipelineEngine {
 public:
  PipelineEngine(const Bundle& bundle, PipelineSpec spec, SessionRange run, uint32_t first_chunk, uint32_t chunk);

  // The results for `session` (inside the run), computing its chunk on first use.
  const PipelineChunk& outputFor(uint32_t session);

  const std::vector<SessionRange>& schedule() const { return schedule_; }
  uint32_t chunksComputed() const { return computed_; }
  uint64_t peakBytes() const { return peak_bytes_; }
  const PipelineSpec& spec() const { return spec_; }

 private:
  const Bundle& bundle_;
  PipelineSpec spec_;
  std::vector<SessionRange> schedule_;
  std::unique_ptr<PipelineChunk> current_;
  uint32_t computed_ = 0;
  uint64_t peak_bytes_ = 0;
};

}  // namespace tidemark::engine
