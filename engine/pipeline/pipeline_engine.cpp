#include "pipeline/pipeline_engine.h"

#include <fmt/format.h>
#include <tidemark/marker.h>

#include <algorithm>

#include "error.h"

namespace tidemark::engine {

PipelineEngine::PipelineEngine(const Bundle& bundle, PipelineSpec spec, SessionRange run, uint32_t first_chunk,
                               uint32_t chunk)
    : bundle_(bundle), spec_(spec), schedule_(pipelineChunks(run.begin, run.end, first_chunk, chunk)) {}

const PipelineChunk& PipelineEngine::outputFor(uint32_t session) {
  if (current_ && current_->sessions().contains(session)) return *current_;
  auto it =
      std::find_if(schedule_.begin(), schedule_.end(), [&](const SessionRange& r) { return r.contains(session); });
  if (it == schedule_.end()) throw EngineError(fmt::format("pipeline: session {} is outside the run", session));
  tidemark_mark(TIDEMARK_MARK_PHASE_BEGIN, "pipeline-chunk");
  std::unique_ptr<PipelineChunk> next = computePipelineChunk(bundle_, spec_, *it);
  peak_bytes_ = std::max(peak_bytes_, next->bytes() + (current_ ? current_->bytes() : 0));
  current_ = std::move(next);  // the previous chunk's results go only now
  ++computed_;
  tidemark_mark(TIDEMARK_MARK_PHASE_END, "pipeline-chunk");
  return *current_;
}

}  // namespace tidemark::engine
