// A trace's replay kept beside it (TRACE.tmcheckpoint), so that the second command on the same
// trace (report after summary, gate, diff, flamegraph) skips reading and replaying the events:
// it costs the symbolization and the report only.
//
// A checkpoint is used only for the very file it was made from (device, inode, size, time of the
// last change, the header's bytes) by the very tidemark that made it (its build id): anything else,
// and a checkpoint that is cut, damaged or unreadable, is ignored and the trace replayed. It is
// written only for a trace nobody writes any more (the process ended, the tracker stopped, or
// nothing changed it for a minute), into a file of its own renamed into place; a directory that
// cannot take it is no error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "replay.h"

namespace tidemark {

class TraceReader;

// When checkpoints are written (TIDEMARK_CHECKPOINT).
enum class CheckpointPolicy {
  Never,   // "0": neither read nor written
  Large,   // default: for traces of kCheckpointMinBytes and more, replays of 1/kCheckpointMaxShare of them at most
  Always,  // "1": written for every trace
};
inline constexpr uint64_t kCheckpointMinBytes = 32ull << 20;
inline constexpr uint64_t kCheckpointMaxShare = 4;
CheckpointPolicy checkpointPolicy();  // throws Error on a value it does not know

// The file beside the trace.
std::string checkpointPath(const std::string& trace_path);

// The replay of reader's trace from its checkpoint; nullopt when there is none that fits.
std::optional<ReplayResult> loadCheckpoint(const TraceReader& reader);

// Keeps run (the replay of reader's trace) beside it when the policy and the trace allow; false
// when nothing was written (not an error).
bool saveCheckpoint(const TraceReader& reader, const ReplayResult& run);

}  // namespace tidemark
