#include "run_report.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "stack_groups.h"
#include "summary_report.h"
#include "symbolizer.h"
#include "units.h"

namespace tidemark {

namespace {

// The processes in tree order (each after its parent, siblings by start) with their depth.
std::vector<std::pair<size_t, int>> treeOrder(const RunTree& tree) {
  const size_t n = tree.processes.size();
  std::vector<std::vector<size_t>> children(n);
  std::vector<size_t> roots;
  for (size_t i = 0; i < n; ++i) {
    size_t parent = tree.processes[i].parent;
    (parent == kNoProcess ? roots : children[parent]).push_back(i);
  }
  std::vector<std::pair<size_t, int>> order;
  std::vector<std::pair<size_t, int>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    auto [i, depth] = stack.back();
    stack.pop_back();
    order.emplace_back(i, depth);
    // The program a process became by exec stays at its depth: the same process, a new image.
    for (auto it = children[i].rbegin(); it != children[i].rend(); ++it)
      stack.emplace_back(*it, tree.processes[*it].exec_of_parent ? depth : depth + 1);
  }
  return order;
}

std::string siteOf(const SiteTrend& t) { return siteName(siteFrame(t.frames)); }

// What matters about one process, in a line: how it died, what it leaked, what grows without bound.
std::string findingsOf(const RunProcess& p) {
  std::vector<std::string> parts;
  if (p.death.kind != Death::Kind::None) {
    std::string when = humanDuration(p.death.time_ns);
    if (!p.death.simulation_date.empty()) when += " (simulation date " + p.death.simulation_date + ")";
    parts.push_back(fmt::format("{} at {}", p.death.kind == Death::Kind::OomKilled   ? "OOM-killed"
                                            : p.death.kind == Death::Kind::OomLikely ? "probably OOM-killed"
                                                                                     : "killed",
                                when));
  }
  for (const SiteTrend& t : p.unbounded) parts.push_back(fmt::format("{}: {}", siteOf(t), describeVerdict(t, p.simulated_days)));
  bool exited = p.end.state == EndState::Exited || p.end.state == EndState::ExitCalled;
  if (p.leaked_bytes >= 64 * 1024 && exited && p.death.kind == Death::Kind::None) parts.push_back(fmt::format("leaked {} at exit", humanBytes(p.leaked_bytes)));
  std::string out;
  for (const std::string& s : parts) out += (out.empty() ? "" : "; ") + s;
  return out;
}

std::string fit(std::string text, size_t width) {
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

}  // namespace

std::string shortEnd(const RunProcess& p) {
  switch (p.death.kind) {
    case Death::Kind::OomKilled: return "OOM-killed";
    case Death::Kind::OomLikely: return "OOM-killed?";
    default: break;
  }
  switch (p.end.state) {
    case EndState::Exited: return fmt::format("exit {}", p.end.code);
    case EndState::Signaled: return fmt::format("killed: {}", signalName(p.end.code));
    case EndState::ExitCalled: return "exit()";
    case EndState::Exec: return "exec";
    case EndState::Unknown: break;
  }
  return "no end: killed";
}

void writeRunText(std::ostream& out, const std::string& path, const RunTree& tree) {
  uint64_t span = tree.end_realtime_ns > tree.start_realtime_ns ? tree.end_realtime_ns - tree.start_realtime_ns : 0;
  // A post-mortem leads with its verdict: which process the OOM killer ended, holding what.
  for (const RunProcess& p : tree.processes) {
    if (p.death.kind != Death::Kind::OomKilled) continue;
    out << fmt::format("OOM-killed: {} (pid {}) {} into the run{}, RSS {}", p.id.program(), p.id.pid,
                       humanDuration(p.id.start_realtime_ns + p.death.time_ns - tree.start_realtime_ns),
                       p.death.simulation_date.empty() ? "" : " (simulation date " + p.death.simulation_date + ")",
                       humanBytes(p.memory.empty() ? 0 : p.memory.back().rss));
    out << (p.death.evidence.empty() ? "\n" : "; " + p.death.evidence + "\n");
  }
  out << fmt::format("run       {}: {} processes{}, {}\n", path, tree.processes.size(),
                     tree.hosts.size() > 1 ? fmt::format(" on {} hosts", tree.hosts.size()) : std::string(), humanDuration(span));
  if (tree.peak.pss) {
    out << fmt::format("tree peak {} {} at {}, the memory a container limit must cover", humanBytes(tree.peak.pss),
                       tree.pss_measured ? "PSS (shared pages counted once)" : "RSS", humanDuration(tree.peak.time_ns));
    if (tree.pss_measured && tree.peak.rss > tree.peak.pss)
      out << fmt::format("; RSS added up: {}", humanBytes(tree.peak.rss));
    out << '\n';
    std::string held;
    for (size_t k = 0; k < tree.peak.pss_by_process.size() && k < 4; ++k) {
      const RunProcess& p = tree.processes[tree.peak.pss_by_process[k].first];
      held += fmt::format("{}{} (pid {}) {}", k ? ", " : "", p.id.program(), p.id.pid, humanBytes(tree.peak.pss_by_process[k].second));
    }
    if (tree.peak.pss_by_process.size() > 4) held += fmt::format(", and {} more", tree.peak.pss_by_process.size() - 4);
    if (!held.empty()) out << "          held then by " << held << '\n';
  }
  out << '\n';
  out << fmt::format("  {:<8} {:<36} {:<15} {:>10} {:>10} {:>10}\n", "pid", "process", "ended", "peak heap", "peak RSS",
                     tree.pss_measured ? "peak PSS" : "");
  for (auto [i, depth] : treeOrder(tree)) {
    const RunProcess& p = tree.processes[i];
    std::string indent(static_cast<size_t>(std::min(depth, 6)) * 2, ' ');
    // A forked worker runs its parent's command line: the tree says whose it is.
    bool forked = p.parent != kNoProcess && !p.exec_of_parent && tree.processes[p.parent].id.argv == p.id.argv;
    std::string name = indent + (p.exec_of_parent ? "-> " : "") + (forked ? p.id.program() + " (forked)" : p.id.command());
    std::string host = tree.hosts.size() > 1 ? p.id.host + ":" : "";
    out << fmt::format("  {:<8} {:<36} {:<15} {:>10} {:>10} {:>10}\n", fit(host + std::to_string(p.id.pid), 8),
                       fit(name, 36), shortEnd(p), humanBytes(p.heap_peak), humanBytes(p.rss_peak),
                       !tree.pss_measured ? "" : p.pss_peak ? humanBytes(p.pss_peak) : "-");
    if (std::string findings = findingsOf(p); !findings.empty()) out << "           " << indent << "^ " << findings << '\n';
  }
}

nlohmann::json runJson(const std::string& path, const RunTree& tree) {
  nlohmann::json processes = nlohmann::json::array();
  for (const RunProcess& p : tree.processes) {
    nlohmann::json unbounded = nlohmann::json::array();
    for (const SiteTrend& t : p.unbounded)
      unbounded.push_back({{"site", siteOf(t)}, {"rate_per_hour", t.rate_per_hour}, {"rate_per_day", t.rate_per_day}});
    processes.push_back({{"pid", p.id.pid},
                         {"ppid", p.id.ppid},
                         {"host", p.id.host},
                         {"parent", p.parent == kNoProcess ? nlohmann::json() : nlohmann::json(p.parent)},
                         {"exec_of_parent", p.exec_of_parent},
                         {"program", p.id.program()},
                         {"command", p.id.command()},
                         {"trace", p.id.trace},
                         {"start_s", static_cast<double>(p.id.start_realtime_ns - tree.start_realtime_ns) / 1e9},
                         {"end", endJson(p.end)},
                         {"death", deathKindName(p.death.kind)},
                         {"peak_heap", p.heap_peak},
                         {"peak_rss", p.rss_peak},
                         {"peak_pss", p.pss_peak},
                         {"peak_uss", p.uss_peak},
                         {"leaked_bytes", p.leaked_bytes},
                         {"unbounded", unbounded},
                         {"findings", findingsOf(p)}});
  }
  nlohmann::json held = nlohmann::json::array();
  for (auto [i, pss] : tree.peak.pss_by_process) held.push_back({{"process", i}, {"pid", tree.processes[i].id.pid}, {"pss", pss}});
  nlohmann::json timeline = nlohmann::json::array();
  for (const TreeMoment& m : tree.timeline) timeline.push_back({static_cast<double>(m.time_ns) / 1e9, m.rss, m.pss});
  return {{"path", path},
          {"hosts", tree.hosts},
          {"processes", processes},
          {"selected", tree.selected},
          {"pss_measured", tree.pss_measured},
          {"peak", {{"time_s", static_cast<double>(tree.peak.time_ns) / 1e9}, {"pss", tree.peak.pss}, {"rss", tree.peak.rss}, {"held_by", held}}},
          {"timeline_columns", {"time_s", "rss", "pss"}},
          {"timeline", timeline}};
}

}  // namespace tidemark
