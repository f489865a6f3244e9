#include "stack_groups.h"

#include <map>
#include <string>

namespace tidemark {

std::vector<Frame> foldStack(const std::vector<Frame>& frames, bool full, bool& runtime) {
  size_t first_user = 0;
  while (first_user < frames.size() && frames[first_user].library) ++first_user;
  runtime = first_user == frames.size();
  // A stdio buffer belongs to the C library (freed by __libc_freeres at exit under valgrind), even
  // though user code's printf made it.
  for (size_t i = 0; i < first_user && !runtime; ++i)
    runtime = frames[i].function.find("_IO_file_doallocate") != std::string::npos;
  if (full) return frames;
  if (runtime) {
    // Nothing but runtime code: keep it, minus the tracker's own frames.
    std::vector<Frame> out;
    for (const Frame& f : frames)
      if (f.module.find("libtidemark_preload") == std::string::npos) out.push_back(f);
    return out;
  }
  // Below main there is only the C runtime's start-up code.
  size_t end = first_user;
  while (end < frames.size() && frames[end].function != "main") ++end;
  return {frames.begin() + static_cast<long>(first_user), frames.begin() + static_cast<long>(std::min(end + 1, frames.size()))};
}

namespace {

std::string groupKey(const std::vector<Frame>& frames) {
  std::string key;
  for (const Frame& f : frames) {
    key += f.function;
    key += '@';
    key += f.file;
    key += ':';
    key += std::to_string(f.line);
    key += ';';
  }
  return key;
}

}  // namespace

// Groups every stack by its folded frames.
std::vector<StackGroup> groupStacks(const ReplayResult& run, Symbolizer& symbols, bool full) {
  std::map<std::string, StackGroup> groups;
  for (StackId id = 0; id < run.stacks.size(); ++id) {
    const StackStats& st = run.stacks[id];
    if (!st.alloc_count && !st.live_blocks) continue;
    std::vector<Frame> frames;
    bool runtime = false;
    auto def = run.stack_defs.find(id);
    if (def != run.stack_defs.end()) {
      frames = foldStack(symbols.stack(def->second), full, runtime);
    } else {
      Frame unknown;
      unknown.function = id == 0 ? "<stack not recorded>" : "<stack not in trace (process killed while recording it)>";
      frames.push_back(unknown);
    }
    StackGroup& g = groups[groupKey(frames)];
    if (g.frames.empty()) {
      g.frames = std::move(frames);
      g.runtime = runtime;
    }
    g.stacks.push_back(id);
    g.peak_bytes += run.peakBytes(id);
    g.peak_blocks += run.peakBlocks(id);
    g.live_bytes += st.live_bytes;
    g.live_blocks += st.live_blocks;
    g.allocations += st.alloc_count;
    g.allocated_bytes += st.alloc_bytes;
    g.temporary += st.temporary_count;
    g.temporary_bytes += st.temporary_bytes;
  }
  std::vector<StackGroup> out;
  out.reserve(groups.size());
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

}  // namespace tidemark
