// tidemark: the command line in front of the tracker, the analyzer and the reports.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "error.h"
#include "replay.h"
#include "run_command.h"
#include "summary.h"
#include "summary_report.h"
#include "symbolizer.h"
#include "trace_reader.h"

using namespace tidemark;

namespace {

int summaryCommand(const std::string& path, bool json, bool full, size_t top) {
  TraceReader reader(path);
  ReplayResult run = replay(reader);
  Symbolizer symbols(run.module_maps);
  SummaryOptions options;
  options.full = full;
  options.top = top;
  Summary s = summarize(run, symbols, options);
  s.trace_path = path;
  s.trace_bytes = reader.fileSize();
  if (json)
    std::cout << summaryJson(s).dump(2) << '\n';
  else
    writeSummaryText(std::cout, s, full);
  return 0;
}

int dumpCommand(const std::string& path) {
  TraceReader reader(path);
  const auto& h = reader.header();
  fmt::print("header: version {} pid {} chunk_size {} chunks {}\n", h.version, h.pid, h.chunk_size, h.chunks_allocated);
  for (const auto& w : reader.warnings()) fmt::print("warning: {}\n", w);
  reader.forEach([](const Record& r) {
    fmt::print("{:>10} s{:<3} {:<14} stack={} addr=0x{:x} addr2=0x{:x} size={} size2={} a={} b={} c={} text={:?} frames={}\n",
               r.seq, r.stream, format::recordTypeName(r.type), r.stack, r.addr, r.addr2, r.size, r.size2, r.a, r.b,
               r.c, std::string(r.text.substr(0, 60)), r.frames.size());
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
  run_cmd->add_option("command", run.command, "The command and its arguments, after --")->required();
  run_cmd->footer(
      "Without the wrapper, set LD_PRELOAD=.../libtidemark_preload.so and TIDEMARK_OUTPUT=/path/%p.tmtrace "
      "(also TIDEMARK_MODE, TIDEMARK_INTERVAL_MS, TIDEMARK_MAX_FRAMES, TIDEMARK_TRACK_MMAP, TIDEMARK_QUIET).");

  std::string trace;
  bool json = false, full = false;
  size_t top = 10;
  auto* summary_cmd = app.add_subcommand("summary", "Peak heap and RSS, the stacks that held the peak, leaks at exit");
  summary_cmd->add_option("trace", trace, "Trace file")->required();
  summary_cmd->add_flag("--json", json, "Machine-readable output");
  summary_cmd->add_flag("--full", full, "Keep allocator and standard-library frames in stacks");
  summary_cmd->add_option("--top", top, "How many stacks to list")->capture_default_str()->check(CLI::Range(1, 100000));

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
    if (*summary_cmd) return summaryCommand(trace, json, full, top);
    if (*dump_cmd) return dumpCommand(trace);
  } catch (const Error& e) {
    std::cerr << "tidemark: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tidemark: internal error: " << e.what() << '\n';
    return 3;
  }
  return 0;
}
