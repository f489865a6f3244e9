#include "run_report.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "flamegraph.h"
#include "html_report.h"
#include "stack_groups.h"
#include "summary_report.h"
#include "symbolizer.h"
#include "text_layout.h"
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
  if (p.id.stopped_early) parts.push_back(fmt::format("recording stopped early (tidemark summary --process {} says why)", p.id.pid));
  for (const SiteTrend& t : p.unbounded) parts.push_back(fmt::format("{}: {}", siteOf(t), describeVerdict(t, p.simulated_days)));
  bool exited = p.end.state == EndState::Exited || p.end.state == EndState::ExitCalled;
  if (p.leaked_bytes >= 64 * 1024 && exited && p.death.kind == Death::Kind::None) parts.push_back(fmt::format("leaked {}{} at exit", humanBytes(p.leaked_bytes), p.sampled ? " (estimated)" : ""));
  std::string out;
  for (const std::string& s : parts) out += (out.empty() ? "" : "; ") + s;
  return out;
}

std::string rateOf(const SiteTrend& t) { return siteGrowthRate(t, t.rate_per_day > 0 ? 2 : 0); }

// The median of the rates of one site across jobs (the middle job's).
std::string medianRate(std::vector<SiteTrend> trends) {
  std::sort(trends.begin(), trends.end(), [](const SiteTrend& a, const SiteTrend& b) {
    return std::tie(a.rate_per_day, a.rate_per_hour) < std::tie(b.rate_per_day, b.rate_per_hour);
  });
  std::string rate = rateOf(trends[trends.size() / 2]);
  return trends.size() > 1 ? rate + " (median)" : rate;
}

// What tells the jobs apart: each root's command without the arguments every job has at the same
// place (an option whose value differs keeps its name): "tidemark-engine --seed 11 --fault leak".
std::vector<std::string> distinctCommands(const RunTree& tree) {
  std::vector<const std::vector<std::string>*> argvs;
  for (const RunJob& job : tree.jobs) argvs.push_back(&tree.processes[job.root].id.argv);
  std::vector<std::string> out;
  for (size_t j = 0; j < argvs.size(); ++j) {
    const std::vector<std::string>& argv = *argvs[j];
    auto common = [&](size_t k) {
      return k < argv.size() && std::all_of(argvs.begin(), argvs.end(), [&](auto* a) { return k < a->size() && (*a)[k] == argv[k]; });
    };
    std::string cmd = tree.processes[tree.jobs[j].root].id.program();
    for (size_t k = 1; k < argv.size(); ++k) {
      bool names_a_difference = argv[k].starts_with("-") && k + 1 < argv.size() && !common(k + 1);
      if (argvs.size() > 1 && common(k) && !names_a_difference) continue;
      cmd += " " + argv[k];
    }
    out.push_back(cmd);
  }
  return out;
}

std::string jobsText(size_t k, size_t n) { return fmt::format("{} of {} job{}", k, n, n == 1 ? "" : "s"); }

}  // namespace

std::vector<std::string> diagnoseJobs(const RunTree& tree) {
  const size_t n = tree.jobs.size();
  // Each site that grows without bound, with the jobs it grows in (once per job).
  std::map<std::string, std::vector<std::pair<size_t, SiteTrend>>> by_site;
  for (size_t j = 0; j < n; ++j) {
    std::set<std::string> seen;
    for (const auto& [process, trend] : tree.jobs[j].unbounded)
      if (seen.insert(siteOf(trend)).second) by_site[siteOf(trend)].emplace_back(j, trend);
  }
  std::vector<std::string> lines;
  std::set<std::string> said;
  for (auto [kinds, what] : {std::pair{std::vector{Death::Kind::OomKilled, Death::Kind::OomLikely}, "OOM-killed"},
                             std::pair{std::vector{Death::Kind::Killed}, "killed (a signal or a crash)"}}) {
    std::set<size_t> dead;
    for (size_t j = 0; j < n; ++j) {
      Death::Kind k = tree.processes[tree.jobs[j].worst].death.kind;
      if (std::find(kinds.begin(), kinds.end(), k) != kinds.end()) dead.insert(j);
    }
    if (dead.empty()) continue;
    std::string line = fmt::format("{} {} {}", jobsText(dead.size(), n), dead.size() == 1 ? "was" : "were", what);
    // What the dead jobs grew in: the site most of them share.
    std::string best;
    std::vector<SiteTrend> best_trends;
    for (const auto& [site, list] : by_site) {
      std::vector<SiteTrend> trends;
      for (const auto& [j, t] : list)
        if (dead.count(j)) trends.push_back(t);
      if (trends.size() > best_trends.size()) {
        best = site;
        best_trends = trends;
      }
    }
    if (!best.empty()) {
      line += fmt::format("; {} grew in {} at {}", best_trends.size() == dead.size() ? (dead.size() == 1 ? "it" : "all " + std::to_string(dead.size())) : fmt::format("{} of them", best_trends.size()),
                          best, medianRate(best_trends));
      said.insert(best);
    }
    lines.push_back(line);
  }
  std::vector<std::pair<std::string, std::vector<SiteTrend>>> growing;
  for (const auto& [site, list] : by_site) {
    if (said.count(site)) continue;
    std::vector<SiteTrend> trends;
    for (const auto& [j, t] : list) trends.push_back(t);
    growing.emplace_back(site, trends);
  }
  std::stable_sort(growing.begin(), growing.end(), [](auto& a, auto& b) { return a.second.size() > b.second.size(); });
  for (size_t k = 0; k < growing.size() && k < 3; ++k)
    lines.push_back(fmt::format("{} grows without bound in {}: {}", growing[k].first, jobsText(growing[k].second.size(), n),
                                medianRate(growing[k].second)));
  if (lines.empty()) lines.push_back(fmt::format("no job died, and nothing grows without bound in any of the {} jobs", n));
  return lines;
}

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

namespace {

// Many independent jobs (a sweep's traces on a shared volume): what went wrong across them, then
// one row per job, the worst first.
void writeJobs(std::ostream& out, const RunTree& tree) {
  out << "diagnosis\n";
  for (const std::string& line : diagnoseJobs(tree)) out << "  " << line << '\n';
  out << '\n';
  bool hosts = tree.hosts.size() > 1;
  if (hosts) {
    // Each host's processes added up: what its node held at its peak.
    out << fmt::format("  {:<20} {:>5} {:>6} {:>5} {:>10}\n", "host", "jobs", "procs", "died", tree.pss_measured ? "peak PSS" : "peak RSS");
    for (const std::string& host : tree.hosts) {
      std::vector<size_t> members;
      size_t jobs = 0, died = 0;
      for (const RunJob& job : tree.jobs) {
        if (tree.processes[job.root].id.host != host) continue;
        ++jobs;
        died += tree.processes[job.worst].death.kind != Death::Kind::None;
        members.insert(members.end(), job.processes.begin(), job.processes.end());
      }
      TreeMoment peak = peakOf(tree, members);
      out << fmt::format("  {:<20} {:>5} {:>6} {:>5} {:>10}\n", clipText(host, 20), jobs, members.size(), died,
                         humanBytes(tree.pss_measured ? peak.pss : peak.rss));
    }
    out << '\n';
  }
  std::vector<std::string> commands = distinctCommands(tree);
  out << fmt::format("  {:<{}} {:<34} {:>5} {:<15} {:>10} {:>10}\n", hosts ? "host:pid" : "pid", hosts ? 20 : 8, "job",
                     "procs", "ended", "peak heap", tree.pss_measured ? "peak PSS" : "peak RSS");
  for (size_t j = 0; j < tree.jobs.size(); ++j) {
    const RunJob& job = tree.jobs[j];
    const RunProcess& root = tree.processes[job.root];
    const RunProcess& worst = tree.processes[job.worst];
    uint64_t heap = 0;
    for (size_t i : job.processes) heap = std::max(heap, tree.processes[i].heap_peak);
    std::string who = (hosts ? root.id.host + ":" : "") + std::to_string(root.id.pid);
    out << fmt::format("  {:<{}} {:<34} {:>5} {:<15} {:>10} {:>10}\n", clipText(who, hosts ? 20 : 8), hosts ? 20 : 8,
                       clipText(commands[j], 34), job.processes.size(), shortEnd(worst), humanBytes(heap),
                       humanBytes(tree.pss_measured ? job.peak.pss : job.peak.rss));
    std::string findings = findingsOf(worst);
    for (const auto& [i, trend] : job.unbounded)
      if (i != job.worst && findings.find(siteOf(trend)) == std::string::npos)
        findings += (findings.empty() ? "" : "; ") + fmt::format("{}: {}", siteOf(trend), describeVerdict(trend, tree.processes[i].simulated_days));
    if (!findings.empty()) out << "    ^ " << (job.worst != job.root ? fmt::format("pid {}: ", worst.id.pid) : "") << findings << '\n';
  }
}

}  // namespace

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
  std::string jobs = tree.jobs.size() > 1 ? fmt::format("{} jobs, ", tree.jobs.size()) : "";
  out << fmt::format("run       {}: {}{} processes{}, {}\n", path, jobs, tree.processes.size(),
                     tree.hosts.size() > 1 ? fmt::format(" on {} hosts", tree.hosts.size()) : std::string(), humanDuration(span));
  // One tree's peak is what its container must hold; independent jobs each have their own.
  if (tree.peak.pss && tree.jobs.size() == 1) {
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
  if (tree.jobs.size() > 1) {
    writeJobs(out, tree);
    return;
  }
  out << fmt::format("  {:<8} {:<36} {:<15} {:>10} {:>10} {:>10}\n", "pid", "process", "ended", "peak heap", "peak RSS",
                     tree.pss_measured ? "peak PSS" : "");
  for (auto [i, depth] : treeOrder(tree)) {
    const RunProcess& p = tree.processes[i];
    std::string indent(static_cast<size_t>(std::min(depth, 6)) * 2, ' ');
    // A forked worker runs its parent's command line: the tree says whose it is.
    bool forked = p.parent != kNoProcess && !p.exec_of_parent && tree.processes[p.parent].id.argv == p.id.argv;
    std::string name = indent + (p.exec_of_parent ? "-> " : "") + (forked ? p.id.program() + " (forked)" : p.id.command());
    std::string host = tree.hosts.size() > 1 ? p.id.host + ":" : "";
    out << fmt::format("  {:<8} {:<36} {:<15} {:>10} {:>10} {:>10}\n", clipText(host + std::to_string(p.id.pid), 8),
                       clipText(name, 36), shortEnd(p), humanBytes(p.heap_peak), humanBytes(p.rss_peak),
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
                         {"anomalies", anomaliesJson(p.anomalies)},
                         {"stopped_early", p.id.stopped_early},
                         {"unbounded", unbounded},
                         {"findings", findingsOf(p)}});
  }
  nlohmann::json held = nlohmann::json::array();
  for (auto [i, pss] : tree.peak.pss_by_process) held.push_back({{"process", i}, {"pid", tree.processes[i].id.pid}, {"pss", pss}});
  nlohmann::json timeline = nlohmann::json::array();
  for (const TreeMoment& m : tree.timeline) timeline.push_back({static_cast<double>(m.time_ns) / 1e9, m.rss, m.pss});
  nlohmann::json jobs = nlohmann::json::array();
  for (const RunJob& job : tree.jobs) {
    nlohmann::json sites = nlohmann::json::array();
    for (const auto& [i, t] : job.unbounded) sites.push_back({{"process", i}, {"site", siteOf(t)}, {"rate_per_day", t.rate_per_day}, {"rate_per_hour", t.rate_per_hour}});
    jobs.push_back({{"root", job.root},
                    {"host", tree.processes[job.root].id.host},
                    {"pid", tree.processes[job.root].id.pid},
                    {"processes", job.processes},
                    {"worst", job.worst},
                    {"death", deathKindName(tree.processes[job.worst].death.kind)},
                    {"peak_pss", job.peak.pss},
                    {"peak_rss", job.peak.rss},
                    {"unbounded", sites}});
  }
  return {{"path", path},
          {"hosts", tree.hosts},
          {"jobs", jobs},
          {"diagnosis", diagnoseJobs(tree)},
          {"processes", processes},
          {"selected", tree.selected},
          {"pss_measured", tree.pss_measured},
          {"peak", {{"time_s", static_cast<double>(tree.peak.time_ns) / 1e9}, {"pss", tree.peak.pss}, {"rss", tree.peak.rss}, {"held_by", held}}},
          {"timeline_columns", {"time_s", "rss", "pss"}},
          {"timeline", timeline}};
}

namespace {

std::string h(const std::string& text) { return escapeXml(text); }

std::string cells(const std::vector<std::string>& values, bool header = false) {
  std::string out = "<tr>";
  for (const std::string& v : values) out += (header ? "<th>" : "<td>") + v + (header ? "</th>" : "</td>");
  return out + "</tr>\n";
}

// The processes' PSS stacked over the run: who held what, and the tree's total as the top edge.
std::string stackedSvg(const RunTree& tree) {
  constexpr size_t kSeries = 8, kPoints = 300;
  StackedMemory m = stackedPss(tree, kSeries, kPoints);
  std::vector<StackedSeries> series;
  for (size_t s = 0; s < m.pss.size(); ++s)
    series.push_back({m.processes[s] == kNoProcess
                          ? "the others"
                          : fmt::format("{} (pid {})", tree.processes[m.processes[s]].id.program(), tree.processes[m.processes[s]].id.pid),
                      m.pss[s]});
  return stackedAreaSvg("run-timeline", m.times_ns, series);
}

}  // namespace

std::string runHtml(const std::string& path, const RunTree& tree) {
  std::string out = "<h2>Processes</h2>\n<div id=\"run-section\">\n";
  uint64_t span = tree.end_realtime_ns > tree.start_realtime_ns ? tree.end_realtime_ns - tree.start_realtime_ns : 0;
  out += "<p>" + h(fmt::format("{}: {}{} processes{}, {}", path, tree.jobs.size() > 1 ? fmt::format("{} jobs, ", tree.jobs.size()) : "",
                               tree.processes.size(), tree.hosts.size() > 1 ? fmt::format(" on {} hosts", tree.hosts.size()) : "",
                               humanDuration(span)));
  if (tree.jobs.size() == 1 && tree.peak.pss)
    out += h(fmt::format(". Tree peak {} {} at {}: the memory a container limit must cover", humanBytes(tree.peak.pss),
                         tree.pss_measured ? "PSS (shared pages counted once)" : "RSS", humanDuration(tree.peak.time_ns)));
  out += "</p>\n";
  for (const RunProcess& p : tree.processes)
    if (p.death.kind == Death::Kind::OomKilled)
      out += "<p class=\"run-death\"><b>" + h(fmt::format("OOM-killed: {} (pid {})", p.id.program(), p.id.pid)) + "</b> " +
             h(p.death.evidence) + "</p>\n";
  if (tree.jobs.size() > 1) {
    out += "<ul id=\"run-diagnosis\">\n";
    for (const std::string& line : diagnoseJobs(tree)) out += "<li>" + h(line) + "</li>\n";
    out += "</ul>\n";
  }
  out += stackedSvg(tree);
  out += "<table id=\"run-processes\" style=\"white-space:nowrap\">\n" +
         cells({"pid", "host", "parent", "process", "ended", "peak heap", "peak RSS", "peak PSS", "findings"}, true);
  // Job by job, the worst first (one job: its processes by start).
  std::vector<size_t> order;
  for (const RunJob& job : tree.jobs) order.insert(order.end(), job.processes.begin(), job.processes.end());
  for (size_t i : order) {
    const RunProcess& p = tree.processes[i];
    std::string parent = p.parent == kNoProcess ? "" : std::to_string(tree.processes[p.parent].id.pid) + (p.exec_of_parent ? " (exec)" : "");
    std::string command = "<code style=\"white-space:normal\">" + h(p.id.command()) + "</code>";
    out += cells({h(std::to_string(p.id.pid)), h(p.id.host), h(parent), command, h(shortEnd(p)),
                  h(humanBytes(p.heap_peak)), h(humanBytes(p.rss_peak)), h(p.pss_peak ? humanBytes(p.pss_peak) : "-"),
                  "<span style=\"white-space:normal\">" + h(findingsOf(p)) + "</span>"});
  }
  out += "</table>\n";
  if (tree.selected != kNoProcess) {
    const RunProcess& shown = tree.processes[tree.selected];
    out += "<p>" + h(fmt::format("The rest of this report is process {} ({}){}; tidemark report --process PID|NAME shows another.",
                                 shown.id.pid, shown.id.program(),
                                 tree.selected_because.empty() ? "" : ", " + tree.selected_because)) + "</p>\n";
  }
  return out + "</div>\n";
}

}  // namespace tidemark
