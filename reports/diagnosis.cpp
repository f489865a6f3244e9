#include "diagnosis.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "flamegraph.h"
#include "python_report.h"
#include "text_layout.h"
#include "verdict_text.h"
#include "units.h"

namespace tidemark {

namespace {

using Kind = DiagnosisLine::Kind;

// A site rising and falling counts as a spike (a problem) when it alone made a fifth of the peak.
constexpr double kSpikeShare = 0.2;
// Leaks below both of these come after the larger problems (the sizes growth findings look at).
constexpr uint64_t kSmallLeakBytes = GrowthOptions{}.min_bytes;
constexpr double kSmallLeakShare = GrowthOptions{}.min_share;

std::string siteOf(const std::vector<Frame>& frames) { return frames.empty() ? "" : siteName(siteFrame(frames)); }

// The site as a person reads it: the short function name, then where.
std::string shownSite(const std::vector<Frame>& frames) {
  if (frames.empty()) return "an unknown site";
  const Frame& f = siteFrame(frames);
  Frame shown = f;
  shown.function = shortName(f.function);
  return siteName(shown);
}

std::string timeToLimit(const ProcessTrend& p, const EffectiveLimit& limit) {
  std::string when = humanDuration(static_cast<uint64_t>(p.seconds_to_limit * 1e9));
  if (p.days_to_limit >= 0) when += fmt::format(" (about {:.0f} simulated days)", p.days_to_limit);
  return fmt::format("RSS reaches the memory limit of {} in {} at the rate of the run's end", humanBytes(limit.bytes), when);
}

// Live at the end, by site (several stacks can end in one site), largest first.
std::vector<const LeakSite*> leaksBySite(const Summary& s, std::map<std::string, std::pair<uint64_t, uint64_t>>& totals) {
  std::vector<const LeakSite*> order;
  for (const LeakSite& l : s.leak_sites) {
    order.push_back(&l);
    totals[siteName(l.frame)] = {l.bytes, l.blocks};
  }
  return order;
}

// sampled: an estimate, from so many sampled blocks.
std::string blocksText(uint64_t bytes, uint64_t blocks, bool sampled) {
  return fmt::format("{} {} {} {}block{}", humanBytes(bytes), sampled ? "(estimated) from" : "in", groupedNumber(blocks),
                     sampled ? "sampled " : "", blocks == 1 ? "" : "s");
}

void addGrowth(std::vector<DiagnosisLine>& out, const Summary& s, std::map<std::string, std::pair<uint64_t, uint64_t>>& leak_totals) {
  const GrowthFindings& g = s.growth;
  bool any_site = false;
  for (const SiteTrend& t : g.sites) {
    if (t.verdict.trend != Trend::Unbounded) continue;
    any_site = true;
    std::string site = siteOf(t.frames);
    DiagnosisLine line{Kind::Unbounded, "Grows without bound: " + shownSite(t.frames),
                       fmt::format("{}, {} at the end", siteGrowthRate(t, g.simulated_days), humanBytes(t.final_bytes)), site,
                       {Evidence::Findings}};
    auto leaked = leak_totals.find(site);
    if (leaked != leak_totals.end() && s.ended_cleanly) {
      line.headline = "Grows without bound and leaks: " + shownSite(t.frames);
      line.detail += fmt::format("; {} never freed", blocksText(leaked->second.first, leaked->second.second, s.sampled));
      line.evidence.push_back(Evidence::Leaks);
      leak_totals.erase(leaked);  // said here, not again as a leak
    }
    out.push_back(std::move(line));
  }
  if (!g.process.available) return;
  const ProcessTrend& p = g.process;
  if (!any_site && p.heap.trend == Trend::Unbounded)
    out.push_back({Kind::HeapUnbounded, "The heap grows without bound, in sites too small to name one by one",
                   describeProcessVerdict(p.heap, p.span_s), "", {Evidence::Findings}});
  if (!p.rss_follows_heap && p.rss.trend == Trend::Unbounded)
    out.push_back({Kind::RssOutsideHeap, "RSS grows outside the heap (mappings, fragmentation, native buffers)",
                   describeProcessVerdict(p.rss, p.span_s), "", {Evidence::Findings}});
  if (s.limit.bytes && p.seconds_to_limit > 0 && s.death.kind == Death::Kind::None)
    out.push_back({Kind::LimitAhead, "On course to the memory limit", timeToLimit(p, s.limit), "", {Evidence::Findings}});
}

// CPython does not free everything at exit, nor do extension modules the caches they fill on first
// use (numpy's per-ufunc dispatch caches): without a heap scan to tell, a little never freed in a
// Python process (below both of the small leak's bounds) is that, not a finding.
bool smallLeak(uint64_t bytes, uint64_t heap_peak) {
  return bytes < kSmallLeakBytes && static_cast<double>(bytes) < kSmallLeakShare * static_cast<double>(heap_peak);
}
bool interpreterResidue(const Summary& s, uint64_t heap_peak) {
  return s.ended_cleanly && smallLeak(s.leaked_bytes, heap_peak) && !s.lost.available && s.python && s.python->seen;
}

void addHealthy(std::vector<DiagnosisLine>& out, const Summary& s, uint64_t heap_peak) {
  // A cache that levelled off and was still held at exit is bounded, but not "not a leak".
  std::set<std::string> leaked;
  if (s.ended_cleanly)
    for (const LeakSite& l : s.leak_sites) leaked.insert(siteName(l.frame));
  const bool held_to_exit = s.lost.nothingLostAtExit();  // the leak line is HeldAtExit, below these
  const GrowthFindings& g = s.growth;
  for (const SiteTrend& t : g.sites) {
    const TrendVerdict& v = t.verdict;
    std::string site = siteOf(t.frames);
    switch (v.trend) {
      case Trend::Transient:
        if (static_cast<double>(t.peak_bytes) >= kSpikeShare * static_cast<double>(heap_peak))
          out.push_back({Kind::Spike, "Spike: " + shownSite(t.frames),
                         fmt::format("up to {} ({:.0f}% of the heap's peak), {} at the end", humanBytes(t.peak_bytes),
                                     heap_peak ? 100.0 * static_cast<double>(t.peak_bytes) / static_cast<double>(heap_peak) : 0.0,
                                     humanBytes(t.final_bytes)),
                         site, {Evidence::Peak, Evidence::Findings}});
        break;
      case Trend::Plateau:
        if (leaked.count(site))
          out.push_back({Kind::BoundedCache,
                         "Bounded, and still held at exit: " + shownSite(t.frames),
                         fmt::format("levels off at {}: a cache that stopped growing; {} of it never freed ({})",
                                     humanBytes(static_cast<uint64_t>(v.level)), humanBytes(t.exit_bytes),
                                     held_to_exit ? "still reachable: counted in what was held until exit, below"
                                     : interpreterResidue(s, heap_peak) ? "counted in what was never freed, below"
                                                                        : "counted in the leak above"),
                         site,
                         {Evidence::Findings, held_to_exit ? Evidence::HeapScan : Evidence::Leaks}});
        else
          out.push_back({Kind::BoundedCache, "Bounded, not a leak: " + shownSite(t.frames),
                         fmt::format("levels off at {}: a cache that stopped growing", humanBytes(static_cast<uint64_t>(v.level))),
                         site, {Evidence::Findings}});
        break;
      case Trend::Periodic:
        out.push_back({Kind::Periodic, "Rises and falls, not a leak: " + shownSite(t.frames),
                       describeVerdict(t, g.simulated_days), site, {Evidence::Findings}});
        break;
      case Trend::GrowsWithWork:
        out.push_back({Kind::WorkingSet, "A working set, not a leak: " + shownSite(t.frames),
                       fmt::format("grew with the work, released before exit ({} left)", humanBytes(t.exit_bytes)), site,
                       {Evidence::Findings}});
        break;
      case Trend::NotEnoughEvidence:
        out.push_back({Kind::NotEnoughEvidence, "No verdict yet: " + shownSite(t.frames), describeVerdict(t, g.simulated_days),
                       site, {Evidence::Findings}});
        break;
      default: break;
    }
  }
}

// What "no problem found" rests on.
std::string checkedText(const ReplayResult& r, const Summary& s) {
  std::vector<std::string> checked;
  checked.push_back(fmt::format("{} {}allocations over {}", groupedNumber(r.allocations), s.sampled ? "sampled " : "",
                                humanDuration(r.duration_ns)));
  if (s.growth.available)
    checked.push_back(fmt::format("growth of {} site{} and of the process", s.growth.sites.size(), s.growth.sites.size() == 1 ? "" : "s"));
  else
    checked.push_back("no growth verdicts: " + s.growth.unavailable_reason);
  checked.push_back(s.ended_cleanly ? "what was live at exit" : "what was live at the end");
  if (s.lost.available) checked.push_back("a heap scan for lost blocks and cycles");
  if (s.python_objects.available) checked.push_back("the Python object graph");
  std::string text = "checked ";
  for (size_t i = 0; i < checked.size(); ++i) text += (i ? (i + 1 == checked.size() ? " and " : ", ") : "") + checked[i];
  return text;
}

// The end of a leak line's detail: how much of the heap the scan at exit found lost (nothing
// reachable points to it). "" without such a scan; a scan that found none makes the line HeldAtExit.
std::string lostAtExit(const LeakGraph& lost) {
  if (!lost.atExit()) return "";
  if (lost.nothingLostAtExit()) return "; the heap scan at exit found none of it lost: all still reachable, freed by the exit";
  return fmt::format("; the heap scan at exit found {} of the program's lost (nothing reachable points to them), the rest still "
                     "reachable",
                     blocksText(lost.program_lost_bytes, lost.program_lost_blocks, false));
}

}  // namespace

std::vector<DiagnosisLine> diagnose(const TraceAnalysis& analysis) {
  const ReplayResult& r = analysis.run();
  const Summary& s = analysis.summary();
  std::vector<DiagnosisLine> out;
  if (r.stopped.stopped()) out.push_back({Kind::Incomplete, incompleteText(r.stopped), "", "", {}});
  if (s.death.kind != Death::Kind::None) {
    std::string held;
    if (!s.leaks.empty() && s.leaks.front().live_bytes)
      held = fmt::format("; most held by {} ({})", shownSite(s.leaks.front().frames), humanBytes(s.leaks.front().live_bytes));
    out.push_back({Kind::Death, deathHeadline(s), s.death.evidence + held, "", {Evidence::Death}});
  }
  std::map<std::string, std::pair<uint64_t, uint64_t>> leak_totals;
  auto leak_order = leaksBySite(s, leak_totals);
  auto said = [&] {  // what the listed leak sites hold
    std::pair<uint64_t, uint64_t> sum{0, 0};
    for (const auto& [site, total] : leak_totals) sum = {sum.first + total.first, sum.second + total.second};
    return sum;
  };
  const auto listed = said();
  addGrowth(out, s, leak_totals);
  if (s.ended_cleanly && s.leaked_bytes) {
    // One line for every leaked byte the growth lines did not already name (the listed stacks are
    // only the largest), headed by its largest site.
    const auto left = said();
    uint64_t bytes = s.leaked_bytes - (listed.first - left.first), blocks = s.leaked_blocks - (listed.second - left.second);
    auto top = std::find_if(leak_order.begin(), leak_order.end(), [&](const LeakSite* l) { return leak_totals.count(siteName(l->frame)) > 0; });
    const bool small = smallLeak(bytes, r.heap_peak);
    // Memory the program still reached when it ended (memcheck's "still reachable") was held to the
    // end and freed by the exit: a leak is what it lost (xz -9 holds 1 GiB of encoder to its exit).
    const bool held = s.lost.nothingLostAtExit();
    const bool residue = !held && interpreterResidue(s, r.heap_peak);
    const Kind kind = held      ? Kind::HeldAtExit
                      : residue ? Kind::InterpreterResidue
                      : small   ? Kind::SmallLeak
                                : Kind::Leak;
    const std::string heading = held      ? "Held until exit, all still reachable"
                                : residue ? "Never freed at exit, a little"
                                          : "Leaked at exit";
    const std::string why =
        residue
            ? "; CPython and its extension modules keep what they cache to the end (--scan tells lost from reachable)"
            : "";
    const std::vector<Evidence> evidence{held ? Evidence::HeapScan : Evidence::Leaks};
    if (bytes && top == leak_order.end()) {
      out.push_back({kind, heading + ", in sites smaller than the ones listed",
                     blocksText(bytes, blocks, s.sampled) + " never freed" + lostAtExit(s.lost) + why, "", evidence});
    } else if (bytes) {
      const LeakSite& site = **top;
      out.push_back({kind, heading + ": " + shownSite({site.frame}),
                     (site.bytes == bytes ? blocksText(bytes, blocks, s.sampled) + " never freed"
                                          : fmt::format("{} never freed in all; this site, the largest, holds {}",
                                                        blocksText(bytes, blocks, s.sampled),
                                                        blocksText(site.bytes, site.blocks, s.sampled))) +
                         lostAtExit(s.lost) + why,
                     siteName(site.frame), evidence});
    }
  }
  if (s.lost.available && s.lost.cycle_count) {
    const LeakGraph& l = s.lost;
    out.push_back({Kind::LeakedCycles,
                   fmt::format("{} leaked cycle{}: {}", groupedNumber(l.cycle_count), l.cycle_count == 1 ? "" : "s",
                               l.cycle_groups.empty() ? std::string("blocks that only point to each other") : l.cycle_groups.front().shape),
                   fmt::format("{} that nothing reaches", blocksText(l.cycle_bytes, l.cycle_blocks, s.sampled)), "", {Evidence::HeapScan}});
  }
  const PythonGrowth& pg = s.python_growth;
  if (pg.available && !pg.groups.empty() && pg.groups.front().grown() >= kListedGrowthBytes) {
    const RetainedGrowth& top = pg.groups.front();
    out.push_back({Kind::PythonGrowth, "Python objects grew between scans: " + groupName(top.name, top.global, top.objects_after),
                   fmt::format("+{} ({} → {} objects)", humanBytes(static_cast<uint64_t>(top.grown())), groupedNumber(top.objects_before),
                               groupedNumber(top.objects_after)),
                   "", {Evidence::PythonObjects}});
  }
  const PythonObjectFindings& po = s.python_objects;
  if (po.available && po.cycle_count) {
    // The program's cycles are a problem; those made wholly while modules were imported or the
    // interpreter started are the modules' (a class and its dict), as their leaks are held for life.
    const uint64_t program_cycles = po.cycle_count - po.startup_cycle_count;
    auto largest = [&](bool startup) {
      auto g = std::find_if(po.cycle_groups.begin(), po.cycle_groups.end(), [&](const CycleGroup& c) { return c.startup == startup; });
      return g == po.cycle_groups.end() ? std::string() : "; the largest: " + g->shape;
    };
    const std::string modules = fmt::format("{} garbage cycle{} from imports", groupedNumber(po.startup_cycle_count),
                                            po.startup_cycle_count == 1 ? "" : "s");
    if (program_cycles)
      out.push_back({Kind::PythonGarbage,
                     fmt::format("{} garbage cycle{} only the cycle collector frees", groupedNumber(program_cycles), program_cycles == 1 ? "" : "s"),
                     fmt::format("{} in {} objects{}{}", humanBytes(po.cycle_bytes - po.startup_cycle_bytes),
                                 groupedNumber(po.cycle_objects - po.startup_cycle_objects), largest(false),
                                 po.startup_cycle_count ? "; not counted: " + modules + " (the modules', made as they were imported)" : ""),
                     "", {Evidence::PythonObjects}});
    else
      out.push_back({Kind::ModuleGarbage, modules + ", not the program's",
                     fmt::format("{} in {} objects made as modules were imported or the interpreter started, freed by the "
                                 "cycle collector's next full pass{}",
                                 humanBytes(po.startup_cycle_bytes),
                                 groupedNumber(po.startup_cycle_objects), largest(true)),
                     "", {Evidence::PythonObjects}});
  }
  addHealthy(out, s, r.heap_peak);
  std::stable_sort(out.begin(), out.end(), [](const DiagnosisLine& a, const DiagnosisLine& b) { return a.kind < b.kind; });
  if (std::none_of(out.begin(), out.end(), [](const DiagnosisLine& l) { return l.problem(); }))
    out.insert(out.begin(), {Kind::NoProblem, "No problem found", checkedText(r, s), "", {Evidence::Findings, Evidence::Leaks}});
  return out;
}

const char* evidenceHeading(Evidence e) {
  switch (e) {
    case Evidence::Death: return "the post-mortem below";
    case Evidence::Findings: return "Findings";
    case Evidence::Leaks: return "Leaked at exit";
    case Evidence::Peak: return "Heap at its peak";
    case Evidence::HeapScan: return "Heap scan";
    case Evidence::PythonObjects: return "Python objects";
    case Evidence::Header: return "the header";
  }
  return "";
}

const char* evidenceAnchor(Evidence e) {
  switch (e) {
    case Evidence::Death: return "death";
    case Evidence::Findings: return "findings-section";
    case Evidence::Leaks: return "leaks-section";
    case Evidence::Peak: return "peak-section";
    case Evidence::HeapScan: return "heap-scan-section";
    case Evidence::PythonObjects: return "python-objects-section";
    case Evidence::Header: return "incomplete";
  }
  return "";
}

const char* diagnosisKindKey(Kind k) {
  switch (k) {
    case Kind::Incomplete: return "incomplete";
    case Kind::Death: return "death";
    case Kind::LimitAhead: return "limit-ahead";
    case Kind::Unbounded: return "unbounded-growth";
    case Kind::HeapUnbounded: return "heap-unbounded";
    case Kind::RssOutsideHeap: return "rss-outside-heap";
    case Kind::Leak: return "leak";
    case Kind::LeakedCycles: return "leaked-cycles";
    case Kind::PythonGrowth: return "python-growth";
    case Kind::PythonGarbage: return "python-garbage";
    case Kind::Spike: return "spike";
    case Kind::SmallLeak: return "small-leak";
    case Kind::BoundedCache: return "bounded-cache";
    case Kind::Periodic: return "periodic";
    case Kind::WorkingSet: return "working-set";
    case Kind::HeldAtExit: return "held-at-exit";
    case Kind::InterpreterResidue:
      return "interpreter-residue";
    case Kind::ModuleGarbage: return "module-garbage";
    case Kind::NotEnoughEvidence: return "not-enough-evidence";
    case Kind::NoProblem: return "no-problem";
  }
  return "";
}

namespace {

std::string pointer(const DiagnosisLine& line) {
  std::string text;
  for (Evidence e : line.evidence) text += (text.empty() ? "" : ", ") + std::string(evidenceHeading(e));
  return text.empty() ? "" : " (see " + text + ")";
}

}  // namespace

void writeDiagnosis(std::ostream& out, const std::vector<DiagnosisLine>& lines) {
  size_t problems = std::count_if(lines.begin(), lines.end(), [](const DiagnosisLine& l) { return l.problem(); });
  if (problems)
    out << fmt::format("Diagnosis: {} problem{}, most severe first\n", problems, problems == 1 ? "" : "s");
  size_t n = 0;
  bool healthy_heading = false;
  for (const DiagnosisLine& l : lines) {
    if (l.kind == Kind::NoProblem) {
      out << "Diagnosis: no problem found\n" << wrapText(l.detail, kTextColumns, "  ", "    ");
      continue;
    }
    if (!l.problem() && !healthy_heading) {
      out << "  Also looked at:\n";
      healthy_heading = true;
    }
    std::string number = l.problem() ? fmt::format("  {}. ", ++n) : "  - ";
    out << wrapText(l.headline, kTextColumns, number, std::string(number.size() + 2, ' '));
    if (!l.detail.empty() || !l.evidence.empty())
      out << wrapText(l.detail + pointer(l), kTextColumns, std::string(number.size(), ' '), std::string(number.size() + 2, ' '));
  }
  out << '\n';
}

nlohmann::json diagnosisJson(const std::vector<DiagnosisLine>& lines) {
  nlohmann::json out = nlohmann::json::array();
  for (const DiagnosisLine& l : lines) {
    nlohmann::json evidence = nlohmann::json::array();
    for (Evidence e : l.evidence) evidence.push_back(evidenceAnchor(e));
    out.push_back({{"kind", diagnosisKindKey(l.kind)}, {"problem", l.problem()}, {"headline", l.headline}, {"detail", l.detail},
                   {"site", l.site}, {"evidence", evidence}});
  }
  return out;
}

nlohmann::ordered_json diagnosisFirst(const nlohmann::json& summary) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (summary.contains("diagnosis")) out["diagnosis"] = nlohmann::ordered_json::parse(summary["diagnosis"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  for (const auto& [key, value] : summary.items())
    if (key != "diagnosis") out[key] = nlohmann::ordered_json::parse(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return out;
}

std::string diagnosisHtml(const std::vector<DiagnosisLine>& lines) {
  // As the text has it: the problems numbered, most severe first; then what was looked at and
  // found healthy (or without evidence enough), unnumbered.
  auto item = [](const DiagnosisLine& l) {
    std::string links;
    for (Evidence e : l.evidence)
      links += fmt::format(" <a href=\"#{}\">{}</a>", evidenceAnchor(e), escapeXml(evidenceHeading(e)));
    return fmt::format("<li class=\"{}\" data-kind=\"{}\"{}><b>{}</b><br>{}<span class=\"evidence\">{}</span></li>\n",
                       l.problem()                         ? "problem"
                       : l.kind == Kind::NotEnoughEvidence ? "open"
                                                           : "healthy",
                       diagnosisKindKey(l.kind),
                       l.site.empty() ? "" : fmt::format(" data-site=\"{}\"", escapeXml(l.site)), escapeXml(l.headline),
                       escapeXml(l.detail), links);
  };
  const size_t problems = std::count_if(lines.begin(), lines.end(), [](const DiagnosisLine& l) { return l.problem(); });
  std::string out = "<section id=\"diagnosis\"><h2>Diagnosis</h2>\n";
  if (problems) out += fmt::format("<p>{} problem{}, most severe first</p>\n", problems, problems == 1 ? "" : "s");
  std::string first, rest;
  for (const DiagnosisLine& l : lines) (l.problem() || l.kind == Kind::NoProblem ? first : rest) += item(l);
  if (!first.empty()) out += "<ol class=\"diagnosis\">\n" + first + "</ol>\n";
  if (!rest.empty())
    out +=
        std::string(first.empty() ? "" : "<p>Also looked at:</p>\n") + "<ul class=\"diagnosis\">\n" + rest + "</ul>\n";
  return out + "</section>\n";
}

}  // namespace tidemark
