#include "process_tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "analysis.h"
#include "error.h"
#include "stack_groups.h"
#include "symbolizer.h"
#include "trace_reader.h"

namespace tidemark {

namespace fs = std::filesystem;

std::vector<std::string> runTraces(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw Error(fmt::format("cannot open trace {}: {}", path, strerror(errno)));
  if (!S_ISDIR(st.st_mode)) return {path};
  std::vector<std::string> traces;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
    const fs::path& p = e.path();
    if (p.extension() == ".tmtrace" && e.is_regular_file(ec)) traces.push_back(p.string());
  }
  if (ec) throw Error(fmt::format("cannot read the run directory {}: {}", path, ec.message()));
  if (traces.empty()) throw Error(fmt::format("{} holds no traces (*.tmtrace files)", path));
  std::sort(traces.begin(), traces.end());
  return traces;
}

std::vector<std::string> runTraces(const std::vector<std::string>& inputs) {
  std::vector<std::string> traces;
  for (const std::string& input : inputs)
    for (std::string& t : runTraces(input)) {
      std::error_code ec;
      std::string key = fs::weakly_canonical(t, ec).string();
      bool seen = std::any_of(traces.begin(), traces.end(), [&](const std::string& u) { return fs::weakly_canonical(u, ec).string() == key; });
      if (!seen) traces.push_back(std::move(t));
    }
  return traces;
}

std::string inputsLabel(const std::vector<std::string>& inputs) {
  if (inputs.size() == 1) return inputs[0];
  std::string label = fmt::format("{} inputs (", inputs.size());
  for (size_t k = 0; k < inputs.size() && k < 3; ++k) label += (k ? ", " : "") + inputs[k];
  return label + (inputs.size() > 3 ? ", ...)" : ")");
}

std::string ProcessIdentity::program() const {
  std::string name = fs::path(exe).filename().string();
  if (name.empty() && !argv.empty()) name = fs::path(argv[0]).filename().string();
  return name.empty() ? "?" : name;
}

std::string ProcessIdentity::command() const {
  std::string cmd = program();  // the program's name, not its path: the table has no room for paths
  for (size_t k = 1; k < argv.size(); ++k) cmd += " " + argv[k];
  constexpr size_t kWidth = 120;
  if (cmd.size() > kWidth) cmd = cmd.substr(0, kWidth - 3) + "...";
  return cmd;
}

ProcessIdentity readIdentity(const std::string& trace) {
  TraceReader reader(trace);
  const format::FileHeader& h = reader.header();
  ProcessIdentity id{.trace = trace,
                     .pid = h.pid,
                     .ppid = h.ppid,
                     .host = std::string(h.host, strnlen(h.host, sizeof h.host)),
                     .start_realtime_ns = h.start_realtime_ns,
                     .peak_rss = h.peak_rss,
                     .peak_pss = h.peak_pss,
                     .stopped_early = h.stop_reason != 0,
                     .exe = {},
                     .argv = {}};
  size_t seen = 0;
  reader.forEach([&](const Record& rec) {
    if (rec.type == format::RecordType::ProcessInfo) {
      const auto& p = rec.get<format::ProcessInfo>();
      id.exe = std::string(p.exe);
      id.argv = splitCommandLine(p.cmdline);
      reader.stopReading();
    } else if (++seen > 64) {
      reader.stopReading();  // written first: a trace without it is not worth reading through
    }
  });
  return id;
}

ProcessLinks linkProcesses(const std::vector<ProcessIdentity>& ids) {
  const size_t n = ids.size();
  ProcessLinks links{std::vector<size_t>(n, kNoProcess), std::vector<bool>(n, false), std::vector<bool>(n, false)};
  // The images of each process (host, pid), oldest first.
  std::map<std::pair<std::string, uint64_t>, std::vector<size_t>> images;
  for (size_t i = 0; i < n; ++i) images[{ids[i].host, ids[i].pid}].push_back(i);
  for (auto& [key, list] : images)
    std::sort(list.begin(), list.end(), [&](size_t a, size_t b) { return ids[a].start_realtime_ns < ids[b].start_realtime_ns; });
  for (auto& [key, list] : images) {
    for (size_t k = 1; k < list.size(); ++k) {
      links.parent[list[k]] = list[k - 1];
      links.exec_of_parent[list[k]] = true;
      links.replaced_by_exec[list[k - 1]] = true;
    }
    // The first image was forked: its parent is the image of the parent process that ran then.
    const ProcessIdentity& child = ids[list.front()];
    auto parent = images.find({child.host, child.ppid});
    if (parent == images.end()) continue;
    size_t best = kNoProcess;
    for (size_t candidate : parent->second)
      if (ids[candidate].start_realtime_ns <= child.start_realtime_ns) best = candidate;
    links.parent[list.front()] = best;
  }
  return links;
}

namespace {

bool matchesSelector(const ProcessIdentity& id, const std::string& selector) {
  if (std::to_string(id.pid) == selector || id.program() == selector) return true;
  if (id.program().find(selector) != std::string::npos) return true;
  for (size_t k = 1; k < id.argv.size(); ++k)
    if (fs::path(id.argv[k]).filename().string() == selector) return true;  // python3 script.py: "script.py"
  return false;
}

}  // namespace

size_t selectProcess(const std::vector<ProcessIdentity>& ids, const std::string& selector) {
  if (ids.empty()) throw Error("the run has no processes");
  if (selector.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < ids.size(); ++i)
      if (ids[i].peak_rss > ids[best].peak_rss) best = i;
    return best;
  }
  std::vector<size_t> found;
  for (size_t i = 0; i < ids.size(); ++i)
    if (matchesSelector(ids[i], selector)) found.push_back(i);
  // A pid names one process, whose last image is the one that ran last.
  if (found.size() > 1 && std::all_of(found.begin(), found.end(), [&](size_t i) { return ids[i].pid == ids[found[0]].pid; }))
    found = {found.back()};
  if (found.size() == 1) return found[0];
  std::string candidates;
  for (size_t i : found.empty() ? std::vector<size_t>() : found) candidates += fmt::format(" {} ({})", ids[i].pid, ids[i].program());
  if (found.empty()) {
    for (const ProcessIdentity& id : ids) candidates += fmt::format(" {} ({})", id.pid, id.program());
    throw Error(fmt::format("--process {}: no process of the run matches; its processes:{}", selector, candidates));
  }
  throw Error(fmt::format("--process {}: {} processes match; give a pid:{}", selector, found.size(), candidates));
}

std::string selectedTrace(const std::string& path, const std::string& selector) {
  std::vector<std::string> traces = runTraces(path);
  if (traces.size() == 1 && selector.empty()) return traces[0];
  std::vector<ProcessIdentity> ids;
  for (const std::string& t : traces) ids.push_back(readIdentity(t));
  return ids[selectProcess(ids, selector)].trace;
}

namespace {

// How the parent (started at parent_start) saw process pid end: its ChildEnd for that pid written
// after the process started (first_start: its first image's start), in the time of the image
// started at image_start.
ProcessEnd endSeenByParent(const std::vector<ChildEnd>& reaped, uint64_t parent_start, uint64_t pid, uint64_t first_start,
                           uint64_t image_start) {
  for (const ChildEnd& e : reaped) {
    uint64_t when = parent_start + e.time_ns;
    if (e.pid != pid || when < first_start) continue;
    return {.state = e.signaled ? EndState::Signaled : EndState::Exited,
            .code = e.code,
            .time_ns = when > image_start ? when - image_start : 0,
            .program = {}};
  }
  return {};
}

void describeProcess(RunProcess& p, const ReplayResult& run, const Summary& summary) {
  p.end = run.end;
  p.death = summary.death;
  p.heap_peak = run.heap_peak;
  p.rss_peak = run.rss_peak;
  p.pss_peak = run.pss_peak;
  p.uss_peak = run.uss_peak;
  p.leaked_bytes = summary.leaked_bytes;
  p.anomalies = run.anomalies;
  p.sampled = summary.sampled;
  p.simulated_days = summary.growth.simulated_days;
  for (const SiteTrend& t : summary.growth.sites)
    if (t.verdict.trend == Trend::Unbounded && !t.frames.empty() && p.unbounded.size() < 3) p.unbounded.push_back(t);
  p.pss_on_grid = run.pss_on_grid;
  p.memory.reserve(run.timeline.size());
  for (const TimelineSample& s : run.timeline) {
    const uint64_t when = run.start_realtime_ns + s.time_ns, anon = s.rss - std::min(s.rss, s.rss_file);
    p.memory.push_back({when, s.rss, anon});
    if (s.pss) p.pss_readings.push_back({when, s.pss, anon});
  }
}

// The tracker reads PSS at multiples of 100 ms (x 2^k) of the wall clock, each process when its
// sampler wakes at the grid point: 0.1-4 ms late here, more on a busy machine. A reading this soon
// after its grid point is of that moment; a later one (a sampler that woke late, a process's first
// reading at its start) is of its own.
constexpr uint64_t kGridNs = 100'000'000, kOnTimeNs = 5'000'000;

// The value of each of a set of processes at time t: its latest sample at or before t, while it ran.
//
// PSS is read now and then, and what a reading says of a shared page (its size over the number of
// processes mapping it) holds only at that moment: taken from each process's own latest reading, a
// file read by one worker before the others and by the others after counts more than once, and so
// do a parent's pages that its forked workers share. So the tree's PSS at t adds up the readings
// taken at the latest grid point (on time, so within 5 ms after it), plus the anonymous pages each
// process gained or lost since, which are its own. A process that started after the grid point
// counts the anonymous pages it gained since it started: what it shares with the others was theirs
// at the grid point. One that ran then but did not read on time (a sampler that woke late, or
// reads every 200 ms or more) counts the least that its readings around say of its shared pages.
// Either way a page is never counted twice, at the price of counting, until the next grid point,
// too little of the pages a process alone maps.
class TreeSampler {
 public:
  TreeSampler(const RunTree& tree, const std::vector<size_t>& members)
      : tree_(tree), members_(members), next_(members.size(), 0), next_reading_(members.size(), 0) {}

  TreeMoment at(uint64_t t, bool shares) {
    TreeMoment m{.time_ns = t - tree_.start_realtime_ns, .rss = 0, .pss = 0, .pss_by_process = {}};
    const uint64_t grid_point = t - t % kGridNs;
    for (size_t j = 0; j < members_.size(); ++j) {
      const RunProcess& p = tree_.processes[members_[j]];
      while (next_[j] < p.memory.size() && p.memory[next_[j]].time_ns <= t) ++next_[j];
      while (next_reading_[j] < p.pss_readings.size() && p.pss_readings[next_reading_[j]].time_ns <= t) ++next_reading_[j];
      if (next_[j] == 0 || t > p.memory.back().time_ns) continue;  // not started, or ended
      const RunProcess::Point& now = p.memory[next_[j] - 1];
      m.rss += now.rss;
      uint64_t pss = now.rss;  // never read: all of its pages count
      if (!p.pss_on_grid && next_reading_[j] > 0)  // a trace of format 10 or before: its latest reading
        pss = clampedSum(now.anon, sharedOf(p.pss_readings[next_reading_[j] - 1]));
      else if (p.pss_on_grid && p.memory.front().time_ns > grid_point)
        pss = clampedSum(now.anon, -static_cast<int64_t>(bounded(p.memory.front().anon)));
      else if (p.pss_on_grid && !p.pss_readings.empty())
        pss = clampedSum(now.anon, sharedPart(p, grid_point));
      m.pss += pss;
      if (shares && pss) m.pss_by_process.emplace_back(members_[j], pss);
    }
    std::sort(m.pss_by_process.begin(), m.pss_by_process.end(), [](auto& a, auto& b) { return a.second > b.second; });
    return m;
  }

 private:
  // What a reading counted beyond the anonymous pages of its moment: pages of files and shared
  // memory (negative when the process shares anonymous pages with a process it forked).
  static int64_t sharedOf(const RunProcess::PssReading& r) {
    return static_cast<int64_t>(bounded(r.pss)) - static_cast<int64_t>(bounded(r.anon));
  }

  // A figure of a hostile trace cannot overflow the sums: no process holds 4 EiB.
  static uint64_t bounded(uint64_t bytes) { return std::min<uint64_t>(bytes, uint64_t{1} << 62); }

  static bool onTime(const RunProcess::PssReading& r) { return r.time_ns % kGridNs < kOnTimeNs; }

  // p's share of shared pages at `grid_point`: its reading of then if it read on time, else the
  // least of its latest reading before and its readings after, up to the first on time.
  static int64_t sharedPart(const RunProcess& p, uint64_t grid_point) {
    const std::vector<RunProcess::PssReading>& r = p.pss_readings;
    auto after = std::lower_bound(r.begin(), r.end(), grid_point,
                                  [](const RunProcess::PssReading& x, uint64_t when) { return x.time_ns < when; });
    if (after != r.end() && after->time_ns < grid_point + kOnTimeNs) return sharedOf(*after);  // on time
    int64_t least = after == r.begin() ? 0 : sharedOf(*(after - 1));
    for (; after != r.end(); ++after) {
      least = std::min(least, sharedOf(*after));
      if (onTime(*after)) break;
    }
    return least;
  }

  static uint64_t clampedSum(uint64_t anon, int64_t shared) {
    return static_cast<uint64_t>(std::max<int64_t>(static_cast<int64_t>(bounded(anon)) + shared, 0));
  }

  const RunTree& tree_;
  const std::vector<size_t>& members_;
  std::vector<size_t> next_, next_reading_;
};

// Every moment any of the members sampled, in order.
std::vector<uint64_t> sampleTimes(const RunTree& tree, const std::vector<size_t>& members) {
  std::vector<uint64_t> times;
  for (size_t i : members)
    for (const RunProcess::Point& pt : tree.processes[i].memory) times.push_back(pt.time_ns);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

}  // namespace

TreeMoment peakOf(const RunTree& tree, const std::vector<size_t>& members) {
  std::vector<uint64_t> times = sampleTimes(tree, members);
  if (times.empty()) return {};
  uint64_t peak_time = times.front(), peak_pss = 0;
  TreeSampler sampler(tree, members);
  for (uint64_t t : times) {
    TreeMoment m = sampler.at(t, false);
    if (m.pss > peak_pss) {
      peak_pss = m.pss;
      peak_time = t;
    }
  }
  return TreeSampler(tree, members).at(peak_time, true);
}

namespace {

}  // namespace

StackedMemory stackedPss(const RunTree& tree, size_t max_series, size_t points) {
  StackedMemory out;
  const size_t n = tree.processes.size();
  if (n == 0 || points < 2 || tree.end_realtime_ns <= tree.start_realtime_ns) return out;
  // Who gets a series of its own: the largest shares at the tree's peak, then the largest peaks.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::vector<uint64_t> at_peak(n, 0);
  for (auto [i, pss] : tree.peak.pss_by_process) at_peak[i] = pss;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(at_peak[a], tree.processes[a].rss_peak) > std::make_pair(at_peak[b], tree.processes[b].rss_peak);
  });
  size_t own = std::min(n, n > max_series ? max_series - 1 : max_series);
  out.processes.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(own));
  std::vector<size_t> series_of(n, own);  // the others share the last series
  for (size_t k = 0; k < own; ++k) series_of[out.processes[k]] = k;
  if (own < n) out.processes.push_back(kNoProcess);
  out.pss.assign(out.processes.size(), std::vector<uint64_t>(points, 0));
  std::vector<size_t> everyone(n);
  for (size_t i = 0; i < n; ++i) everyone[i] = i;
  TreeSampler sampler(tree, everyone);
  const uint64_t span = tree.end_realtime_ns - tree.start_realtime_ns;
  for (size_t k = 0; k < points; ++k) {
    uint64_t t = tree.start_realtime_ns + span * k / (points - 1);
    out.times_ns.push_back(t - tree.start_realtime_ns);
    for (auto [i, pss] : sampler.at(t, true).pss_by_process) out.pss[series_of[i]][k] += pss;
  }
  return out;
}

namespace {

void addUpTree(RunTree& tree) {
  std::vector<size_t> everyone(tree.processes.size());
  for (size_t i = 0; i < everyone.size(); ++i) everyone[i] = i;
  std::vector<uint64_t> times = sampleTimes(tree, everyone);
  if (times.empty()) return;
  tree.start_realtime_ns = std::min(tree.start_realtime_ns, times.front());
  tree.end_realtime_ns = std::max(tree.end_realtime_ns, times.back());
  tree.peak = peakOf(tree, everyone);
  constexpr size_t kTimelinePoints = 400;
  TreeSampler sampler(tree, everyone);
  uint64_t span = tree.end_realtime_ns - tree.start_realtime_ns;
  for (size_t k = 0; k <= kTimelinePoints; ++k) tree.timeline.push_back(sampler.at(tree.start_realtime_ns + span * k / kTimelinePoints, false));
}

// How bad a process's end is, for ordering jobs: the OOM killer, another death, none.
int severity(Death::Kind kind) {
  switch (kind) {
    case Death::Kind::OomKilled: return 3;
    case Death::Kind::OomLikely: return 2;
    case Death::Kind::Killed: return 1;
    case Death::Kind::None: break;
  }
  return 0;
}

// The run's independent trees (its roots and what each started), the worst first.
void findJobs(RunTree& tree) {
  const size_t n = tree.processes.size();
  std::vector<size_t> job_of(n, kNoProcess);
  for (size_t i = 0; i < n; ++i) {  // by start: a parent comes before its children
    size_t parent = tree.processes[i].parent;
    if (parent == kNoProcess) {
      job_of[i] = tree.jobs.size();
      tree.jobs.emplace_back();
      tree.jobs.back().root = i;
    } else {
      job_of[i] = job_of[parent];
    }
  }
  for (size_t i = 0; i < n; ++i) {
    RunJob& job = tree.jobs[job_of[i]];
    const RunProcess& p = tree.processes[i];
    job.processes.push_back(i);
    if (job.worst == kNoProcess || severity(p.death.kind) > severity(tree.processes[job.worst].death.kind)) job.worst = i;
    for (const SiteTrend& t : p.unbounded) job.unbounded.emplace_back(i, t);
  }
  for (RunJob& job : tree.jobs) job.peak = peakOf(tree, job.processes);
  std::stable_sort(tree.jobs.begin(), tree.jobs.end(), [&](const RunJob& a, const RunJob& b) {
    auto key = [&](const RunJob& j) {
      return std::make_tuple(severity(tree.processes[j.worst].death.kind), j.unbounded.size(), j.peak.pss);
    };
    return key(a) > key(b);
  });
}

}  // namespace

RunTree analyzeRun(const std::vector<std::string>& inputs, const std::string& selector, const SummaryOptions& options,
                   std::unique_ptr<TraceAnalysis>& selected) {
  std::vector<ProcessIdentity> ids;
  for (const std::string& t : runTraces(inputs)) ids.push_back(readIdentity(t));
  std::sort(ids.begin(), ids.end(), [](const ProcessIdentity& a, const ProcessIdentity& b) {
    return std::tie(a.start_realtime_ns, a.pid) < std::tie(b.start_realtime_ns, b.pid);
  });
  ProcessLinks links = linkProcesses(ids);
  RunTree tree;
  tree.selected = selectProcess(ids, selector);
  tree.start_realtime_ns = UINT64_MAX;
  for (size_t i = 0; i < ids.size(); ++i) {
    RunProcess p;
    p.id = ids[i];
    p.parent = links.parent[i];
    p.exec_of_parent = links.exec_of_parent[i];
    if (std::find(tree.hosts.begin(), tree.hosts.end(), p.id.host) == tree.hosts.end()) tree.hosts.push_back(p.id.host);
    tree.start_realtime_ns = std::min(tree.start_realtime_ns, p.id.start_realtime_ns);
    tree.processes.push_back(std::move(p));
  }
  // Parents start before their children: in start order, each process's parent has been read when
  // it comes (the word of a parent that came later is applied after).
  std::vector<std::vector<ChildEnd>> reaped(ids.size());
  auto seenByParent = [&](size_t i) -> ProcessEnd {
    if (links.replaced_by_exec[i]) return {};  // only the last image of a process ends
    size_t first = i;
    while (links.exec_of_parent[first]) first = links.parent[first];
    if (links.parent[first] == kNoProcess) return {};
    // Any image of the fork parent may have reaped it (a shell that forked, then replaced itself).
    for (size_t q = 0; q < ids.size(); ++q) {
      if (ids[q].host != ids[first].host || ids[q].pid != ids[first].ppid) continue;
      ProcessEnd e = endSeenByParent(reaped[q], ids[q].start_realtime_ns, ids[i].pid, ids[first].start_realtime_ns,
                                     ids[i].start_realtime_ns);
      if (e.state != EndState::Unknown) return e;
    }
    return {};
  };
  // The run's memory limit and the OOM kills in its cgroup: the wrapper's records in the root's trace.
  RunLimit run_limit;
  OomKill group_oom;
  auto contextOf = [&](size_t i, bool victim) {
    return RunContext{.end_seen_by_parent = seenByParent(i), .limit = run_limit, .group_oom = group_oom, .oom_victim = victim};
  };
  auto analyze = [&](size_t i, bool victim) {
    RunContext context = contextOf(i, victim);
    auto analysis = std::make_unique<TraceAnalysis>(ids[i].trace, options, &context);
    const ReplayResult& run = analysis->run();
    reaped[i] = run.child_ends;
    if (run.group_oom.seen) group_oom = run.group_oom;
    if (run.run_limit.bytes) run_limit = run.run_limit;
    describeProcess(tree.processes[i], run, analysis->summary());
    return analysis;
  };
  std::unique_ptr<TraceAnalysis> kept;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto analysis = analyze(i, false);
    if (i == tree.selected) kept = std::move(analysis);
  }
  for (size_t i = 0; i < ids.size(); ++i) {  // parents read after their children
    RunProcess& p = tree.processes[i];
    ProcessEnd parent_word = seenByParent(i);
    if (!parentKnowsBetter(p.end, parent_word)) continue;
    p.end = parent_word;
    if (parent_word.state == EndState::Exited) p.death = {};
  }
  // The OOM killer's victims among the processes of the run: those that died of SIGKILL (or left no
  // end), the largest first, as many as it killed (it picks the largest).
  std::vector<size_t> victims;
  if (group_oom.seen) {
    std::vector<size_t> killed;
    for (size_t i = 0; i < ids.size(); ++i) {
      const RunProcess& p = tree.processes[i];
      bool sigkill = p.end.state == EndState::Signaled && p.end.code == SIGKILL;
      if (!links.replaced_by_exec[i] && (sigkill || p.end.state == EndState::Unknown) && !p.memory.empty()) killed.push_back(i);
    }
    std::stable_sort(killed.begin(), killed.end(), [&](size_t a, size_t b) {
      return tree.processes[a].memory.back().rss > tree.processes[b].memory.back().rss;
    });
    victims.assign(killed.begin(), killed.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(killed.size(), group_oom.kills)));
    for (size_t i : victims) tree.processes[i].death.kind = Death::Kind::OomKilled;
  }
  // The post-mortem's subject: the process the OOM killer ended, unless one was asked for.
  if (selector.empty()) tree.selected_because = "the largest peak RSS";
  if (selector.empty() && !victims.empty()) {
    tree.selected = victims.front();
    tree.selected_because = "the process the OOM killer ended";
  }
  bool selected_is_victim = std::find(victims.begin(), victims.end(), tree.selected) != victims.end();
  if (selected_is_victim || !kept) {
    kept = analyze(tree.selected, selected_is_victim);
  }
  selected = std::move(kept);
  addUpTree(tree);
  findJobs(tree);
  tree.pss_measured = std::any_of(tree.processes.begin(), tree.processes.end(), [](const RunProcess& p) { return p.pss_peak > 0; });
  return tree;
}

}  // namespace tidemark
