#include "summary.h"

#include <algorithm>
#include <csignal>
#include <map>

#include <fmt/format.h>

#include "tidemark/trace_format.h"

namespace tidemark {

namespace {

// The `top` groups of `among` (indices into groups) with the largest non-zero key, largest first;
// only those are copied (a Python program's imports make hundreds of thousands of groups).
template <typename Key>
std::vector<StackGroup> topBy(const std::vector<StackGroup>& groups, std::vector<size_t> among, Key key, size_t top) {
  std::erase_if(among, [&](size_t i) { return key(groups[i]) == 0; });
  std::stable_sort(among.begin(), among.end(), [&](size_t a, size_t b) { return key(groups[a]) > key(groups[b]); });
  if (among.size() > top) among.resize(top);
  std::vector<StackGroup> out;
  out.reserve(among.size());
  for (size_t i : among) out.push_back(groups[i]);
  return out;
}

std::optional<InterpreterInfo> pythonOf(const ReplayResult& run) {
  if (run.interpreter.seen) return run.interpreter;
  InterpreterInfo unknown;
  unknown.problem = "this trace has no record of the interpreter (written by an older tidemark, or CPython was not found)";
  std::string_view exe = run.exe;
  exe.remove_prefix(exe.rfind('/') == std::string_view::npos ? 0 : exe.rfind('/') + 1);
  if (exe.rfind("python", 0) == 0) return unknown;
  for (const auto& [generation, modules] : run.module_maps)
    for (const ModuleInfo& m : modules)
      if (m.path.find("/libpython3") != std::string::npos) return unknown;
  return std::nullopt;
}

}  // namespace

std::string describePython(const InterpreterInfo& python) {
  std::string name = python.version.empty() ? "CPython" : "CPython " + python.version;
  if (!python.frames)
    return name + ": stacks are native (the interpreter's C functions), without Python frames, and pymalloc's small "
                  "objects show only as its arenas: " + python.problem;
  if (!python.allocator)
    return name + ": Python frames in every stack; pymalloc's small objects show only as its arenas (its allocator "
                  "was left alone: TIDEMARK_PYTHON_ALLOCATOR=0)";
  std::string stacks = python.found_late_ns
                           ? fmt::format("Python frames in every stack from {:.3f} s on (it was loaded then; earlier "
                                         "allocations have native stacks)",
                                         static_cast<double>(python.found_late_ns) / 1e9)
                           : "Python frames in every stack";
  if (python.finalizing_ns)
    stacks += fmt::format(" until {:.3f} s, when it began to finalize (at exit: later allocations have native stacks)",
                          static_cast<double>(python.finalizing_ns) / 1e9);
  return name + ": " + stacks + "; every object pymalloc serves is counted with its size and stack";
}

Death assessDeath(const ReplayResult& run, const EffectiveLimit& limit) {
  Death d;
  bool sigkill = run.end.state == EndState::Signaled && run.end.code == SIGKILL;
  bool vanished = run.end.state == EndState::Unknown;  // no exit, no wrapper: killed or crashed
  if (!run.oom.seen && !sigkill && !vanished) return d;
  d.rss = run.rss_last;
  d.time_ns = run.oom.seen ? run.oom.time_ns : run.end.state == EndState::Signaled ? run.end.time_ns : run.last_event_time_ns;
  const Marker* date = nullptr;
  for (const Marker& m : run.markers)
    if (m.kind == static_cast<uint32_t>(format::MarkerKind::SimulationDate) && m.time_ns <= std::max(d.time_ns, run.last_event_time_ns))
      if (!date || m.seq > date->seq) date = &m;
  if (date) d.simulation_date = date->text;
  double share = limit.bytes ? static_cast<double>(d.rss) / static_cast<double>(limit.bytes) : 0;
  if (run.oom.seen) {
    d.kind = Death::Kind::OomKilled;
    d.usage = run.oom.usage;
    switch (static_cast<format::OomEvidence>(run.oom.evidence)) {
      case format::OomEvidence::CgroupEvents: d.evidence = "the kernel's OOM killer: the cgroup's memory.events counted an oom_kill"; break;
      case format::OomEvidence::CgroupOomControl: d.evidence = "the kernel's OOM killer: the cgroup's memory.oom_control counted an oom_kill"; break;
      case format::OomEvidence::Watchdog: d.evidence = "tidemark's watchdog: RSS passed the limit, and it sent SIGKILL"; break;
    }
    if (run.oom.in_group)
      d.evidence += fmt::format("; it ended {} process{} of the run, and this one died of SIGKILL holding the most "
                                "memory of those that did",
                                run.oom.kills, run.oom.kills == 1 ? "" : "es");
    if (d.usage)
      d.usage_source = run.oom.evidence == static_cast<uint32_t>(format::OomEvidence::Watchdog)
                           ? Death::Usage::WatchdogRss
                           : Death::Usage::CgroupPeak;
  } else if (limit.bytes && share >= kNearLimitShare) {
    d.kind = Death::Kind::OomLikely;
    d.evidence = fmt::format("{} with RSS at {:.0f}% of the limit at the last sample: the OOM killer's signature",
                             sigkill ? "SIGKILL" : "the trace stops without an exit", 100 * share);
  } else {
    d.kind = Death::Kind::Killed;
    d.evidence = sigkill ? std::string("SIGKILL, not near a known memory limit")
                         : std::string("the trace stops without an exit: a signal that ends a process (SIGKILL; SIGTERM, SIGINT where the "
                                     "program does not handle them) or a crash (none leaves a record)");
    if (limit.bytes) d.evidence += fmt::format("; RSS was {:.0f}% of the limit", 100 * share);
  }
  return d;
}

std::string threadLabel(const ThreadSummary& t) {
  return fmt::format("{}thread {}{}", t.main ? "main " : "", t.tid, t.name.empty() ? "" : " (" + t.name + ")");
}

namespace {

std::vector<ThreadSummary> summarizeThreads(const ReplayResult& run) {
  if (run.thread_stacks.empty()) return {};  // one thread allocated (or the trace does not say)
  std::map<uint32_t, ThreadSummary> by_index;
  for (const auto& [key, st] : run.thread_stacks) {
    const auto index = static_cast<uint32_t>(key >> 32);
    const ThreadInfo& info = run.threads[index];
    ThreadSummary& t = by_index.try_emplace(index, ThreadSummary{.index = index, .tid = info.tid, .name = info.name,
                                                                 .main = info.tid == run.pid}).first->second;
    t.allocations += st.alloc_count;
    t.allocated_bytes += st.alloc_bytes;
    t.peak_bytes += run.peakBytes(st);
    t.live_bytes += st.live_bytes;
  }
  std::vector<ThreadSummary> threads;
  for (auto& [index, t] : by_index)
    if (t.allocations) threads.push_back(std::move(t));
  std::stable_sort(threads.begin(), threads.end(),
                   [](const ThreadSummary& a, const ThreadSummary& b) { return a.allocated_bytes > b.allocated_bytes; });
  return threads;
}

}  // namespace

Summary summarize(const ReplayResult& run, Symbolizer& symbols, const SummaryOptions& options) {
  Summary s;
  s.sampled = run.sample_bytes != 0;
  s.threads = summarizeThreads(run);
  s.python = pythonOf(run);
  for (const PhaseWindow& w : run.phases) {
    auto it = std::find_if(s.phases.begin(), s.phases.end(), [&](const PhaseSummary& p) { return p.name == w.name; });
    if (it == s.phases.end()) it = s.phases.insert(s.phases.end(), PhaseSummary{.name = w.name});
    ++it->count;
    it->peak_above_begin = std::max(it->peak_above_begin, w.heap_peak - w.heap_at_begin);
    it->growth += static_cast<int64_t>(w.heap_at_end) - static_cast<int64_t>(w.heap_at_begin);
    it->ended = it->ended && w.ended;
  }
  s.limit = effectiveLimit(run, options.limit);
  s.death = assessDeath(run, s.limit);
  s.listed_limit = options.top;
  s.ended_cleanly = run.end.state == EndState::ExitCalled || run.end.state == EndState::Exited;
  std::vector<StackGroup> all = groupStacks(run, symbols, options.full);
  std::vector<size_t> every, user, held;
  for (size_t i = 0; i < all.size(); ++i) {
    const StackGroup& g = all[i];
    every.push_back(i);
    if (g.holder == Holder::StartUp) {
      s.startup_bytes += g.live_bytes;
      s.startup_blocks += g.live_blocks;
    }
    if (g.heldForLife()) {
      s.runtime_leaked_bytes += g.live_bytes;
      s.runtime_leaked_blocks += g.live_blocks;
      if (g.live_blocks) held.push_back(i);
    } else {
      s.leaked_bytes += g.live_bytes;
      s.leaked_blocks += g.live_blocks;
      user.push_back(i);
    }
  }
  s.growth = findGrowth(run, all, options.growth, s.limit.bytes);
  // The frame that names a block's allocation site (symbolizer-owned), or null.
  auto siteFrame = [&](StackId id) -> const Frame* {
    const StackDef* def = run.stack_defs.find(id);
    if (!def) return nullptr;
    Holder holder = Holder::Program;
    std::vector<const Frame*> frames = foldStack(symbols.stack(*def, options.full), options.full, holder);
    return frames.empty() ? nullptr : frames[siteIndex(frames)];
  };
  // Whether a block is held for life, not the program's (made by the runtime or at start-up: an
  // import running a module's body, the interpreter starting itself): its stack's group says.
  std::vector<uint8_t> held_for_life(run.stacks.idBound(), 0);
  for (const StackGroup& g : all)
    if (g.heldForLife())
      for (StackId id : g.stacks)
        if (id < held_for_life.size()) held_for_life[id] = 1;
  auto stackHeldForLife = [&](StackId id) { return id < held_for_life.size() && held_for_life[id]; };
  std::map<StackId, std::string> site_names;
  s.lost = analyzeLeakGraph(run.scan, [&](StackId id) -> const std::string& {
    auto it = site_names.find(id);
    if (it != site_names.end()) return it->second;
    const Frame* f = siteFrame(id);
    return site_names.emplace(id, f ? siteName(*f) : "<unknown site>").first->second;
  }, stackHeldForLife);
  std::map<StackId, std::string> lines;
  auto lineOf = [&](StackId id) -> const std::string& {
    auto it = lines.find(id);
    if (it != lines.end()) return it->second;
    const Frame* f = siteFrame(id);
    std::string line = f ? fileAndLine(*f) : "";
    return lines.emplace(id, std::move(line)).first->second;
  };
  s.python_objects = analyzePythonObjects(run.scan, lineOf, stackHeldForLife);
  if (run.first_python_scan.present && s.python_objects.available) {
    const PythonObjectFindings first = analyzePythonObjects(run.first_python_scan, lineOf, stackHeldForLife);
    if (first.available)
      s.python_growth = {.available = true, .from_ns = first.time_ns, .to_ns = s.python_objects.time_ns,
                         .from_reason = first.reason, .to_reason = s.python_objects.reason,
                         .groups = retainedGrowth(first.retained, s.python_objects.retained)};
  }
  s.peak = topBy(all, every, [](const StackGroup& g) { return g.peak_bytes; }, options.top);
  std::map<std::string, LeakSite> by_site;
  for (size_t i : user)
    if (all[i].live_bytes) {
      const Frame& f = tidemark::siteFrame(all[i].frames);  // not the lambda above, which takes a stack id
      LeakSite& site = by_site.try_emplace(siteName(f), LeakSite{.frame = f}).first->second;
      site.bytes += all[i].live_bytes;
      site.blocks += all[i].live_blocks;
    }
  for (auto& [name, site] : by_site) s.leak_sites.push_back(std::move(site));
  std::stable_sort(s.leak_sites.begin(), s.leak_sites.end(), [](const LeakSite& a, const LeakSite& b) { return a.bytes > b.bytes; });
  if (s.leak_sites.size() > options.top) s.leak_sites.resize(options.top);
  s.leaks = topBy(all, std::move(user), [](const StackGroup& g) { return g.live_bytes; }, options.top);
  s.held_for_life = topBy(all, std::move(held), [](const StackGroup& g) { return g.live_bytes; }, options.top);
  s.sites = topBy(all, std::move(every), [](const StackGroup& g) { return g.allocated_bytes; }, options.top);
  return s;
}

}  // namespace tidemark
