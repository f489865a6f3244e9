#include "summary.h"

#include <algorithm>
#include <functional>
#include <map>

namespace tidemark {

std::vector<Frame> foldStack(const std::vector<Frame>& frames, bool full, bool& runtime) {
  size_t first_user = 0;
  while (first_user < frames.size() && frames[first_user].library) ++first_user;
  runtime = first_user == frames.size();
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

// Groups stacks by their folded frames, using measure(id) -> (bytes, blocks); largest first.
std::vector<StackGroup> groupStacks(const ReplayResult& run, Symbolizer& symbols, bool full,
                                    const std::function<std::pair<uint64_t, uint64_t>(StackId)>& measure) {
  std::map<std::string, StackGroup> groups;
  for (StackId id = 0; id < run.stacks.size(); ++id) {
    auto [bytes, blocks] = measure(id);
    if (!bytes && !blocks) continue;
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
    g.bytes += bytes;
    g.blocks += blocks;
  }
  std::vector<StackGroup> out;
  out.reserve(groups.size());
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(), [](const StackGroup& a, const StackGroup& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.blocks > b.blocks;
  });
  return out;
}

}  // namespace

Summary summarize(const ReplayResult& run, Symbolizer& symbols, const SummaryOptions& options) {
  Summary s;
  s.run = &run;
  s.ended_cleanly = run.end.state == EndState::ExitCalled ||
                    (run.end.state == EndState::Exited);
  s.peak = groupStacks(run, symbols, options.full,
                       [&](StackId id) { return std::make_pair(run.peakBytes(id), run.peakBlocks(id)); });
  if (s.peak.size() > options.top) s.peak.resize(options.top);
  auto live = groupStacks(run, symbols, options.full, [&](StackId id) {
    return std::make_pair(run.stacks[id].live_bytes, run.stacks[id].live_blocks);
  });
  for (StackGroup& g : live) {
    if (g.runtime) {
      s.runtime_leaked_bytes += g.bytes;
      s.runtime_leaked_blocks += g.blocks;
    } else {
      s.leaked_bytes += g.bytes;
      s.leaked_blocks += g.blocks;
      s.leaks.push_back(std::move(g));
    }
  }
  if (s.leaks.size() > options.top) s.leaks.resize(options.top);
  return s;
}

}  // namespace tidemark
