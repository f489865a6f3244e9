// tidemark: the command line in front of the tracker, the analyzer and the reports.
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "error.h"
#include "replay.h"
#include "run_command.h"
#include "summary.h"
#include "flamegraph.h"
#include "html_report.h"
#include "summary_report.h"
#include "symbolizer.h"
#include "trace_reader.h"
#include "units.h"

using namespace tidemark;

namespace {

int summaryCommand(const std::string& path, bool json, bool full, size_t top, uint64_t limit) {
  TraceReader reader(path);
  ReplayResult run = replay(reader);
  Symbolizer symbols(run.module_maps);
  SummaryOptions options;
  options.full = full;
  options.top = top;
  options.growth.limit = limit;
  Summary s = summarize(run, symbols, options);
  s.trace_path = path;
  s.trace_bytes = reader.fileSize();
  if (json)
    std::cout << summaryJson(s).dump(2) << '\n';
  else
    writeSummaryText(std::cout, s, full);
  return 0;
}

struct FlameArgs {
  std::string trace, metric = "peak", format = "svg", output;
  bool inverted = false, full = false;
};

int flamegraphCommand(const FlameArgs& a) {
  TraceReader reader(a.trace);
  ReplayResult run = replay(reader);
  Symbolizer symbols(run.module_maps);
  std::vector<StackGroup> groups = groupStacks(run, symbols, a.full);
  std::vector<FlameStack> stacks = flameStacks(groups, a.metric);
  FlameOptions options;
  options.metric = a.metric + " bytes";
  options.inverted = a.inverted;
  std::string cmd;
  for (const std::string& arg : run.argv) cmd += (cmd.empty() ? "" : " ") + arg;
  options.title = cmd.empty() ? run.exe : cmd;
  std::string text;
  if (a.format == "folded")
    text = foldedStacks(stacks, options);
  else if (a.format == "speedscope")
    text = speedscope(stacks, options).dump() + "\n";
  else if (a.format == "html") {
    text = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escapeXml(options.title) +
           "</title></head><body style=\"margin:0\">\n" +
           inlineSvg(stacks, options) + "<script>\n" + flameScript() +
           "tidemarkFlame(document.querySelector('svg.flamegraph'));\n</script>\n</body></html>\n";
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

int reportCommand(const std::string& path, const std::string& output, uint64_t limit) {
  TraceReader reader(path);
  ReplayResult run = replay(reader);
  Symbolizer symbols(run.module_maps);
  SummaryOptions options;
  options.top = 20;
  options.growth.limit = limit;
  Summary s = summarize(run, symbols, options);
  s.trace_path = path;
  s.trace_bytes = reader.fileSize();
  std::vector<StackGroup> groups = groupStacks(run, symbols, false);
  ReportFlames flames{flameStacks(groups, "peak"), flameStacks(groups, "leaked"), flameStacks(groups, "allocated")};
  std::string html = htmlReport(s, flames);
  std::ofstream out(output, std::ios::binary);
  if (!out) throw Error(fmt::format("cannot write {}", output));
  out << html;
  if (!out.flush()) throw Error(fmt::format("cannot write {}", output));
  std::cerr << fmt::format("tidemark: report written to {} ({})\n", output, humanBytes(html.size()));
  return 0;
}

int dumpCommand(const std::string& path) {
  TraceReader reader(path);
  const auto& h = reader.header();
  fmt::print("header: version {} pid {} chunk_size {} chunks {}\n", h.version, h.pid, h.chunk_size, h.chunks_allocated);
  for (const auto& w : reader.warnings()) fmt::print("warning: {}\n", w);
  // Only the fields of each record's own type: a Record is reused from one record to the next.
  reader.forEach([](const Record& r) {
    std::string fields;
    switch (r.type) {
      case format::RecordType::ProcessInfo: fields = fmt::format("pid={} ppid={} exe={:?} limit={}", r.a, r.b, std::string(r.text), r.c); break;
      case format::RecordType::ModuleMapBegin: fields = fmt::format("generation={} modules={}", r.stack, r.a); break;
      case format::RecordType::Module: fields = fmt::format("generation={} bias=0x{:x} path={:?}", r.stack, r.bias, std::string(r.text)); break;
      case format::RecordType::StackDef: fields = fmt::format("id={} generation={} frames={}", r.stack, r.a, r.frames.size()); break;
      case format::RecordType::Alloc:
      case format::RecordType::Mmap: fields = fmt::format("stack={} addr=0x{:x} size={}", r.stack, r.addr, r.size); break;
      case format::RecordType::Free: fields = fmt::format("addr=0x{:x}", r.addr); break;
      case format::RecordType::Realloc: fields = fmt::format("stack={} old=0x{:x} new=0x{:x} size={}", r.stack, r.addr, r.addr2, r.size); break;
      case format::RecordType::Munmap: fields = fmt::format("addr=0x{:x} size={}", r.addr, r.size); break;
      case format::RecordType::Mremap: fields = fmt::format("stack={} old=0x{:x}+{} new=0x{:x}+{}", r.stack, r.addr, r.size, r.addr2, r.size2); break;
      case format::RecordType::Sample: fields = fmt::format("time_ns={} rss={} heap={} mmap={}", r.a, r.b, r.c, r.size); break;
      case format::RecordType::Marker: fields = fmt::format("time_ns={} kind={} text={:?}", r.a, r.b, std::string(r.text)); break;
      case format::RecordType::Exit: fields = fmt::format("time_ns={}", r.a); break;
      case format::RecordType::ProcessEnd: fields = fmt::format("time_ns={} kind={} code={}", r.a, r.b, r.c); break;
      case format::RecordType::MemoryLimit: fields = fmt::format("limit={} kind={}", r.a, r.b); break;
      case format::RecordType::OomKill: fields = fmt::format("time_ns={} evidence={} usage={}", r.a, r.b, r.c); break;
      case format::RecordType::TrackerError: fields = fmt::format("time_ns={} message={:?}", r.a, std::string(r.text)); break;
      default: break;
    }
    fmt::print("{:>10} s{:<3} {:<14} {}\n", r.seq, r.stream, format::recordTypeName(r.type), fields);
  });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidemark: memory profiler and leak diagnosis for backtests"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tidemark 0.1.0");

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run a command under the allocation tracker and write its trace");
  run_cmd->add_option("-o,--output", run.output, "Trace file to write (default: tidemark.<command>.<pid>.tmtrace)");
  run_cmd->add_option("--interval-ms", run.interval_ms, "Milliseconds between timeline samples of RSS")
      ->capture_default_str()
      ->check(CLI::Range(0u, 3600000u));
  run_cmd->add_option("--max-frames", run.max_frames, "Deepest native stack recorded")
      ->capture_default_str()
      ->check(CLI::Range(1u, 128u));
  run_cmd->add_option("--mode", run.mode,
                      "full: a record per allocation and free; aggregate: per-stack counters only, for long runs "
                      "(the trace grows with the number of stacks, not of allocations)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "aggregate"}));
  bool no_mmap = false;
  run_cmd->add_flag("--no-mmap", no_mmap, "Do not record anonymous mmap/munmap/mremap");
  run_cmd->add_flag("--scan", run.scan,
                    "Scan the heap at exit for lost blocks and leaked cycles (always done in aggregate mode; in "
                    "full mode it costs a live-block table inside the program)");
  run_cmd
      ->add_option("--memory-limit", run.memory_limit,
                   "Run the command under this memory limit, e.g. 512M or 2GiB: a cgroup (v2 memory.max, else v1), "
                   "or tidemark's RSS watchdog where no cgroup can be made; an out-of-memory kill is recorded")
      ->transform(CLI::AsSizeValue(false));
  run_cmd->add_option("command", run.command, "The command and its arguments, after --")->required();
  run_cmd->footer(
      "Without the wrapper, set LD_PRELOAD=.../libtidemark_preload.so and TIDEMARK_OUTPUT=/path/%p.tmtrace "
      "(also TIDEMARK_MODE, TIDEMARK_INTERVAL_MS, TIDEMARK_MAX_FRAMES, TIDEMARK_TRACK_MMAP, TIDEMARK_SCAN, TIDEMARK_QUIET).");

  std::string trace;
  bool json = false, full = false;
  size_t top = 10;
  uint64_t limit = 0;
  auto* summary_cmd = app.add_subcommand("summary", "Peak heap and RSS, the stacks that held the peak, leaks at exit");
  summary_cmd->add_option("trace", trace, "Trace file")->required();
  summary_cmd->add_flag("--json", json, "Machine-readable output");
  summary_cmd->add_flag("--full", full, "Keep allocator and standard-library frames in stacks");
  summary_cmd->add_option("--top", top, "How many stacks to list")->capture_default_str()->check(CLI::Range(1, 100000));

  summary_cmd
      ->add_option("--limit", limit,
                   "Memory limit for the time-to-limit finding, e.g. 8GiB or 512MB (default: the cgroup limit the "
                   "trace recorded)")
      ->transform(CLI::AsSizeValue(false));

  FlameArgs flame;
  auto* flame_cmd = app.add_subcommand("flamegraph", "Flamegraph of the stacks by bytes: at the peak, leaked, allocated or temporary");
  flame_cmd->add_option("trace", flame.trace, "Trace file")->required();
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
  flame_cmd->add_flag("--full", flame.full, "Keep allocator and standard-library frames");

  std::string report_output = "report.html";
  auto* report_cmd = app.add_subcommand("report", "One self-contained HTML report: timeline, flamegraphs, findings");
  report_cmd->add_option("trace", trace, "Trace file")->required();
  report_cmd->add_option("-o,--output", report_output, "HTML file to write")->capture_default_str();
  report_cmd->add_option("--limit", limit, "Memory limit for the time-to-limit finding, e.g. 8GiB")
      ->transform(CLI::AsSizeValue(false));

  auto* dump_cmd = app.add_subcommand("dump", "Print every record of a trace (for debugging tidemark)");
  dump_cmd->add_option("trace", trace, "Trace file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "tidemark: " << e.what() << " (see tidemark --help)\n";
    return 2;
  }
  try {
    if (*run_cmd) {
      run.track_mmap = !no_mmap;
      return runCommand(run);
    }
    if (*summary_cmd) return summaryCommand(trace, json, full, top, limit);
    if (*dump_cmd) return dumpCommand(trace);
    if (*flame_cmd) return flamegraphCommand(flame);
    if (*report_cmd) return reportCommand(trace, report_output, limit);
  } catch (const Error& e) {
    std::cerr << "tidemark: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tidemark: internal error: " << e.what() << '\n';
    return 3;
  }
  return 0;
}
