// A run is a tree of processes: every process the command starts writes its trace into the run
// directory, each is linked to its parent (fork) or to the image it replaced (exec), each ends as
// its parent saw it, and the tree's memory counts pages shared between processes once.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

using namespace tmtest;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// The processes of a run summary whose program is `name`, in start order.
std::vector<nlohmann::json> processesOf(const nlohmann::json& s, const std::string& name) {
  std::vector<nlohmann::json> out;
  for (const auto& p : s["run"]["processes"])
    if (p["program"] == name) out.push_back(p);
  return out;
}

// Four workers share a 64 MiB file mapping and hold 16 MiB each: the tree's PSS is the private
// memory of each plus the file once, as each worker's own smaps_rollup says; added-up RSS counts
// the file four times. Workers end with _exit(0), exit(3), SIGKILL and a return from main.
TEST(ProcessTree, ASweepWithASharedBundleCountsItOnceAndEveryWorkerEndsAsItsParentSaw) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/sweep";
  Result r = run({tidemark(), "run", "-o", run_dir, "--", program("tm-test-shared_bundle"), dir + "/bundle", "4", "64", "16"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("5 processes; the largest: tm-test-shared_bundle"), std::string::npos) << r.err;
  // What each worker read in its own smaps_rollup while all of them held everything.
  std::map<uint64_t, uint64_t> own_pss;  // by pid
  uint64_t own_total = 0;
  static const std::regex kWorker(R"(worker (\d) pid (\d+) pss (\d+))");
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), kWorker), end; it != end; ++it) {
    own_pss[std::stoull((*it)[2])] = std::stoull((*it)[3]);
    own_total += std::stoull((*it)[3]);
  }
  ASSERT_EQ(own_pss.size(), 4u) << r.out;
  EXPECT_NE(r.out.find("worker 2 signal 9"), std::string::npos) << r.out;

  auto s = summary(run_dir);
  const auto& run_json = s["run"];
  ASSERT_EQ(run_json["processes"].size(), 5u) << run_json.dump(1);
  EXPECT_TRUE(run_json["pss_measured"]);
  const auto& root = run_json["processes"][0];
  EXPECT_EQ(root["parent"], nullptr);
  EXPECT_EQ(root["end"]["state"], "exited");  // the wrapper's word
  std::map<uint64_t, std::string> ends;
  for (size_t i = 1; i < 5; ++i) {
    const auto& w = run_json["processes"][i];
    EXPECT_EQ(w["parent"], 0) << w.dump();
    uint64_t pid = w["pid"];
    ASSERT_TRUE(own_pss.count(pid)) << w.dump();
    // Each worker's peak PSS is at least what it read itself while all held everything (give or
    // take the tracker's own pages, the stack: 2 MiB), and more by at most the rest of the file: it
    // is the highest reading, and a reading taken while fewer workers had read the file gives it a
    // larger share (CI saw 41.9 MB against 34.2 MB; docs/processes.md).
    double peak = static_cast<double>(w["peak_pss"].get<uint64_t>()), own = static_cast<double>(own_pss[pid]);
    EXPECT_GE(peak, own - 2.0 * kMiB) << w.dump();
    EXPECT_LE(peak, own + 2.0 * kMiB + 64.0 * kMiB * 3 / 4) << w.dump();
    EXPECT_GE(w["peak_rss"].get<uint64_t>(), (64 + 16) * kMiB) << w.dump();  // RSS counts the whole file in each
    std::string end = w["end"]["state"].get<std::string>() + " " +
                      std::to_string(w["end"].contains("code") ? w["end"]["code"].get<int>() : w["end"]["signal"].get<int>());
    ends[pid] = end + " " + w["death"].get<std::string>();
  }
  std::multiset<std::string> seen;
  for (auto& [pid, e] : ends) seen.insert(e);
  // _exit(0), exit(3) (its code known from the parent only), SIGKILL, return from main.
  EXPECT_EQ(seen, (std::multiset<std::string>{"exited 0 none", "exited 3 none", "signaled 9 killed", "exited 0 none"}))
      << run_json["processes"].dump(1);

  // The tree at its peak: 4 × 16 MiB private and the file once, plus each process's program,
  // libraries and the tracker's pages; never the file four times, nor more than once (the tree adds
  // up readings of one moment, though a worker that read the file first once read all of it).
  uint64_t peak_pss = run_json["peak"]["pss"], peak_rss = run_json["peak"]["rss"];
  EXPECT_GE(peak_pss, (4 * 16 + 64) * kMiB);
  EXPECT_LE(peak_pss, own_total + 12 * kMiB) << "the workers' own figures add up to " << own_total;
  EXPECT_GE(peak_rss, 4 * (64 + 16) * kMiB);
  EXPECT_EQ(run_json["peak"]["held_by"].size(), 5u);

  // The text opens with the tree.
  Result text = run({tidemark(), "summary", run_dir});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("run       " + run_dir + ": 5 processes", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("PSS (shared pages counted once)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("killed: SIGKILL"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("exit 3"), std::string::npos) << text.out;

  // The workers' flamegraph, one or all of them added up: 16 MiB from worker() each.
  auto workerBytes = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {tidemark(), "flamegraph", run_dir, "--format", "folded", "--process",
                                     std::to_string(own_pss.begin()->first)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Result f = run(argv);
    EXPECT_EQ(f.code, 0) << f.err;
    uint64_t bytes = 0;
    std::istringstream lines(f.out);
    for (std::string line; std::getline(lines, line);) {
      std::string leaf = line.substr(line.rfind(';') + 1);  // the frame that allocated (printf's buffer is not it)
      if (leaf.rfind("worker ", 0) == 0) bytes += std::stoull(line.substr(line.rfind(' ') + 1));
    }
    return bytes;
  };
  EXPECT_EQ(workerBytes({}), 16 * kMiB);
  EXPECT_EQ(workerBytes({"--merge"}), 4 * 16 * kMiB);

  // The HTML report opens with the processes: a row each, and their PSS stacked over time.
  ASSERT_EQ(run({tidemark(), "report", run_dir, "-o", dir + "/report.html"}).code, 0);
  std::string html = readFile(dir + "/report.html");
  ASSERT_NE(html.find("<table id=\"run-processes\""), std::string::npos);
  std::string table = html.substr(html.find("<table id=\"run-processes\""));
  table = table.substr(0, table.find("</table>"));
  size_t rows = 0;
  for (size_t at = 0; (at = table.find("<tr>", at)) != std::string::npos; ++at) ++rows;
  EXPECT_EQ(rows, 6u);  // the header and the five processes
  std::string chart = html.substr(html.find("<svg id=\"run-timeline\""));
  chart = chart.substr(0, chart.find("</svg>"));
  size_t areas = 0;
  for (size_t at = 0; (at = chart.find("class=\"area\"", at)) != std::string::npos; ++at) ++areas;
  EXPECT_EQ(areas, 5u);  // one per process
  EXPECT_NE(html.find("killed: SIGKILL"), std::string::npos);

  // The gate judges the tree: its peak PSS, and every process's end (worker 2 was killed).
  Result gate = run({tidemark(), "gate", run_dir, "--max-tree-peak", "1GiB"});
  EXPECT_EQ(gate.code, 1) << gate.out;
  EXPECT_NE(gate.out.find("PASS  the run's peak PSS (its processes together, shared pages once)"), std::string::npos) << gate.out;
  EXPECT_NE(gate.out.find("FAIL  1 of the run's 5 processes did not end normally: tm-test-shared_bundle (pid"), std::string::npos)
      << gate.out;
  Result tight = run({tidemark(), "gate", run_dir, "--max-tree-peak", "100MiB"});
  EXPECT_NE(tight.out.find("FAIL  the run's peak PSS"), std::string::npos) << tight.out;
  // A container for the whole tree: from its peak PSS, not one process's RSS.
  Result advice = run({tidemark(), "recommend", run_dir});
  EXPECT_EQ(advice.code, 0) << advice.err;
  EXPECT_NE(advice.out.find("the run's 5 processes held " ), std::string::npos) << advice.out;
}

// Following children costs nothing in a program that starts none: its sampler never reads
// smaps_rollup (every sample's pss is 0), while a forking one's does.
TEST(ProcessTree, AProgramThatStartsNoProcessNeverReadsPss) {
  std::string dir = tempDir();
  // fewest_samples: enough for "never" to mean something (a quick worker of the sweep takes a few).
  auto pssReads = [&](const std::string& trace, size_t fewest_samples) {
    Result dump = run({tidemark(), "dump", trace});
    EXPECT_EQ(dump.code, 0) << dump.err;
    size_t samples = 0, reads = 0;
    std::istringstream lines(dump.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(" Sample ") == std::string::npos) continue;
      ++samples;
      reads += line.find(" pss=0 ") == std::string::npos;
    }
    EXPECT_GE(samples, fewest_samples) << trace;
    return reads;
  };
  Result alone = run({tidemark(), "run", "--interval-ms", "5", "-o", dir + "/alone", "--", TM_TRACED_ENGINE, "run", "-q",
                      "--days", "120", "--bundle-cache", dir});
  ASSERT_EQ(alone.code, 0) << alone.err;
  EXPECT_EQ(pssReads(onlyTrace(dir + "/alone"), 10), 0u);
  Result sweep = run({tidemark(), "run", "--interval-ms", "5", "-o", dir + "/sweep", "--", TM_TRACED_ENGINE, "run", "-q",
                      "--days", "120", "--bundle-cache", dir, "--sweep", "universe=20,30", "--workers", "2"});
  ASSERT_EQ(sweep.code, 0) << sweep.err;
  size_t reads = 0;
  for (const std::string& trace : tracesIn(dir + "/sweep")) reads += pssReads(trace, 1);
  EXPECT_GE(reads, 3u);  // the parent and each worker, at their first sample at least
}

// A worker that grows past the run's memory limit: the kernel's OOM killer ends it (the largest),
// and the tree's post-mortem names that worker and what it held, not the worker that another
// SIGKILL ended, nor the parent, which went on.
TEST(ProcessTree, AWorkerOomKilledInsideTheRunsMemoryLimitIsNamedWithWhatItHeld) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/oom";
  Result r = run({tidemark(), "run", "--memory-limit", "192M", "-o", run_dir, "--", program("tm-test-shared_bundle"),
                  dir + "/bundle", "4", "1", "16", "grow"});
  if (r.err.find("no cgroup can hold the limit here") != std::string::npos)
    GTEST_SKIP() << "no memory cgroup here: tidemark's watchdog limits the command's own RSS, not its workers'";
  ASSERT_EQ(r.code, 0) << r.err;  // the parent goes on and exits
  EXPECT_NE(r.err.find("the out-of-memory killer ended a process of tm-test-shared_bundle's group"), std::string::npos) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(worker 3 pid (\d+))"))) << r.out;
  const uint64_t grower = std::stoull(m[1]);
  EXPECT_NE(r.out.find("worker 3 signal 9"), std::string::npos) << r.out;

  auto s = summary(run_dir);
  EXPECT_EQ(s["pid"], grower);  // the post-mortem's subject
  EXPECT_EQ(s["death"]["verdict"], "oom-killed") << s["death"].dump(1);
  ASSERT_FALSE(s["death"]["held"].empty());
  EXPECT_EQ(s["death"]["held"][0]["site"].get<std::string>().rfind("grow (", 0), 0u) << s["death"].dump(1);
  EXPECT_GE(s["death"]["held"][0]["bytes"].get<uint64_t>(), 64 * kMiB);
  std::map<std::string, size_t> deaths;
  for (const auto& p : s["run"]["processes"]) ++deaths[p["death"].get<std::string>()];
  EXPECT_EQ(deaths["oom-killed"], 1u);
  EXPECT_EQ(deaths["killed"], 1u);  // worker 2's own SIGKILL: not the OOM killer's
  // The tree never held more than the limit; the grower most of it.
  EXPECT_LE(s["run"]["peak"]["pss"].get<uint64_t>(), 200 * kMiB);
  EXPECT_EQ(s["run"]["peak"]["held_by"][0]["pid"], grower);

  Result text = run({tidemark(), "summary", run_dir});
  EXPECT_EQ(text.out.rfind("OOM-killed: tm-test-shared_bundle (pid " + std::to_string(grower) + ")", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("the process the OOM killer ended; pick another"), std::string::npos) << text.out;
}

// A sweep of 16 jobs traced by the environment alone (as a Kubernetes Job or a Ray task is), four
// per "host" (a UTS namespace each, where this test may make them), one of which leaks every
// simulated day: the merged summary puts that job first and says what grows where.
TEST(ProcessTree, SixteenJobsOnFourHostsNameTheOneThatLeaksFirst) {
  std::string dir = tempDir();
  std::string traces = dir + "/shared";
  std::filesystem::create_directory(traces);
  const std::string engine = TM_TRACED_ENGINE;
  bool namespaces = run({"unshare", "--uts", "true"}).code == 0;
  uint64_t leaker = 0;
  for (int i = 0; i < 16; ++i) {
    std::string job = "exec env LD_PRELOAD=" + preload() + " TIDEMARK_OUTPUT=" + traces + "/%h-%p.tmtrace TIDEMARK_ENGINE_CACHE=" +
                      dir + " " + engine + " run -q --days 60 --seed " + std::to_string(i) +
                      (i == 11 ? " --fault leak-per-day --leak-bytes-per-day 2000000" : "");
    std::string host = "host" + std::to_string(i % 4);
    Result r = namespaces ? run({"unshare", "--uts", "sh", "-c", "hostname " + host + " && echo pid $$ && " + job})
                          : run({"sh", "-c", "echo pid $$ && " + job});
    ASSERT_EQ(r.code, 0) << r.err;
    if (i == 11) leaker = std::stoull(r.out.substr(4));
  }
  ASSERT_EQ(tracesIn(traces).size(), 16u);
  auto s = summary(traces);
  const auto& jobs = s["run"]["jobs"];
  ASSERT_EQ(jobs.size(), 16u);
  EXPECT_EQ(jobs[0]["pid"], leaker) << jobs.dump(1);  // the worst first
  ASSERT_EQ(jobs[0]["unbounded"].size(), 1u) << jobs[0].dump(1);
  EXPECT_EQ(jobs[0]["unbounded"][0]["site"].get<std::string>().rfind("tidemark::engine::leakDailyScratch", 0), 0u);
  // 2,000,000 bytes a simulated day, as the fault leaks them.
  EXPECT_NEAR(jobs[0]["unbounded"][0]["rate_per_day"].get<double>(), 2e6, 2e4) << jobs[0].dump(1);
  for (size_t k = 1; k < 16; ++k) EXPECT_TRUE(jobs[k]["unbounded"].empty()) << jobs[k].dump(1);
  ASSERT_EQ(s["run"]["diagnosis"].size(), 1u) << s["run"]["diagnosis"].dump(1);
  EXPECT_NE(s["run"]["diagnosis"][0].get<std::string>().find("grows without bound in 1 of 16 jobs: +1.91 MiB per simulated day"),
            std::string::npos)
      << s["run"]["diagnosis"].dump(1);
  EXPECT_EQ(s["pid"], leaker);  // shown in full: the largest
  if (namespaces) {
    EXPECT_EQ(s["run"]["hosts"], nlohmann::json({"host0", "host1", "host2", "host3"}));
    EXPECT_EQ(jobs[0]["host"], "host3");
    EXPECT_TRUE(std::filesystem::exists(traces + "/host3-" + std::to_string(leaker) + ".tmtrace"));  // %h
  }
  Result text = run({tidemark(), "summary", traces});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("run       " + traces + ": 16 jobs, 16 processes", 0), 0u) << text.out;
  // What tells the jobs apart.
  EXPECT_NE(text.out.find(std::filesystem::path(engine).filename().string() + " --seed 11"), std::string::npos) << text.out;

  // The merged HTML report: the diagnosis across jobs, and the leaking job's row first.
  Result html = run({tidemark(), "report", traces, "-o", dir + "/sweep.html"});
  ASSERT_EQ(html.code, 0) << html.err;
  std::string page = readFile(dir + "/sweep.html");
  EXPECT_NE(page.find("grows without bound in 1 of 16 jobs"), std::string::npos);
  size_t table = page.find("<table id=\"run-processes\"");
  ASSERT_NE(table, std::string::npos);
  size_t first_row = page.find("<tr><td>", table);
  ASSERT_NE(first_row, std::string::npos);
  EXPECT_EQ(page.compare(first_row, 8 + std::to_string(leaker).size() + 5, "<tr><td>" + std::to_string(leaker) + "</td>"), 0)
      << page.substr(first_row, 200);

  // Several inputs read as one run; a trace named twice counts once; a missing one is bad input.
  std::vector<std::string> some = tracesIn(traces);
  Result both = run({tidemark(), "summary", "--json", traces, some[0], some[1]});
  ASSERT_EQ(both.code, 0) << both.err;
  EXPECT_EQ(nlohmann::json::parse(both.out)["run"]["jobs"].size(), 16u);
  Result two = run({tidemark(), "summary", "--json", some[0], some[1]});
  ASSERT_EQ(two.code, 0) << two.err;
  EXPECT_EQ(nlohmann::json::parse(two.out)["run"]["jobs"].size(), 2u);
  Result missing = run({tidemark(), "summary", traces, dir + "/no-such.tmtrace"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("cannot open trace " + dir + "/no-such.tmtrace"), std::string::npos) << missing.err;
}

// A shell launcher that runs the engine, which forks its sweep's workers: bash, the child it forks
// and that becomes the engine by exec, and the engine's workers, each linked to its parent.
TEST(ProcessTree, AShellLauncherRunningTheEngineSweepIsOneTree) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/launch";
  std::string engine = TM_TRACED_ENGINE;
  Result r = run({tidemark(), "run", "-o", run_dir, "--", "bash", "-c",
                  "true; " + engine + " run -q --days 60 --sweep universe=20,30,40 --workers 3 --bundle-cache " + dir +
                      "; echo launcher done"},
                 {"TIDEMARK_ENGINE_CACHE=" + dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("launcher done"), std::string::npos) << r.out;
  auto s = summary(run_dir);
  const auto& processes = s["run"]["processes"];
  const std::string engine_name = std::filesystem::path(engine).filename().string();  // tidemark-engine(-plain)
  auto engines = processesOf(s, engine_name);
  ASSERT_EQ(engines.size(), 4u) << processes.dump(1);  // the sweep's parent and its 3 workers
  // The engine's parent process: the image bash forked, which exec'd it.
  const auto& sweep = engines[0];
  ASSERT_TRUE(sweep["exec_of_parent"]) << sweep.dump();
  const auto& forked_bash = processes[sweep["parent"].get<size_t>()];
  EXPECT_EQ(forked_bash["program"], "bash");
  EXPECT_EQ(forked_bash["end"]["state"], "exec");
  EXPECT_EQ(processes[forked_bash["parent"].get<size_t>()]["parent"], nullptr);  // the launcher, the root
  EXPECT_EQ(sweep["end"]["state"], "exited");  // reaped by the launcher
  for (size_t k = 1; k < 4; ++k) {
    EXPECT_EQ(processes[engines[k]["parent"].get<size_t>()]["pid"], sweep["pid"]) << engines[k].dump();
    EXPECT_EQ(engines[k]["end"]["state"], "exited") << engines[k].dump();  // _exit(0): an exit, not a death
    EXPECT_EQ(engines[k]["death"], "none");
    EXPECT_GT(engines[k]["peak_heap"].get<uint64_t>(), 1 * kMiB);  // each ran a backtest
  }
  EXPECT_EQ(s["run"]["hosts"].size(), 1u);
  // The workers map one bundle: the tree's PSS counts its pages once, its RSS added up once each.
  EXPECT_TRUE(s["run"]["pss_measured"]);
  EXPECT_LT(s["run"]["peak"]["pss"].get<uint64_t>(), s["run"]["peak"]["rss"].get<uint64_t>());
  // A process by pid; a name that matches none or several is refused with the candidates.
  auto picked = summary(run_dir, std::to_string(sweep["pid"].get<uint64_t>()));
  EXPECT_EQ(picked["pid"], sweep["pid"]);
  EXPECT_EQ(picked["argv"][0], engine);
  Result none = run({tidemark(), "summary", run_dir, "--process", "no-such-program"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no process of the run matches"), std::string::npos) << none.err;
  // Every process ended normally: the gate passes on the tree's peak, and fails below it.
  EXPECT_EQ(run({tidemark(), "gate", run_dir, "--max-tree-peak", "1GiB"}).code, 0);
  EXPECT_EQ(run({tidemark(), "gate", run_dir, "--max-tree-peak", "1MiB"}).code, 1);
  Result several = run({tidemark(), "summary", run_dir, "--process", engine_name});
  EXPECT_EQ(several.code, 2);
  EXPECT_NE(several.err.find("4 processes match; give a pid"), std::string::npos) << several.err;
}

// Forked Python workers that share the parent's buffer: the tree's peak is what the processes'
// own smaps_rollup add up to while all of them hold everything (within 0.7 MiB by hand, 9 of 9
// runs on 3.11-3.13; allowed 2% and 4 MiB), never the buffer once per worker.
TEST(ProcessTree, ForkedPythonWorkersSharingABufferCountItOnce) {
  const std::string source = programSource("python/shared_pool.py");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string run_dir = tempDir() + "/pool";
    Result r = run({tidemark(), "run", "-o", run_dir, "--", python, source});
    ASSERT_EQ(r.code, 0) << r.err;
    auto at = r.out.find("tree pss ");
    ASSERT_NE(at, std::string::npos) << r.out;
    const double own = std::stod(r.out.substr(at + 9));
    auto s = summary(run_dir);
    ASSERT_EQ(s["run"]["processes"].size(), 5u);
    const double peak = static_cast<double>(s["run"]["peak"]["pss"].get<uint64_t>());
    EXPECT_GE(peak, own - 4.0 * kMiB) << "the processes' own figures add up to " << own;
    EXPECT_LE(peak, own * 1.02 + 4.0 * kMiB) << "the processes' own figures add up to " << own;
    EXPECT_GE(own, (96 + 4 * 8) * kMiB);
    EXPECT_LT(own, (2 * 96 + 4 * 8) * kMiB);  // the buffer once
  }
}

}  // namespace
