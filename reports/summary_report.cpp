#include "summary_report.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "diagnosis.h"
#include "python_report.h"
#include "text_layout.h"
#include "tidemark/trace_format.h"
#include "units.h"

namespace tidemark {

namespace {

const char* holderLabel(Holder h) {
  switch (h) {
    case Holder::Program: return "";
    case Holder::Runtime: return "  (C/C++ runtime)";
    case Holder::StartUp: return "  (start-up: a static initialiser, an interpreter starting itself, an import)";
  }
  return "";
}

const char* holderKey(Holder h) {
  switch (h) {
    case Holder::Program: return "program";
    case Holder::Runtime: return "runtime";
    case Holder::StartUp: return "startup";
  }
  return "";
}

std::string frameText(const Frame& f, bool full = false) {
  std::string s = full ? f.function.str() : shortName(f.function);
  if (!f.file.empty()) s += fmt::format(" ({}:{})", f.file, f.line);
  else if (!f.module.empty()) s += fmt::format(" [{}]", f.module);
  if (f.inlined) s += " [inlined]";
  return s;
}

void writeGroups(std::ostream& out, const std::vector<StackGroup>& groups, bool at_peak, uint64_t total, bool full) {
  int n = 0;
  for (const StackGroup& group : groups) {
    struct {
      uint64_t bytes, blocks;
      Holder holder;
    } g{at_peak ? group.peak_bytes : group.live_bytes, at_peak ? group.peak_blocks : group.live_blocks, group.holder};
    const std::vector<Frame>& frames = group.frames;
    double share = total ? 100.0 * static_cast<double>(g.bytes) / static_cast<double>(total) : 0.0;
    // Sample mode: an estimate with its 95% interval, from so many sampled blocks.
    double variance = at_peak ? group.peak_variance : group.live_variance;
    std::string error = variance > 0 ? fmt::format(" ± {}", humanBytes(errorBytes(variance))) : "";
    out << fmt::format("  #{:<2} {:>10}  {:5.1f}%  {} bytes{} in {} {}block{}{}\n", ++n, humanBytes(g.bytes), share,
                       groupedNumber(g.bytes), error, groupedNumber(g.blocks), variance > 0 ? "sampled " : "",
                       g.blocks == 1 ? "" : "s", holderLabel(g.holder));
    // A Python stack starts at its site, the program's own line; what it called into (pandas,
    // numpy) is summed up in one line above it.
    const size_t site = frames.empty() ? 0 : siteIndex(frames);
    const size_t from = !full && site > 0 && frames[site].interpreted ? site : 0;
    if (from)
      out << fmt::format("        in {}{}\n", frameText(frames[from - 1], full),
                         from > 1 ? fmt::format(" and {} frame{} inside it", from - 1, from == 2 ? "" : "s") : "");
    size_t shown = full ? frames.size() : std::min<size_t>(frames.size(), from + 6);
    for (size_t i = from; i < shown; ++i) out << "        " << (i > from ? "  " : "") << frameText(frames[i], full) << '\n';
    if (shown < frames.size()) out << fmt::format("          ... {} more frames\n", frames.size() - shown);
  }
}

nlohmann::json framesJson(const std::vector<Frame>& frames) {
  nlohmann::json a = nlohmann::json::array();
  for (const Frame& f : frames) {
    a.push_back({{"function", f.function}, {"file", f.file}, {"line", f.line}, {"module", f.module},
                 {"inlined", f.inlined}, {"ip", fmt::format("0x{:x}", f.ip)}});
  }
  return a;
}

nlohmann::json groupsJson(const std::vector<StackGroup>& groups) {
  nlohmann::json a = nlohmann::json::array();
  for (const StackGroup& g : groups) {
    a.push_back({{"peak_bytes", g.peak_bytes},
                 {"peak_error_bytes", errorBytes(g.peak_variance)},  // sample mode: the 95% interval's half-width
                 {"peak_blocks", g.peak_blocks},
                 {"live_bytes", g.live_bytes},
                 {"live_error_bytes", errorBytes(g.live_variance)},
                 {"live_blocks", g.live_blocks},
                 {"allocations", g.allocations},
                 {"allocated_bytes", g.allocated_bytes},
                 {"runtime", g.heldForLife()},
                 {"holder", holderKey(g.holder)},
                 {"site", siteName(siteFrame(g.frames))},
                 {"site_frame", siteIndex(g.frames)},
                 {"frames", framesJson(g.frames)}});
  }
  return a;
}

const char* shortfallKey(Shortfall s) {
  switch (s) {
    case Shortfall::Moments: return "moments";
    case Shortfall::Sampling: return "sampling";
    case Shortfall::None: break;
  }
  return "";
}

void writeFindings(std::ostream& out, const Summary& s) {
  const GrowthFindings& g = s.growth;
  out << "\nFindings\n";
  if (g.process.available) {
    const ProcessTrend& p = g.process;
    out << fmt::format("  heap: {}\n", describeProcessVerdict(p.heap, p.span_s));
    if (p.rss_follows_heap)
      out << fmt::format("  RSS: follows the heap: its anonymous part rose from {} to {} only as far as memory the heap had allocated was touched\n",
                         humanBytes(static_cast<uint64_t>(p.rss.start)), humanBytes(static_cast<uint64_t>(p.rss.max)));
    else
      out << fmt::format("  RSS: {}{}\n", describeProcessVerdict(p.rss, p.span_s),
                         p.rss.trend == Trend::Unbounded || p.rss.trend == Trend::GrowsWithWork || p.rss.trend == Trend::Periodic
                             ? " (outside the heap: RSS rose past all the heap had allocated)"
                             : "");
    if (s.limit.bytes) {
      std::string limit = fmt::format("limit {} ({})", humanBytes(s.limit.bytes), limitSourceText(s.limit.source));
      if (p.seconds_to_limit == 0)
        out << fmt::format("  {}: already reached\n", limit);
      else if (p.seconds_to_limit > 0)
        out << fmt::format("  {}: reached in {}{} at this rate\n", limit,
                           humanDuration(static_cast<uint64_t>(p.seconds_to_limit * 1e9)),
                           p.days_to_limit >= 0 ? fmt::format(" (about {:.0f} simulated days)", p.days_to_limit) : "");
      else
        out << fmt::format("  {}: not on course to reach it\n", limit);
    }
  }
  if (!g.available) {
    out << "  " << g.unavailable_reason << '\n';
    return;
  }
  if (g.sites.empty()) {
    out << fmt::format("  no allocation site held both 1% of the heap and {} (the least a growth finding looks at)\n",
                       humanBytes(GrowthOptions{}.min_bytes));
    return;
  }
  for (const SiteTrend& t : g.sites)
    out << fmt::format("  {}\n      {}\n", siteName(siteFrame(t.frames)), describeVerdict(t, g.simulated_days));
  bool short_run = g.process.heap.shortfall == Shortfall::Moments;
  for (const SiteTrend& t : g.sites) short_run = short_run || t.verdict.shortfall == Shortfall::Moments;
  if (short_run)
    out << fmt::format("  (a moment is a timeline sample or a marker, {} apart here; a verdict takes {} in wall time, or {} "
                       "simulated days: run longer, or mark simulated days with tidemark/marker.h or tidemark.mark_date "
                       "in Python)\n",
                       humanDuration(g.sample_interval_ns), TrendThresholds::kMinSamples, TrendThresholds::kMinMoments);
}

nlohmann::json growthJson(const GrowthFindings& g, const EffectiveLimit& limit) {
  nlohmann::json sites = nlohmann::json::array();
  for (const SiteTrend& t : g.sites) {
    const TrendVerdict& v = t.verdict;
    sites.push_back({{"verdict", trendName(v.trend)},
                     {"confidence", v.confidence},
                     {"moments", v.moments},
                     {"evidence_needed", shortfallKey(v.shortfall)},
                     {"needed", v.needed},
                     {"site", siteName(siteFrame(t.frames))},
                     {"function", siteFrame(t.frames).function},
                     {"file", siteFrame(t.frames).file},
                     {"line", siteFrame(t.frames).line},
                     {"frames", framesJson(t.frames)},
                     {"stack_groups", t.stack_groups},
                     {"peak_bytes", t.peak_bytes},
                     {"final_bytes", t.final_bytes},
                     {"exit_bytes", t.exit_bytes},
                     {"rate_bytes_per_hour", t.rate_per_hour},
                     {"span_s", t.span_s},
                     {"rate_bytes_per_day", t.rate_per_day},
                     {"rate_error_bytes_per_hour", t.rate_error_per_hour},
                     {"rate_error_bytes_per_day", t.rate_error_per_day},
                     {"level_bytes", v.level},
                     {"level_reached_s", v.level_reached_s},
                     {"level_reached_day", t.level_reached_day},
                     {"period_s", v.period_s},
                     {"period_days", t.period_days},
                     {"amplitude_bytes", v.amplitude},
                     {"cycles", v.cycles}});
  }
  nlohmann::json process = nullptr;
  if (g.process.available) {
    const ProcessTrend& p = g.process;
    process = {{"rss_verdict", trendName(p.rss.trend)},
               {"rss_confidence", p.rss.confidence},
               {"rss_follows_heap", p.rss_follows_heap},
               {"heap_verdict", trendName(p.heap.trend)},
               {"heap_confidence", p.heap.confidence},
               {"rss_rate_bytes_per_hour", p.rss_rate_per_hour},
               {"span_s", p.span_s},
               {"limit_bytes", limit.bytes},
               {"limit_source", limitSourceKey(limit.source)},
               {"seconds_to_limit", p.seconds_to_limit},
               {"days_to_limit", p.days_to_limit}};
  }
  return {{"available", g.available},
          {"unavailable_reason", g.unavailable_reason},
          {"bin_width_ns", g.bin_width_ns},
          {"window_end_ns", g.window_end_ns},
          {"simulated_days", g.simulated_days},
          {"sites", sites},
          {"process", process}};
}

void writeLost(std::ostream& out, const LeakGraph& g) {
  if (!g.available) return;
  out << fmt::format("\nHeap scan {}: {} live blocks, {} words in {:.2f} s\n",
                     scanWhen(g.reason, g.time_ns),
                     groupedNumber(g.blocks), groupedNumber(g.words), g.scan_seconds);
  out << fmt::format("  reachable          {:>12} in {} blocks\n", humanBytes(g.reachable_bytes), groupedNumber(g.reachable_blocks));
  out << fmt::format("  leaked cycles      {:>12} in {} blocks, {} cycle{}\n", humanBytes(g.cycle_bytes),
                     groupedNumber(g.cycle_blocks), groupedNumber(g.cycle_count), g.cycle_count == 1 ? "" : "s");
  out << fmt::format("  plain leaks        {:>12} in {} blocks (nothing points to them)\n", humanBytes(g.plain_bytes),
                     groupedNumber(g.plain_blocks));
  out << fmt::format("  held by lost ones  {:>12} in {} blocks\n", humanBytes(g.held_bytes), groupedNumber(g.held_blocks));
  out << fmt::format("  as valgrind counts: definitely lost {} bytes in {} blocks, indirectly lost {} bytes in {} blocks\n",
                     groupedNumber(g.definite_bytes), groupedNumber(g.definite_blocks), groupedNumber(g.indirect_bytes),
                     groupedNumber(g.indirect_blocks));
  if (g.reachable_cycles)
    out << fmt::format("  ({} cycles are still reachable, e.g. held by a cache: not leaks)\n", groupedNumber(g.reachable_cycles));
  for (const CycleGroup& c : g.cycle_groups)
    out << fmt::format("  {} leaked cycle{}, {} in {} blocks:\n      {}\n", groupedNumber(c.cycles), c.cycles == 1 ? "" : "s",
                       humanBytes(c.bytes), groupedNumber(c.blocks), c.shape);
}

nlohmann::json lostJson(const LeakGraph& g) {
  nlohmann::json cycles = nlohmann::json::array();
  for (const CycleGroup& c : g.cycle_groups)
    cycles.push_back({{"shape", c.shape}, {"sites", c.sites}, {"cycles", c.cycles}, {"blocks", c.blocks}, {"bytes", c.bytes}});
  nlohmann::json plain = nlohmann::json::array();
  for (const LostSite& p : g.plain_sites) plain.push_back({{"site", p.site}, {"blocks", p.blocks}, {"bytes", p.bytes}});
  return {{"available", g.available},
          {"unavailable_reason", g.unavailable_reason},
          {"scan_seconds", g.scan_seconds},
          {"reason", scanReasonKey(g.reason)},
          {"time_ns", g.time_ns},
          {"words", g.words},
          {"root_bytes", g.root_bytes},
          {"blocks", g.blocks},
          {"reachable", {{"blocks", g.reachable_blocks}, {"bytes", g.reachable_bytes}}},
          {"reachable_cycles", g.reachable_cycles},
          {"leaked_cycles", {{"count", g.cycle_count}, {"blocks", g.cycle_blocks}, {"bytes", g.cycle_bytes}, {"groups", cycles}}},
          {"plain_leaks", {{"blocks", g.plain_blocks}, {"bytes", g.plain_bytes}, {"sites", plain}}},
          {"held_by_lost", {{"blocks", g.held_blocks}, {"bytes", g.held_bytes}}},
          {"program_lost", {{"blocks", g.program_lost_blocks}, {"bytes", g.program_lost_bytes}}},
          {"valgrind", {{"definitely_lost_bytes", g.definite_bytes}, {"definitely_lost_blocks", g.definite_blocks},
                        {"indirectly_lost_bytes", g.indirect_bytes}, {"indirectly_lost_blocks", g.indirect_blocks}}}};
}

// The opening of a post-mortem: how it died, what held the memory then, what grew towards it.
void writeDeath(std::ostream& out, const Summary& s) {
  const Death& d = s.death;
  if (d.kind == Death::Kind::None) return;
  out << deathHeadline(s) << '\n';
  out << "  evidence: " << d.evidence;
  if (d.usage_source == Death::Usage::CgroupPeak)
    out << fmt::format("; the cgroup's memory use peaked at {}", humanBytes(d.usage));
  else if (d.usage_source == Death::Usage::WatchdogRss)
    out << fmt::format("; the watchdog saw RSS {} when it killed", humanBytes(d.usage));
  out << '\n';
  out << fmt::format("  held at death: {} of heap in {} blocks (user code), by stack:\n", humanBytes(s.leaked_bytes),
                     groupedNumber(s.leaked_blocks));
  int n = 0;
  for (const StackGroup& g : s.leaks) {
    if (++n > 5 || g.live_bytes == 0) break;
    double share = s.leaked_bytes ? 100.0 * static_cast<double>(g.live_bytes) / static_cast<double>(s.leaked_bytes) : 0;
    out << fmt::format("    #{} {:>10} {:5.1f}%  {}\n", n, humanBytes(g.live_bytes), share,
                       g.frames.empty() ? std::string("?") : frameText(siteFrame(g.frames)));
  }
  bool growth = false;
  for (const SiteTrend& t : s.growth.sites) {
    if (t.verdict.trend != Trend::Unbounded || t.frames.empty()) continue;
    if (!growth) out << "  growth that led there:\n";
    growth = true;
    out << fmt::format("    {}: {}\n", siteName(siteFrame(t.frames)), describeVerdict(t, s.growth.simulated_days));
  }
  if (!growth && s.growth.available) out << "  growth that led there: no site grew without bound; see Findings\n";
  out << '\n';
}

nlohmann::json deathJson(const Summary& s) {
  const Death& d = s.death;
  nlohmann::json growth = nlohmann::json::array();
  for (const SiteTrend& t : s.growth.sites)
    if (t.verdict.trend == Trend::Unbounded && !t.frames.empty()) growth.push_back(siteName(siteFrame(t.frames)));
  nlohmann::json held = nlohmann::json::array();
  for (const StackGroup& g : s.leaks)
    if (g.live_bytes && !g.frames.empty())
      held.push_back({{"site", siteName(siteFrame(g.frames))}, {"bytes", g.live_bytes}, {"blocks", g.live_blocks}});
  return {{"verdict", deathKindName(d.kind)},
          {"time_ns", d.time_ns},
          {"simulation_date", d.simulation_date},
          {"rss", d.rss},
          {"limit", s.limit.bytes},
          {"usage", d.usage},
          {"evidence", d.evidence},
          {"held_bytes", s.leaked_bytes},
          {"held", held},
          {"unbounded_sites", growth}};
}

}  // namespace

nlohmann::json phasesJson(const std::vector<PhaseSummary>& phases) {
  nlohmann::json out = nlohmann::json::array();
  for (const PhaseSummary& p : phases)
    out.push_back({{"name", p.name}, {"count", p.count}, {"peak_above_begin", p.peak_above_begin},
                   {"growth", p.growth}, {"ended", p.ended}});
  return out;
}

namespace {

nlohmann::json threadsJson(const std::vector<ThreadSummary>& threads) {
  nlohmann::json out = nlohmann::json::array();
  for (const ThreadSummary& t : threads)
    out.push_back({{"tid", t.tid}, {"name", t.name}, {"main", t.main}, {"allocations", t.allocations},
                   {"allocated_bytes", t.allocated_bytes}, {"peak_bytes", t.peak_bytes}, {"live_bytes", t.live_bytes}});
  return out;
}

void writeSummaryLines(std::ostream& out, const TraceAnalysis& analysis, bool full) {
  const ReplayResult& r = analysis.run();
  const Summary& s = analysis.summary();
  // A damaged trace or a tracker that failed qualifies everything after it: said first.
  for (const std::string& w : r.warnings) out << "warning: " << w << '\n';
  for (const std::string& e : r.tracker_errors) out << "warning: the tracker stopped early: " << e << '\n';
  writeDiagnosis(out, diagnose(analysis));
  writeDeath(out, s);
  std::string cmd;
  for (const std::string& a : r.argv) cmd += (cmd.empty() ? "" : " ") + a;
  out << fmt::format("trace     {} ({}, {})\n", analysis.tracePath(), humanBytes(analysis.traceBytes()),
                     r.aggregated     ? std::string("aggregated")
                     : r.sample_bytes ? fmt::format("sampled: one point every {} allocated on average; heap figures are "
                                                    "estimates, ± their 95% interval", humanBytes(r.sample_bytes))
                                      : std::string("full event log"));
  out << fmt::format("command   {}\n", cmd.empty() ? r.exe : cmd);
  out << fmt::format("process   pid {}, ran {}, {}{}\n", r.pid, humanDuration(r.duration_ns), describeEnd(r.end),
                     r.end_from_parent ? " (as its parent saw it)" : "");
  if (s.python) out << "python    " << describePython(*s.python) << '\n';
  if (s.limit.bytes)
    out << fmt::format("limit     {} ({})\n", humanBytes(s.limit.bytes), limitSourceText(s.limit.source));
  out << fmt::format("peak heap {} ({} bytes{}) at {}\n", humanBytes(r.heap_peak), groupedNumber(r.heap_peak),
                     r.sample_bytes ? fmt::format(" ± {}", humanBytes(errorBytes(r.heap_peak_variance))) : "",
                     humanDuration(r.heap_peak_time_ns));
  out << fmt::format("peak RSS  {} at {}\n", humanBytes(r.rss_peak), humanDuration(r.rss_peak_time_ns));
  if (r.heap_peak > r.rss_peak)
    out << "          (below the heap's peak: pages allocated but never written are not resident)\n";
  if (r.sample_bytes)
    out << fmt::format("calls     {} sampled allocations, standing for {} allocated in total; {} of them freed\n",
                       groupedNumber(r.allocations), humanBytes(r.allocated_bytes), groupedNumber(r.frees));
  else
    out << fmt::format("calls     {} allocations ({} allocated in total), {} frees, {} reallocs\n",
                       groupedNumber(r.allocations), humanBytes(r.allocated_bytes), groupedNumber(r.frees),
                       groupedNumber(r.reallocs));
  if (r.mmap_peak) out << fmt::format("mmap      peak {} of anonymous mappings, {} at the end\n", humanBytes(r.mmap_peak), humanBytes(r.mmap_live));
  for (size_t i = 0; i < s.phases.size() && i < 5; ++i) {
    const PhaseSummary& p = s.phases[i];
    out << fmt::format("phase     {}: {} time{}, the heap at most {} above where it began, {} {} across {}\n", p.name,
                       groupedNumber(p.count), p.count == 1 ? "" : "s", humanBytes(p.peak_above_begin),
                       p.growth < 0 ? "down" : "up", humanBytes(static_cast<uint64_t>(p.growth < 0 ? -p.growth : p.growth)),
                       p.count == 1 ? "it" : "them");
  }
  if (s.phases.size() > 5) out << fmt::format("phase     ... and {} more names (JSON: phases)\n", s.phases.size() - 5);
  if (!s.threads.empty()) {
    std::string most;
    for (size_t i = 0; i < s.threads.size() && i < 3; ++i)
      most += fmt::format("{}{} {}", i ? ", " : "", threadLabel(s.threads[i]), humanBytes(s.threads[i].allocated_bytes));
    out << fmt::format("threads   {} allocated; the most: {}{}\n", s.threads.size(), most,
                       s.threads.size() > 3 ? " (every one: JSON threads, the report's flamegraphs by thread)" : "");
  }
  if (r.anomalies.unknown_frees || r.anomalies.overwritten_allocs)
    out << fmt::format("note      {} frees of unknown blocks, {} reused addresses without a free (made "
                       "before the tracker started or inside a signal handler during a hook)\n",
                       r.anomalies.unknown_frees, r.anomalies.overwritten_allocs);

  out << fmt::format("\nHeap at its peak, by stack: {} ({} bytes)\n", humanBytes(r.heap_peak), groupedNumber(r.heap_peak));
  writeGroups(out, s.peak, true, r.heap_peak, full);

  const char* what = s.ended_cleanly && s.lost.nothingLostAtExit() ? "Live at exit, all still reachable (heap scan)"
                     : s.ended_cleanly                                ? "Leaked at exit"
                     : r.end.state == EndState::Exec ? "Live when it replaced itself with exec"
                                                     : "Live when the process died";
  out << fmt::format("\n{}: {} ({} bytes) in {} {}block{}\n", what, humanBytes(s.leaked_bytes), groupedNumber(s.leaked_bytes),
                     groupedNumber(s.leaked_blocks), s.sampled ? "sampled " : "", s.leaked_blocks == 1 ? "" : "s");
  writeGroups(out, s.leaks, false, s.leaked_bytes, full);
  if (s.runtime_leaked_blocks) {
    const uint64_t runtime_bytes = s.runtime_leaked_bytes - s.startup_bytes;
    std::string whose;
    if (runtime_bytes) whose = fmt::format("{} bytes by the C/C++ runtime (stdio buffers, libstdc++'s exception pool, the loader, locale, NSS)",
                                           groupedNumber(runtime_bytes));
    if (s.startup_bytes)
      whose += fmt::format("{}{} bytes by start-up code (static initialisers before main, an interpreter starting itself, Python modules' bodies run by an import)", whose.empty() ? "" : " and ", groupedNumber(s.startup_bytes));
    out << fmt::format("\nHeld for the life of the process, not counted as leaked: {} ({} bytes) in {} block{}: {}\n",
                       humanBytes(s.runtime_leaked_bytes), groupedNumber(s.runtime_leaked_bytes), groupedNumber(s.runtime_leaked_blocks),
                       s.runtime_leaked_blocks == 1 ? "" : "s", whose);
    writeGroups(out, s.held_for_life, false, s.runtime_leaked_bytes, full);
  }
  writeLost(out, s.lost);
  writePythonObjects(out, s.python_objects, s.python_growth);
  writeFindings(out, s);
}

}  // namespace

void writeSummaryText(std::ostream& out, const TraceAnalysis& analysis, bool full) {
  std::ostringstream text;
  writeSummaryLines(text, analysis, full);
  out << fitLines(text.str(), kTextColumns);
}

nlohmann::json anomaliesJson(const TraceAnomalies& a) {
  return {{"unknown_frees", a.unknown_frees}, {"overwritten_allocations", a.overwritten_allocs},
          {"undefined_stacks", a.undefined_stacks}};
}

nlohmann::json endJson(const ProcessEnd& e) {
  nlohmann::json end = {{"state", "unknown"}};
  switch (e.state) {
    case EndState::Exited: end = {{"state", "exited"}, {"code", e.code}}; break;
    case EndState::Signaled: end = {{"state", "signaled"}, {"signal", e.code}, {"signal_name", signalName(e.code)}}; break;
    case EndState::ExitCalled: end = {{"state", "exit-called"}}; break;
    case EndState::Exec: end = {{"state", "exec"}, {"program", e.program}}; break;
    case EndState::Unknown: break;
  }
  end["description"] = describeEnd(e);
  return end;
}

nlohmann::json summaryJson(const TraceAnalysis& analysis) {
  const ReplayResult& r = analysis.run();
  const Summary& s = analysis.summary();
  nlohmann::json end = endJson(r.end);
  if (r.end_from_parent) end["seen_by"] = "parent";
  return {
      {"diagnosis", diagnosisJson(diagnose(analysis))},
      {"trace", analysis.tracePath()},
      {"trace_bytes", analysis.traceBytes()},
      {"mode", r.aggregated ? "aggregate" : r.sample_bytes ? "sample" : "full"},
      {"sample_bytes", r.sample_bytes},
      {"pid", r.pid},
      {"ppid", r.ppid},
      {"exe", r.exe},
      {"argv", r.argv},
      {"python", s.python ? nlohmann::json{{"version", s.python->version.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.python->version)},
                                           {"python_frames", s.python->frames},
                                           {"allocator_tracked", s.python->allocator},
                                           {"why", s.python->frames ? nlohmann::json(nullptr) : nlohmann::json(s.python->problem)},
                                           {"summary", describePython(*s.python)}}
                          : nlohmann::json(nullptr)},
      {"memory_limit", s.limit.bytes},
      {"memory_limit_source", limitSourceKey(s.limit.source)},
      {"duration_ns", r.duration_ns},
      {"end", end},
      {"death", deathJson(s)},
      {"peak_heap", {{"bytes", r.heap_peak}, {"error_bytes", errorBytes(r.heap_peak_variance)}, {"time_ns", r.heap_peak_time_ns}}},
      {"peak_rss", {{"bytes", r.rss_peak}, {"time_ns", r.rss_peak_time_ns}}},
      {"final_heap_bytes", r.heap_live},
      {"final_heap_error_bytes", errorBytes(r.heap_variance)},
      {"final_heap_blocks", r.live_blocks},
      {"allocations", r.allocations},
      {"frees", r.frees},
      {"reallocs", r.reallocs},
      {"allocated_bytes", r.allocated_bytes},
      {"mmap", {{"peak_bytes", r.mmap_peak}, {"final_bytes", r.mmap_live}}},
      {"anomalies", anomaliesJson(r.anomalies)},
      {"top_at_peak", groupsJson(s.peak)},
      {"listed_stacks", s.listed_limit},
      {"sites", groupsJson(s.sites)},
      {"leaks",
       {{"ended_cleanly", s.ended_cleanly},
        {"bytes", s.leaked_bytes},
        {"blocks", s.leaked_blocks},
        {"runtime_bytes", s.runtime_leaked_bytes},
        {"runtime_blocks", s.runtime_leaked_blocks},
        {"startup_bytes", s.startup_bytes},
        {"startup_blocks", s.startup_blocks},
        {"stacks", groupsJson(s.leaks)},
        {"held_for_life", groupsJson(s.held_for_life)}}},
      {"timeline_samples", r.timeline.size()},
      {"phases", phasesJson(s.phases)},
      {"threads", threadsJson(s.threads)},
      {"findings", growthJson(s.growth, s.limit)},
      {"heap_scan", lostJson(s.lost)},
      {"python_objects", pythonObjectsJson(s.python_objects)},
      {"python_growth", pythonGrowthJson(s.python_growth)},
      {"incomplete", r.stopped.stopped() ? nlohmann::json{{"time_ns", r.stopped.time_ns},
                                                          {"reason", r.stopped.why()},
                                                          {"text", incompleteText(r.stopped)}}
                                         : nlohmann::json(nullptr)},
      {"warnings", r.warnings},
      {"tracker_errors", r.tracker_errors},
  };
}

}  // namespace tidemark
