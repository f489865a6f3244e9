#include "gate.h"

#include <algorithm>

#include <fmt/format.h>

#include "error.h"
#include "flamegraph.h"
#include "python_report.h"
#include "units.h"

namespace tidemark {

bool GateResult::passed() const {
  return std::all_of(rules.begin(), rules.end(), [](const GateRule& r) { return r.passed; });
}

namespace {

void pythonRules(const MemoryProfile& run, const MemoryProfile* base, const GateOptions& o, GateResult& r) {
  auto needGraph = [](const MemoryProfile& p, const char* flag) {
    if (!p.python.available)
      throw Error(fmt::format("{}: {} needs a Python object graph, which a run records with tidemark run --scan on a "
                              "Python program", p.source, flag));
  };
  if (o.max_garbage_cycles) {
    needGraph(run, "--max-garbage-cycles");
    const auto& py = run.python;
    GateRule rule{.name = "max-garbage-cycles",
                  .passed = py.garbage_cycles <= *o.max_garbage_cycles,
                  .measured = static_cast<double>(py.garbage_cycles),
                  .limit = static_cast<double>(*o.max_garbage_cycles),
                  .text = ""};
    rule.text = fmt::format("{} Python garbage cycle{} ({}) {} {} (--max-garbage-cycles){}", groupedNumber(py.garbage_cycles),
                            py.garbage_cycles == 1 ? "" : "s", humanBytes(py.garbage_bytes), rule.passed ? "<=" : ">",
                            groupedNumber(*o.max_garbage_cycles), py.cycle_shapes.empty() ? "" : "; the largest: " + py.cycle_shapes[0]);
    r.rules.push_back(rule);
  }
  if (o.max_retained_growth) {
    needGraph(run, "--max-retained-growth");
    std::vector<RetainedGrowth> growth;
    std::string since;
    if (base) {
      needGraph(*base, "--max-retained-growth with --baseline");
      growth = retainedGrowth(base->python.groups, run.python.groups);
      since = "than in the baseline's last scan";
    } else {
      if (!run.python.growth_available)
        throw Error(fmt::format("{}: --max-retained-growth needs two scans in the run (tidemark.scan() in Python, or the "
                                "scan signal) or a --baseline", run.source));
      growth = run.python.growth;
      since = "from the run's first scan to its last";
    }
    const int64_t grown = growth.empty() ? 0 : growth[0].grown();
    GateRule rule{.name = "max-retained-growth",
                  .passed = grown <= static_cast<int64_t>(*o.max_retained_growth),
                  .measured = static_cast<double>(grown),
                  .limit = static_cast<double>(*o.max_retained_growth),
                  .text = ""};
    if (growth.empty()) {
      rule.text = fmt::format("no group of Python objects holds more {} (--max-retained-growth)", since);
    } else {
      const RetainedGrowth& g = growth[0];
      rule.text = fmt::format("{} holds {} more {} ({} → {}, {} → {} objects), {} {} (--max-retained-growth)",
                              groupName(g.name, g.global, g.objects_after), humanBytes(static_cast<uint64_t>(grown)), since,
                              humanBytes(g.held_before), humanBytes(g.held_after), groupedNumber(g.objects_before),
                              groupedNumber(g.objects_after), rule.passed ? "<=" : ">", humanBytes(*o.max_retained_growth));
    }
    r.rules.push_back(rule);
  }
}

}  // namespace

GateResult runGate(const MemoryProfile& whole_run, const MemoryProfile* whole_base, const GateOptions& o) {
  GateResult r;
  // With --phase, the peak and leak rules (and the baseline's) judge that phase only.
  const MemoryProfile run = o.phase.empty() ? whole_run : withinPhase(whole_run, o.phase);
  std::optional<MemoryProfile> scoped_base;
  if (whole_base) scoped_base = o.phase.empty() ? *whole_base : withinPhase(*whole_base, o.phase);
  const MemoryProfile* base = scoped_base ? &*scoped_base : nullptr;
  const std::string peak_heap = o.phase.empty() ? "peak heap" : fmt::format("peak heap in phase {} (above its start)", o.phase);
  const std::string leaked = o.phase.empty() ? "leaked at exit" : fmt::format("left live by phase {}", o.phase);
  bool baseline_rules = o.max_peak_increase || o.max_leaked_increase;
  if (baseline_rules && !base) throw Error("--max-peak-increase and --max-leaked-increase need --baseline BASE");
  if (base && !baseline_rules && !o.max_retained_growth)
    throw Error("--baseline needs --max-peak-increase, --max-leaked-increase or --max-retained-growth");
  if (!o.max_peak && !o.max_leaked && !o.no_unbounded_growth && !baseline_rules && !o.max_garbage_cycles &&
      !o.max_retained_growth && !o.max_tree_peak)
    throw Error("no rule given (--max-peak, --max-leaked, --no-unbounded-growth, --max-garbage-cycles, --max-retained-growth, "
                "--max-tree-peak, --baseline with --max-peak-increase or --max-leaked-increase)");
  // A run that crashed or was killed did not finish its work, and a trace that stopped early does
  // not hold all of it: their peaks and leaks are not the real ones.
  {
    bool died = run.death != "none" || run.signaled;
    GateRule rule{.name = "ended", .passed = !died, .measured = 0, .limit = 0, .text = ""};
    rule.text = !died                 ? fmt::format("the run ended: {}", run.end)
                : run.death != "none" ? fmt::format("the run did not end normally ({}): {}", run.death, run.end)
                                      : fmt::format("the run did not end normally: {}", run.end);
    r.rules.push_back(rule);
  }
  if (run.tree.present) {
    // Every process of the run: a worker the OOM killer ended fails the run even when the
    // command went on.
    GateRule rule{.name = "processes-ended", .passed = run.tree.died.empty(), .measured = 0, .limit = 0, .text = ""};
    rule.text = fmt::format("every process of the run ended ({})", run.tree.processes);
    if (!rule.passed) {
      rule.text = fmt::format("{} of the run's {} processes did not end normally:", run.tree.died.size(), run.tree.processes);
      for (size_t k = 0; k < run.tree.died.size(); ++k) rule.text += (k ? ", " : " ") + run.tree.died[k];
    }
    r.rules.push_back(rule);
  }
  if (o.max_tree_peak) {
    uint64_t peak = run.tree.present ? run.tree.peak : run.peak_rss;
    GateRule rule{.name = "max-tree-peak",
                  .passed = peak <= *o.max_tree_peak,
                  .measured = static_cast<double>(peak),
                  .limit = static_cast<double>(*o.max_tree_peak),
                  .text = ""};
    rule.text = fmt::format("{} {} {} {} (--max-tree-peak)",
                            !run.tree.present ? "peak RSS (one process)"
                            : run.tree.pss    ? "the run's peak PSS (its processes together, shared pages once)"
                                              : "the run's peak RSS (its processes together)",
                            humanBytes(peak), rule.passed ? "<=" : ">", humanBytes(*o.max_tree_peak));
    r.rules.push_back(rule);
  }
  {
    GateRule rule{.name = "complete", .passed = run.incomplete.empty(), .measured = 0, .limit = 0, .text = ""};
    rule.text = rule.passed ? "the trace is complete" : run.incomplete;
    r.rules.push_back(rule);
  }
  if (o.max_peak) {
    GateRule rule{.name = "max-peak",
                  .passed = run.peak_heap <= *o.max_peak,
                  .measured = static_cast<double>(run.peak_heap),
                  .limit = static_cast<double>(*o.max_peak),
                  .text = ""};
    rule.text = fmt::format("{} {} ({} bytes) {} {} (--max-peak)", peak_heap, humanBytes(run.peak_heap), groupedNumber(run.peak_heap),
                            rule.passed ? "<=" : ">", humanBytes(*o.max_peak));
    r.rules.push_back(rule);
  }
  if (o.max_leaked) {
    GateRule rule{.name = "max-leaked",
                  .passed = run.leaked <= *o.max_leaked,
                  .measured = static_cast<double>(run.leaked),
                  .limit = static_cast<double>(*o.max_leaked),
                  .text = ""};
    rule.text = fmt::format("{} {} ({} bytes) {} {} (--max-leaked)", leaked, humanBytes(run.leaked), groupedNumber(run.leaked),
                            rule.passed ? "<=" : ">", humanBytes(*o.max_leaked));
    r.rules.push_back(rule);
  }
  if (o.no_unbounded_growth) {
    if (!run.growth_available)
      throw Error(fmt::format("{}: --no-unbounded-growth needs per-site growth, which this aggregate trace does not "
                              "have (no stack levels: recorded before they were kept, or without the sampler and "
                              "simulated dates)",
                              run.source));
    GateRule rule{.name = "no-unbounded-growth",
                  .passed = run.unbounded.empty(),
                  .measured = static_cast<double>(run.unbounded.size()),
                  .limit = 0,
                  .text = ""};
    if (rule.passed)
      rule.text = "no site grows without bound (--no-unbounded-growth)";
    else {
      std::string names;
      for (const std::string& n : run.unbounded) names += (names.empty() ? "" : ", ") + n;
      rule.text = fmt::format("{} site{} grow{} without bound: {} (--no-unbounded-growth)", run.unbounded.size(),
                              run.unbounded.size() == 1 ? "" : "s", run.unbounded.size() == 1 ? "s" : "", names);
    }
    r.rules.push_back(rule);
  }
  auto increase = [&](const char* name, const std::string& what, uint64_t now, uint64_t was, double pct) {
    double allowed = static_cast<double>(was) * (1 + pct / 100);
    GateRule rule{.name = name,
                  .passed = static_cast<double>(now) <= allowed,
                  .measured = static_cast<double>(now),
                  .limit = allowed,
                  .text = ""};
    std::string change = was ? signedPercent(100.0 * (static_cast<double>(now) - static_cast<double>(was)) / static_cast<double>(was))
                             : now ? "up from nothing" : "+0.0%";
    rule.text = fmt::format("{} {} ({} bytes) against the baseline's {} ({} bytes): {}, at most {} allowed (--{} {})", what,
                            humanBytes(now), groupedNumber(now), humanBytes(was), groupedNumber(was), change,
                            signedPercent(pct), name, pct);
    r.rules.push_back(rule);
  };
  if (o.max_peak_increase) increase("max-peak-increase", peak_heap, run.peak_heap, base->peak_heap, *o.max_peak_increase);
  if (o.max_leaked_increase) increase("max-leaked-increase", leaked, run.leaked, base->leaked, *o.max_leaked_increase);
  if (o.max_garbage_cycles || o.max_retained_growth) pythonRules(run, base, o, r);
  return r;
}

std::string gateText(const GateResult& r) {
  std::string out;
  size_t broken = 0;
  for (const GateRule& rule : r.rules) {
    out += fmt::format("{}  {}\n", rule.passed ? "PASS" : "FAIL", rule.text);
    broken += !rule.passed;
  }
  out += broken ? fmt::format("gate: {} of {} rules broken\n", broken, r.rules.size())
                : fmt::format("gate: all {} rules hold\n", r.rules.size());
  return out;
}

nlohmann::json gateJson(const GateResult& r, const std::string& trace) {
  nlohmann::json rules = nlohmann::json::array();
  for (const GateRule& rule : r.rules)
    rules.push_back({{"rule", rule.name}, {"passed", rule.passed}, {"measured", rule.measured}, {"limit", rule.limit}, {"text", rule.text}});
  return {{"trace", trace}, {"passed", r.passed()}, {"rules", rules}};
}

std::string gateJunit(const GateResult& r, const std::string& trace) {
  size_t failures = 0;
  for (const GateRule& rule : r.rules) failures += !rule.passed;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"tidemark gate\" tests=\"{}\" failures=\"{}\">\n", r.rules.size(), failures);
  out += fmt::format("  <testsuite name=\"tidemark gate {}\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n", escapeXml(trace),
                     r.rules.size(), failures);
  for (const GateRule& rule : r.rules) {
    out += fmt::format("    <testcase classname=\"tidemark.gate\" name=\"{}\">\n", escapeXml(rule.name));
    if (!rule.passed) out += fmt::format("      <failure message=\"{}\"/>\n", escapeXml(rule.text));
    out += fmt::format("      <system-out>{}</system-out>\n    </testcase>\n", escapeXml(rule.text));
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace tidemark
