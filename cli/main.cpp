// tidemark: the command line in front of the tracker, the analyzer and the reports.
#include <malloc.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis.h"
#include "baseline_report.h"
#include "diagnosis.h"
#include "diff.h"
#include "error.h"
#include "flamegraph.h"
#include "gate.h"
#include "html_report.h"
#include "lines.h"
#include "live_view.h"
#include "manual.h"
#include "process_tree.h"
#include "progress_line.h"
#include "run_report.h"
#include "range_view.h"
#include "recommend.h"
#include "run_command.h"
#include "summary_report.h"
#include "trace_reader.h"
#include "units.h"

using namespace tidemark;

namespace {

// A trace, or a run of several processes: the tree first, then the selected process in full.
int summaryCommand(const std::vector<std::string>& inputs, const std::string& process, bool json, bool full, size_t top,
                   uint64_t limit) {
  SummaryOptions options{.top = top, .full = full, .growth = {}, .limit = limit};
  std::unique_ptr<TraceAnalysis> analysis;
  std::optional<RunTree> tree;
  const std::string path = inputsLabel(inputs);
  if (std::vector<std::string> traces = runTraces(inputs); traces.size() == 1 && process.empty())
    analysis = std::make_unique<TraceAnalysis>(traces[0], options);
  else
    tree = analyzeRun(inputs, process, options, analysis);
  if (json) {
    nlohmann::json j = summaryJson(*analysis);
    if (tree) j["run"] = runJson(path, *tree);
    std::cout << diagnosisFirst(j).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return 0;
  }
  if (tree) {
    writeRunText(std::cout, path, *tree);
    const RunProcess& shown = tree->processes[tree->selected];
    std::cout << fmt::format("\nprocess {} ({}){}:\n\n", shown.id.pid, shown.id.program(),
                             tree->selected_because.empty()
                                 ? ""
                                 : ", " + tree->selected_because + "; pick another with --process PID|NAME");
  }
  writeSummaryText(std::cout, *analysis, full);
  return 0;
}

struct GateArgs {
  std::string trace, junit, process;
  bool json = false;
  GateOptions rules;
};

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw Error(fmt::format("cannot write {}", path));
}

int gateCommand(const GateArgs& a) {
  MemoryProfile run = loadProfile(a.trace, a.process);
  std::optional<MemoryProfile> base;
  if (!a.rules.baseline.empty()) base = loadProfile(a.rules.baseline);
  GateResult r = runGate(run, base ? &*base : nullptr, a.rules);
  if (!a.junit.empty()) writeFile(a.junit, gateJunit(r, a.trace));
  if (a.json)
    std::cout << gateJson(r, a.trace).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  else
    std::cout << gateText(r);
  return r.passed() ? 0 : 1;
}

int diffCommand(const std::string& base_path, const std::string& new_path, const std::string& format,
                const std::string& metric, const std::string& output, size_t top) {
  MemoryProfile base = loadProfile(base_path), next = loadProfile(new_path);
  std::string text = format == "folded" ? diffFolded(base, next, metric)
                     : format == "json" ? diffJson(base, next).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                                        : diffText(base, next, top);
  if (output.empty())
    std::cout << text;
  else
    writeFile(output, text);
  return 0;
}

// run: what the user named (a trace or a run directory); trace: the process read in it.
int linesCommand(const std::string& run, const std::string& trace, const std::string& process, const std::string& where,
                 const std::vector<std::string>& source_dirs, bool json) {
  LineQuery query = parseLineQuery(where);
  TraceAnalysis analysis(trace, SummaryOptions{});
  std::vector<LineReport> reports;
  try {
    reports = lineReports(analysis, query, source_dirs);
  } catch (const Error& e) {
    // In a run of several processes, one was read: say which, and how to read another.
    const size_t processes = runTraces(run).size();
    if (processes < 2) throw;
    const ProcessIdentity read = readIdentity(trace);
    throw Error(fmt::format("{} in {} (pid {}), {} of the run's {} processes: read another with --process PID", e.what(),
                            read.program(), read.pid, process.empty() ? "the largest" : "the one chosen", processes));
  }
  if (json)
    std::cout << linesJson(reports).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  else
    std::cout << linesText(reports);
  return 0;
}

int recommendCommand(const std::vector<std::string>& inputs, const std::string& process) {
  std::unique_ptr<TraceAnalysis> analysis;
  if (std::vector<std::string> traces = runTraces(inputs); traces.size() == 1 && process.empty()) {
    analysis = std::make_unique<TraceAnalysis>(traces[0], SummaryOptions{});
    std::cout << recommend(*analysis);
  } else {
    RunTree tree = analyzeRun(inputs, process, SummaryOptions{}, analysis);
    std::cout << recommend(*analysis, &tree);
  }
  return 0;
}

struct FlameArgs {
  std::string trace, metric = "peak", format = "svg", output;
  std::string run;  // the run directory (or trace) the user named; trace is the process picked in it
  std::string thread;  // a thread's tid or name: its allocations only
  bool inverted = false, full = false, merge = false;
};

// The stack groups as one thread of the process saw them: a thread that allocated, by its tid, or
// by its name when no other thread that allocated has it.
std::vector<StackGroup> threadGroups(const TraceAnalysis& analysis, const std::vector<StackGroup>& groups, const std::string& thread) {
  const ReplayResult& run = analysis.run();
  if (run.threads.empty())
    throw Error(fmt::format("{} does not name its threads (a trace written before tidemark recorded threads)", analysis.tracePath()));
  // The threads that allocated: the summary's, or the only one.
  std::vector<std::pair<uint32_t, const ThreadInfo*>> allocated;
  for (const ThreadSummary& t : analysis.summary().threads) allocated.emplace_back(t.index, &run.threads[t.index]);
  if (allocated.empty() && run.sole_allocating_thread < run.threads.size())
    allocated.emplace_back(run.sole_allocating_thread, &run.threads[run.sole_allocating_thread]);
  std::vector<uint32_t> matches;
  for (const auto& [index, info] : allocated)
    if (std::to_string(info->tid) == thread || info->name == thread) matches.push_back(index);
  if (matches.empty())
    throw Error(fmt::format("no thread {} allocated in {} (summary --json lists its threads)", thread, analysis.tracePath()));
  if (matches.size() > 1)
    throw Error(fmt::format("{} threads named {} allocated in {}: give a tid (summary --json lists them)", matches.size(), thread,
                            analysis.tracePath()));
  if (analysis.summary().threads.empty()) return groups;  // the only thread that allocated
  return threadShare(run, groups, matches[0]);
}

int flamegraphCommand(const FlameArgs& a) {
  std::vector<FlameStack> stacks;
  FlameOptions options;
  options.metric = a.metric + " bytes";
  options.inverted = a.inverted;
  // The traces to draw: the one picked, or with --merge every process of the run that ran its program.
  std::vector<std::string> traces{a.trace};
  ProcessIdentity picked = readIdentity(a.trace);
  if (a.merge) {
    traces.clear();
    for (const std::string& t : runTraces(a.run))
      if (readIdentity(t).program() == picked.program()) traces.push_back(t);
  }
  for (const std::string& trace : traces) {
    TraceAnalysis analysis(trace, SummaryOptions{});
    std::vector<StackGroup> groups = analysis.stackGroups(a.full);
    if (!a.thread.empty()) groups = threadGroups(analysis, groups, a.thread);
    std::vector<FlameStack> mine = flameStacks(groups, a.metric);
    stacks.insert(stacks.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
  }
  options.title = picked.command();
  if (traces.size() > 1) {
    options.title = fmt::format("{} processes of {}", traces.size(), picked.program());
    if (a.metric == "peak") options.metric = "peak bytes (each process's own peak, added up)";
  }
  if (!a.thread.empty()) options.title = "thread " + a.thread + " of " + options.title;
  std::string text;
  if (a.format == "folded")
    text = foldedStacks(stacks, options);
  else if (a.format == "speedscope")
    text = speedscope(stacks, options).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  else if (a.format == "html") {
    text = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escapeXml(options.title) + "</title><style>" +
           flameStyle() + "</style></head><body style=\"margin:0\">\n<div>" + flameDataHtml(stacks, options) +
           "</div>\n<script>\n" + flameScript() + flameDrawScript() + "tidemarkDrawFlames();\n</script>\n</body></html>\n";
  }
  else
    text = flameSvg(stacks, options);
  if (a.output.empty() || a.output == "-") {
    std::cout << text;
  } else {
    std::ofstream out(a.output, std::ios::binary);
    if (!out) throw Error(fmt::format("cannot write {}", a.output));
    out << text;
    if (!out.flush()) throw Error(fmt::format("cannot write {}", a.output));
    std::cerr << fmt::format("tidemark: {} flamegraph ({}) written to {}\n", a.metric, a.format, a.output);
  }
  return 0;
}

int reportCommand(const std::vector<std::string>& inputs, const std::string& process, const std::string& output,
                  uint64_t limit, const std::vector<std::string>& source_dirs, const std::string& baseline) {
  // The baseline first: a bad one is an error before minutes go into the new run's analysis.
  std::optional<ComparedRun> base;
  if (!baseline.empty()) base = loadComparedRun(baseline);
  SummaryOptions options{.top = 20, .full = false, .growth = {}, .limit = limit};
  std::unique_ptr<TraceAnalysis> selected;
  ReportSections sections;
  if (std::vector<std::string> traces = runTraces(inputs); traces.size() == 1 && process.empty())
    selected = std::make_unique<TraceAnalysis>(traces[0], options);
  else
    sections.run = runHtml(inputsLabel(inputs), analyzeRun(inputs, process, options, selected));
  const TraceAnalysis& analysis = *selected;
  std::vector<StackGroup> groups = analysis.stackGroups(false);
  std::vector<ReportFlames> flames = reportFlames(analysis, groups);
  if (base) {
    if (inputs.size() != 1) throw Error("--baseline compares one run with another: give one trace or run directory");
    sections.baseline = baselineHtml(*base, loadComparedRun(inputs[0], process));
  }
  sections.range = rangeSectionHtml(analysis, groups);
  sections.sites = sitesOverTimeHtml(analysis.run(), groups);
  std::string html = htmlReport(analysis, flames, functionLineReports(groups, kReportLineFunctions, source_dirs), sections);
  std::ofstream out(output, std::ios::binary);
  if (!out) throw Error(fmt::format("cannot write {}", output));
  out << html;
  if (!out.flush()) throw Error(fmt::format("cannot write {}", output));
  std::cerr << fmt::format("tidemark: report written to {} ({})\n", output, humanBytes(html.size()));
  return 0;
}

// Prints a record's fields as name=value, in wire order, from the record's own definition.
class FieldPrinter {
 public:
  std::string text;
  bool varint(const char* name, uint64_t v) { return add(fmt::format("{}={}", name, v)); }
  bool since(uint32_t, const char* name, uint64_t v) { return varint(name, v); }
  bool signedVarint(const char* name, int64_t v) { return add(fmt::format("{}={}", name, v)); }
  bool address(const char* name, uint64_t v) { return add(fmt::format("{}=0x{:x}", name, v)); }
  bool bytes(const char* name, std::string_view v) {
    // Printable ASCII as it is, every other byte as \xNN: a build id, a Latin-1 path and a
    // terminal escape all print as what they are.
    std::string text = "\"";
    for (unsigned char c : v) {
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
        text += static_cast<char>(c);
      else
        text += fmt::format("\\x{:02x}", c);
    }
    return add(fmt::format("{}={}\"", name, text));
  }

 private:
  bool add(const std::string& field) {
    text += (text.empty() ? "" : " ") + field;
    return true;
  }
};

// Exit code 0 when every trace is packed or has nothing to pack (packed already, aggregate mode),
// 1 when one was left as it was for another reason, which is printed.
int packCommand(const std::vector<std::string>& inputs) {
  PackSummary packed = packTraces(runTraces(inputs));
  endProgress();
  if (!packed.text().empty()) std::cout << "tidemark: " << packed.text() << '\n';
  if (!packed.packed && packed.left.empty())
    std::cout << fmt::format("tidemark: nothing to pack: {} packed already or in aggregate mode\n",
                             packed.traces == 1 ? "the trace is" : fmt::format("the {} traces are", packed.traces));
  for (const std::string& left : packed.left) std::cout << "tidemark: " << left << '\n';
  return packed.left_with_something_to_pack ? 1 : 0;
}

int dumpCommand(const std::string& path) {
  TraceReader reader(path);
  const auto& h = reader.header();
  std::cout << fmt::format("header: version {} pid {} chunk_size {} chunks {} start_realtime_ns {}\n", h.version, h.pid, h.chunk_size,
                           h.chunks_allocated, h.start_realtime_ns);
  for (const auto& w : reader.warnings()) std::cout << fmt::format("warning: {}\n", w);
  reader.forEach([](const Record& r) {
    FieldPrinter fields;
    switch (r.type) {
#define TIDEMARK_DUMP_CASE(name, code)                              \
  case format::RecordType::name:                                    \
    format::name::fields(fields, r.get<format::name>());            \
    break;
      TIDEMARK_RECORD_TYPES(TIDEMARK_DUMP_CASE)
#undef TIDEMARK_DUMP_CASE
      case format::RecordType::End:
      case format::RecordType::Count: break;
    }
    std::cout << fmt::format("{:>10} s{:<3} {:<14} {}\n", r.seq, r.stream, format::recordTypeName(r.type), fields.text);
  });
  return 0;
}

// The environment variables, from the one list (tidemark/environment.inc), for `run --help`.
std::string environmentHelp() {
  std::string out =
      "Environment variables (the wrapper sets the tracker's from its options; without it, set them with\n"
      "LD_PRELOAD=.../libtidemark_preload.so, e.g. TIDEMARK_OUTPUT=/data/%p.tmtrace):\n";
  auto add = [&](const char* name, const std::string& help) {
    out += fmt::format("  {}\n", name);
    std::string line = "     ";
    for (size_t at = 0; at < help.size();) {
      size_t space = help.find(' ', at);
      std::string word = help.substr(at, space == std::string::npos ? std::string::npos : space - at);
      if (line.size() + word.size() + 1 > 100) {
        out += line + "\n";
        line = "     ";
      }
      line += " " + word;
      at = space == std::string::npos ? help.size() : space + 1;
    }
    out += line + "\n";
  };
#define TIDEMARK_TEXT_OPTION(field, env, def, help) add(env, fmt::format("{} (default: {})", help, def));
#define TIDEMARK_NUMBER_OPTION(field, env, def, help) add(env, fmt::format("{} (default: {})", help, def));
#define TIDEMARK_COMMAND_VARIABLE(env, help) add(env, help);
#include "tidemark/environment.inc"
#undef TIDEMARK_TEXT_OPTION
#undef TIDEMARK_NUMBER_OPTION
#undef TIDEMARK_COMMAND_VARIABLE
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // The analysis makes arrays of hundreds of MB one after the other. From mmap, each is new memory
  // whose every page faults in (on these machines 0.3 to 1.2 s per 400 MB); from the heap, kept
  // after it is freed, the next one reuses the pages: the graph of 8 M blocks is analysed in
  // 1.3 s instead of 1.9 s, for 12% more peak memory (bench/README.md).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  CLI::App app{"tidemark: memory profiler and leak diagnosis for backtests"};
  app.require_subcommand(1);
  const std::string version = fmt::format("tidemark {} (writes trace format {})", TIDEMARK_VERSION, format::kVersion);
  app.set_version_flag("--version", version);

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run a command under the allocation tracker and write its trace");
  run_cmd->add_option("-o,--output", run.output,
                      "Run directory to write, one trace per process (default: tidemark.<command>.<pid>; when it "
                      "exists, .2, .3, ... is appended)");
  run_cmd->add_option("--interval-ms", run.interval_ms, "Milliseconds between timeline samples of RSS")
      ->capture_default_str()
      ->check(CLI::Range(0u, 3600000u));
  run_cmd->add_option("--max-frames", run.max_frames, "Deepest native stack recorded")
      ->capture_default_str()
      ->check(CLI::Range(1u, 128u));
  run_cmd->add_option("--mode", run.mode,
                      "full: a record per allocation and free; aggregate: per-stack counters only, for long runs "
                      "(the trace grows with the number of stacks, not of allocations); sample: allocations "
                      "sampled by bytes, for always-on use (estimates with error bars; RSS exact)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "aggregate", "sample"}));
  run_cmd
      ->add_option("--sample-bytes", run.sample_bytes,
                   "sample mode: the mean bytes allocated between two sampled allocations, e.g. 512K (smaller: "
                   "more exact, costlier)")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  bool no_mmap = false;
  run_cmd->add_flag("--no-mmap", no_mmap, "Do not record anonymous mmap/munmap/mremap");
  run_cmd->add_flag("--no-status", run.no_status,
                    "No status line on a terminal while the command runs (elapsed, RSS, trace size, simulated date)");
  run_cmd->add_flag("--scan", run.scan,
                    "Scan the heap at exit for lost blocks and leaked cycles (always done in aggregate mode; in "
                    "full mode it costs a live-block table inside the program)");
  run_cmd
      ->add_option("--memory-limit", run.memory_limit,
                   "Run the command under this memory limit, e.g. 512M or 2GiB: a cgroup (v2 memory.max, else v1), "
                   "or tidemark's RSS watchdog where no cgroup can be made; an out-of-memory kill is recorded")
      ->transform(CLI::AsSizeValue(false));
  bool no_pack = false;
  run_cmd->add_flag("--no-pack", no_pack,
                    "Leave the traces as they were written: by default each is packed in place once the command has "
                    "ended (the same records in about a tenth of the space; see tidemark pack)");
  run_cmd->add_option("command", run.command, "The command and its arguments, after --")->required();
  run_cmd->footer(environmentHelp());

  std::string trace;
  bool json = false, full = false;
  size_t top = 10;
  uint64_t limit = 0;
  std::string process;
  const char* kRunInput = "Trace file, or a run directory (tidemark run -o DIR): one trace per process";
  const char* kProcessHelp =
      "In a run of several processes: the process to read, by pid or program name (default: the largest peak RSS)";
  auto* summary_cmd = app.add_subcommand("summary", "Peak heap and RSS, the stacks that held the peak, leaks at exit");
  std::vector<std::string> inputs;
  const char* kRunInputs = "Traces or run directories (tidemark run -o DIR); several are read as one run (many jobs, many hosts)";
  summary_cmd->add_option("trace", inputs, kRunInputs)->required();
  summary_cmd->add_option("--process", process, kProcessHelp);
  summary_cmd->add_flag("--json", json, "Machine-readable output");
  summary_cmd->add_flag("--full", full,
                        "Keep every frame: the allocator's (malloc, operator new), the C/C++ runtime's (libc, "
                        "libstdc++, the loader) and std:: internals, which are folded away by default; a library's "
                        "own functions are always kept, and sites are still named by their first frame outside those");
  summary_cmd->add_option("--top", top, "How many stacks to list")->capture_default_str()->check(CLI::Range(1, 100000));

  summary_cmd
      ->add_option("--limit", limit,
                   "Memory limit for the time-to-limit finding, e.g. 8GiB or 512MB (default: the cgroup limit the "
                   "trace recorded)")
      ->transform(CLI::AsSizeValue(false));

  FlameArgs flame;
  auto* flame_cmd = app.add_subcommand("flamegraph", "Flamegraph of the stacks by bytes: at the peak, leaked, allocated or temporary");
  flame_cmd->add_option("trace", flame.trace, kRunInput)->required();
  flame_cmd->add_option("--process", process, kProcessHelp);
  flame_cmd->add_option("--metric", flame.metric,
                        "peak (live at the heap peak), leaked (live at the end, user code), allocated (all bytes ever "
                        "allocated), temporary (freed by the same thread before its next allocation)")
      ->check(CLI::IsMember({"peak", "leaked", "allocated", "temporary"}))
      ->capture_default_str();
  flame_cmd->add_option("--format", flame.format, "svg, html, folded (collapsed stacks) or speedscope (JSON)")
      ->check(CLI::IsMember({"svg", "html", "folded", "speedscope"}))
      ->capture_default_str();
  flame_cmd->add_option("-o,--output", flame.output, "File to write (default: standard output)");
  flame_cmd->add_flag("--inverted", flame.inverted, "Leaf frames at the root: who allocates, by caller");
  flame_cmd->add_option("--thread", flame.thread,
                        "One thread's allocations (by tid, or by name when one thread has it; a block counts for the "
                        "thread that allocated it)");
  flame_cmd->add_flag("--full", flame.full, "Keep the allocator's, the C/C++ runtime's and std:: internal frames");
  flame_cmd->add_flag("--merge", flame.merge,
                      "In a run of several processes: add up every process that ran the same program as the one picked "
                      "(all the workers of a sweep); without it, one process");

  std::string report_output = "report.html", report_baseline;
  std::vector<std::string> source_dirs;
  auto* report_cmd = app.add_subcommand("report", "One self-contained HTML report: timeline, flamegraphs, findings");
  report_cmd->add_option("trace", inputs, kRunInputs)->required();
  report_cmd->add_option("--process", process, kProcessHelp);
  report_cmd->add_option("-o,--output", report_output, "HTML file to write")->capture_default_str();
  report_cmd->add_option("--baseline", report_baseline,
                         "A run to compare with (trace, run directory or JSON summary): figures, sites, a differential "
                         "flamegraph and both timelines");
  report_cmd->add_option("--source-dir", source_dirs, "Where to look for relative source paths, for the line views (repeatable)");
  report_cmd->add_option("--limit", limit, "Memory limit for the time-to-limit finding, e.g. 8GiB")
      ->transform(CLI::AsSizeValue(false));

  GateArgs gate;
  auto* gate_cmd = app.add_subcommand(
      "gate", "CI memory gate: exit 0 when every rule holds, 1 when one is broken, 2 on bad input");
  gate_cmd->add_option("trace", gate.trace, "Trace, run directory, or a JSON summary (tidemark summary --json)")->required();
  gate_cmd->add_option("--process", gate.process, kProcessHelp);
  gate_cmd->add_option("--max-tree-peak", gate.rules.max_tree_peak,
                       "Most the run's processes may hold at once, e.g. 4GiB: their PSS added up (shared pages once), the "
                       "number a container limit must cover; one process: its peak RSS")
      ->transform(CLI::AsSizeValue(false));
  gate_cmd->add_option("--max-peak", gate.rules.max_peak, "Largest peak heap allowed, e.g. 512MiB")
      ->transform(CLI::AsSizeValue(false));
  gate_cmd->add_option("--max-leaked", gate.rules.max_leaked, "Most bytes leaked at exit allowed (user code), e.g. 1MiB")
      ->transform(CLI::AsSizeValue(false));
  gate_cmd->add_flag("--no-unbounded-growth", gate.rules.no_unbounded_growth, "Fail when any site grows without bound");
  gate_cmd->add_option("--baseline", gate.rules.baseline, "Trace or JSON summary to compare with");
  gate_cmd->add_option("--max-peak-increase", gate.rules.max_peak_increase, "Percent the peak heap may rise over the baseline")
      ->check(CLI::Range(0.0, 1e6));
  gate_cmd->add_option("--max-leaked-increase", gate.rules.max_leaked_increase, "Percent the leaked bytes may rise over the baseline")
      ->check(CLI::Range(0.0, 1e6));
  gate_cmd->add_option("--max-garbage-cycles", gate.rules.max_garbage_cycles,
                       "Most Python garbage cycles allowed in the last scan (a run with --scan), e.g. 0");
  gate_cmd->add_option("--max-retained-growth", gate.rules.max_retained_growth,
                       "Most bytes a group of Python objects (type and line) may come to hold more, from the run's first "
                       "scan to its last, or over the baseline's, e.g. 10MiB")
      ->transform(CLI::AsSizeValue(false));
  gate_cmd->add_option("--phase", gate.rules.phase,
                       "Judge the peak and leak rules within the phases of this name (marked by the program): the most "
                       "the heap rose above where it stood when one began, and what they left live");
  gate_cmd->add_option("--junit", gate.junit, "Also write the rules as a JUnit XML report to this file");
  gate_cmd->add_flag("--json", gate.json, "Machine-readable output");

  std::string diff_base, diff_new, diff_format = "text", diff_metric = "peak", diff_output;
  size_t diff_top = 20;
  auto* diff_cmd = app.add_subcommand("diff", "Per-site change between two runs (traces or JSON summaries), largest first");
  diff_cmd->add_option("base", diff_base, "The baseline: trace or JSON summary")->required();
  diff_cmd->add_option("new", diff_new, "The new run: trace or JSON summary")->required();
  diff_cmd->add_option("--format", diff_format,
                       "text, json, or folded (\"frame;frame base new\" lines for differential flamegraphs)")
      ->check(CLI::IsMember({"text", "json", "folded"}))
      ->capture_default_str();
  diff_cmd->add_option("--metric", diff_metric, "For --format folded: peak (live at the heap peak) or leaked")
      ->check(CLI::IsMember({"peak", "leaked"}))
      ->capture_default_str();
  diff_cmd->add_option("-o,--output", diff_output, "File to write (default: standard output)");
  diff_cmd->add_option("--top", diff_top, "Sites listed per section")->capture_default_str()->check(CLI::Range(1, 100000));

  auto* recommend_cmd = app.add_subcommand("recommend", "Kubernetes memory request and limit for the job, with the reasoning");
  recommend_cmd->add_option("trace", inputs, kRunInputs)->required();
  recommend_cmd->add_option("--process", process, kProcessHelp);

  std::string lines_where;
  auto* lines_cmd = app.add_subcommand(
      "lines", "Source lines of a function or file with the bytes allocated from each, and held at the peak and at the end");
  lines_cmd->add_option("trace", trace, kRunInput)->required();
  lines_cmd->add_option("--process", process, kProcessHelp);
  lines_cmd->add_option("where", lines_where, "A function (main, Cache::insert), a file (cache.cpp), or file.cpp:START-END")
      ->required();
  lines_cmd->add_option("--source-dir", source_dirs, "Where to look for relative source paths (repeatable)");
  lines_cmd->add_flag("--json", json, "Machine-readable output");

  double watch_interval = 1;
  bool watch_once = false;
  auto* watch_cmd = app.add_subcommand(
      "watch", "A running run's figures on one line, from its traces' headers: elapsed, heap, RSS, trace size, simulated date, processes");
  watch_cmd->add_option("trace", trace, kRunInput)->required();
  watch_cmd->add_option("--interval", watch_interval, "Seconds between updates")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  watch_cmd->add_flag("--once", watch_once, "One line, then exit");
  watch_cmd->add_flag("--json", json, "One JSON object per line");

  std::vector<std::string> pack_inputs;
  auto* pack_cmd = app.add_subcommand(
      "pack", "Pack finished traces in place: the same records in about a tenth of the space (tidemark run does it when the command ends)");
  pack_cmd->add_option("trace", pack_inputs, "Traces or run directories; a trace whose process still runs is left as it is")
      ->required();

  auto* dump_cmd = app.add_subcommand("dump", "Print every record of a trace (for debugging tidemark)");
  dump_cmd->add_option("trace", trace, kRunInput)->required();
  dump_cmd->add_option("--process", process, kProcessHelp);

  // The build makes the manual page and the bash completion from the definitions above.
  if (argc == 4 && std::string_view(argv[1]) == "--generate") {
    std::string_view what = argv[2];
    std::ofstream out(argv[3]);
    if (what == "man") out << manualPage(app, version, environmentHelp());
    else if (what == "bash-completion") out << bashCompletion(app);
    else {
      std::cerr << "tidemark: --generate takes man or bash-completion, then a file\n";
      return 2;
    }
    out.close();
    if (out) return 0;
    std::cerr << "tidemark: cannot write " << argv[3] << '\n';
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "tidemark: " << e.what() << " (see tidemark --help)\n";
    return 2;
  }
  int code = 0;
  // Reading a long trace says how far it is on a terminal (run and watch have their own line).
  std::optional<ProgressLine> progress;
  if (!*run_cmd && !*watch_cmd) progress.emplace();
  try {
    // lines, flamegraph and dump read one process of a run; the others read the tree as well (watch: every header).
    std::string named_run;  // the trace or run directory named, of which one process is read
    if (!*run_cmd && !*summary_cmd && !*report_cmd && !*diff_cmd && !*gate_cmd && !*recommend_cmd && !*watch_cmd &&
        !*pack_cmd) {
      std::string& input = *flame_cmd ? flame.trace : trace;
      named_run = flame.run = input;
      input = selectedTrace(input, process);
    }
    if (*run_cmd) {
      if (run.scan && run.mode == "sample")
        throw Error("--scan needs every live block, and sample mode records a sample of them: use --mode full or aggregate");
      run.track_mmap = !no_mmap;
      run.pack = !no_pack;
      code = runCommand(run);
    } else if (*summary_cmd) {
      code = summaryCommand(inputs, process, json, full, top, limit);
    } else if (*dump_cmd) {
      code = dumpCommand(trace);
    } else if (*pack_cmd) {
      code = packCommand(pack_inputs);
    } else if (*watch_cmd) {
      code = watchCommand(trace, watch_interval, watch_once, json);
    } else if (*gate_cmd) {
      code = gateCommand(gate);
    } else if (*diff_cmd) {
      code = diffCommand(diff_base, diff_new, diff_format, diff_metric, diff_output, diff_top);
    } else if (*recommend_cmd) {
      code = recommendCommand(inputs, process);
    } else if (*lines_cmd) {
      code = linesCommand(named_run, trace, process, lines_where, source_dirs, json);
    } else if (*flame_cmd) {
      code = flamegraphCommand(flame);
    } else if (*report_cmd) {
      code = reportCommand(inputs, process, report_output, limit, source_dirs, report_baseline);
    }
  } catch (const Error& e) {
    endProgress();
    std::cout.flush();
    std::cerr << "tidemark: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    endProgress();
    std::cout.flush();
    std::cerr << "tidemark: internal error: " << e.what() << '\n';
    return 3;
  }
  // A summary that could not be written (a full disk, a closed pipe) must not look like success.
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "tidemark: cannot write to standard output: " << strerror(errno) << '\n';
    return 2;
  }
  return code;
}
