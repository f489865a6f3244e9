// A run of several processes: `tidemark run` writes one trace per process image into its run
// directory, and env-only injection on many hosts writes them wherever TIDEMARK_OUTPUT says. This
// file finds those traces, links them into the tree of the processes that wrote them (fork parent,
// exec predecessor, how each ended as its parent saw it) and adds up the tree's memory over time,
// with shared pages counted once (PSS).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "replay.h"
#include "summary.h"

namespace tidemark {

// The traces `path` names: itself when it is a file, the *.tmtrace files in it (by name) when it is
// a directory. Throws Error with a one-line reason when there are none.
std::vector<std::string> runTraces(const std::string& path);
// The traces of several such inputs together (a trace named twice counts once).
std::vector<std::string> runTraces(const std::vector<std::string>& inputs);
// How a report names several inputs: the one, or "3 inputs (a, b, ...)".
std::string inputsLabel(const std::vector<std::string>& inputs);

// Who wrote a trace: its header and its ProcessInfo record, read without replaying it.
struct ProcessIdentity {
  std::string trace;
  uint64_t pid = 0, ppid = 0;
  std::string host;
  uint64_t start_realtime_ns = 0;
  uint64_t peak_rss = 0, peak_pss = 0;  // as the header has them (kept up to date while it ran)
  bool stopped_early = false;           // the tracker stopped recording before the process ended
  std::string exe;
  std::vector<std::string> argv;
  std::string program() const;  // the executable's file name ("tidemark-engine", "python3.11")
  std::string command() const;  // the program's name and its arguments, shortened to 120 characters
};
ProcessIdentity readIdentity(const std::string& trace);

inline constexpr size_t kNoProcess = std::numeric_limits<size_t>::max();

// Links identities (any order) into a tree: parent[i] is the image that forked process i, or the
// image process i replaced by exec (exec_of_parent[i]), or kNoProcess for a root. Processes are
// matched by host and pid, at the time they ran.
struct ProcessLinks {
  std::vector<size_t> parent;
  std::vector<bool> exec_of_parent;
  std::vector<bool> replaced_by_exec;  // a later image of the same process exists
};
ProcessLinks linkProcesses(const std::vector<ProcessIdentity>& ids);

// Picks a process by pid or by the program's name or a word of its command ("engine" matches
// tidemark-engine); empty selector: the one with the largest peak RSS. Throws Error naming the
// candidates when none or several match.
size_t selectProcess(const std::vector<ProcessIdentity>& ids, const std::string& selector);

// The trace of `path` to analyse alone: the file itself, or the selected process of a run directory.
std::string selectedTrace(const std::string& path, const std::string& selector);

class TraceAnalysis;

// One process of a run, as its table row and the tree timeline need it.
struct RunProcess {
  ProcessIdentity id;
  size_t parent = kNoProcess;
  bool exec_of_parent = false;
  ProcessEnd end;  // the trace's own word, or its parent's when it waited for it
  Death death;
  uint64_t heap_peak = 0, rss_peak = 0, uss_peak = 0;
  uint64_t pss_peak = 0;  // the highest PSS read (not the estimates between reads)
  uint64_t leaked_bytes = 0;
  TraceAnomalies anomalies;  // of its trace
  bool sampled = false;  // sample mode: heap figures are estimates
  std::vector<SiteTrend> unbounded;  // the sites that grow without bound, strongest first
  size_t simulated_days = 0;         // date markers the process wrote
  // The samples, on the wall clock (ns since the epoch): RSS and its anonymous part (statm's
  // resident minus its file and shared pages).
  struct Point {
    uint64_t time_ns, rss, anon;
  };
  std::vector<Point> memory;
  // The reads of smaps_rollup, on the wall clock, with the anonymous RSS of that moment. The
  // tracker reads on a grid of the wall clock shared by every process of the run (pss_on_grid; not
  // before format 10's kFlagPssOnGrid), so that readings of the same moment agree on how many
  // processes share each page.
  struct PssReading {
    uint64_t time_ns, pss, anon;
  };
  std::vector<PssReading> pss_readings;
  bool pss_on_grid = false;
};

// What the tree held at one moment: its totals and each process's share.
struct TreeMoment {
  uint64_t time_ns = 0;  // since the run's first start
  uint64_t rss = 0, pss = 0;
  std::vector<std::pair<size_t, uint64_t>> pss_by_process;  // (process, PSS), largest first
};

// A job: a root of the run (a process that no traced process started: a sweep's job on its host, a
// task of a scheduler) and every process it started.
struct RunJob {
  size_t root = kNoProcess;
  std::vector<size_t> processes;  // the root first, by start
  size_t worst = kNoProcess;      // the process that ended worst (the OOM killer, a kill), else the root
  TreeMoment peak;                // the job's own peak, its processes' PSS added up
  std::vector<std::pair<size_t, SiteTrend>> unbounded;  // (process, site) growing without bound
};

struct RunTree {
  std::vector<RunProcess> processes;  // by start
  uint64_t start_realtime_ns = 0, end_realtime_ns = 0;
  std::vector<std::string> hosts;     // distinct, in order of appearance
  bool pss_measured = false;          // at least one process read smaps_rollup
  TreeMoment peak;                    // the moment of the highest total PSS
  std::vector<TreeMoment> timeline;   // totals only (pss_by_process empty), evenly spaced
  std::vector<RunJob> jobs;           // the worst first
  size_t selected = kNoProcess;       // the process whose analysis the caller kept
  std::string selected_because;       // "the largest peak RSS", ...; empty when it was asked for
};

// The moment the processes `members` held the most PSS together, with each one's share then.
TreeMoment peakOf(const RunTree& tree, const std::vector<size_t>& members);

// Each process's PSS over the run, for a stacked timeline: the `max_series` processes that held the
// most at the tree's peak (or, failing that, at their own), then one series for all the others
// (processes[k] == kNoProcess), at `points` evenly spaced moments (ns since the run's start).
struct StackedMemory {
  std::vector<uint64_t> times_ns;
  std::vector<size_t> processes;
  std::vector<std::vector<uint64_t>> pss;  // [series][moment]
};
StackedMemory stackedPss(const RunTree& tree, size_t max_series, size_t points);

// Analyses every process of the run at `path` (a run directory, or one trace). The selected
// process's analysis (selectProcess) is kept in `selected`, so that its full summary can follow the
// tree's table without reading its trace again.
RunTree analyzeRun(const std::vector<std::string>& inputs, const std::string& selector, const SummaryOptions& options,
                   std::unique_ptr<TraceAnalysis>& selected);

}  // namespace tidemark
