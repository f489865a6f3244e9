// The replay kept beside a trace (analyzer/checkpoint.h): on real programs of every kind, what
// summary, report and flamegraph print from the checkpoint is byte for byte what they print when
// they replay the trace.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "harness.h"

using namespace tmtest;

namespace {

// A JSON summary without the seconds its own analysis took (which no two runs share).
std::string withoutTimings(const std::string& out) {
  if (out.empty() || out[0] != '{') return out;
  nlohmann::json j = nlohmann::json::parse(out);
  std::function<void(nlohmann::json&)> strip = [&](nlohmann::json& v) {
    if (v.is_object()) v.erase("analysis_seconds");
    if (v.is_structured())
      for (auto& e : v) strip(e);
  };
  strip(j);
  return j.dump(1);
}

// Where two outputs part (gtest's own diff of texts this long takes gigabytes).
std::string firstDifference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  size_t at = 0;
  while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
  size_t from = at < 80 ? 0 : at - 80;
  return "differ at byte " + std::to_string(at) + ":\n" + a.substr(from, 200) + "\n---\n" + b.substr(from, 200);
}

// The outputs of the analysis commands on trace, with the checkpoint policy `policy`.
std::vector<std::string> outputs(const std::string& trace, const std::string& policy) {
  const std::string dir = std::filesystem::path(trace).parent_path().string();
  const std::vector<std::string> env = {"TIDEMARK_CHECKPOINT=" + policy};
  std::vector<std::string> out;
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"summary", "--json", "--top", "1000", trace},
        std::vector<std::string>{"summary", "--full", trace},
        std::vector<std::string>{"report", "-o", dir + "/report.html", trace},
        std::vector<std::string>{"flamegraph", "--metric", "temporary", "-o", dir + "/flame.svg", trace}}) {
    std::vector<std::string> argv = {tidemark()};
    argv.insert(argv.end(), command.begin(), command.end());
    Result r = run(argv, env);
    EXPECT_EQ(r.code, 0) << command[0] << ": " << r.err;
    if (command[0] == "summary") out.push_back(withoutTimings(r.out));  // the others write their files
  }
  out.push_back(readFile(dir + "/report.html"));
  out.push_back(readFile(dir + "/flame.svg"));
  return out;
}

void expectTheSameFromTheCheckpoint(const std::string& trace) {
  SCOPED_TRACE(trace);
  const std::string checkpoint = trace + ".tmcheckpoint";
  const std::vector<std::string> replayed = outputs(trace, "0");
  ASSERT_FALSE(std::filesystem::exists(checkpoint));
  Result first = run({tidemark(), "summary", trace}, {"TIDEMARK_CHECKPOINT=1"});  // replays, and keeps it
  ASSERT_EQ(first.code, 0) << first.err;
  ASSERT_TRUE(std::filesystem::exists(checkpoint));
  const std::vector<std::string> second = outputs(trace, "1");  // reads it
  ASSERT_EQ(replayed.size(), second.size());
  for (size_t i = 0; i < replayed.size(); ++i) {
    EXPECT_FALSE(replayed[i].empty()) << "output " << i;
    EXPECT_EQ(firstDifference(second[i], replayed[i]), "") << "output " << i;
  }
}

}  // namespace

// Native programs in each mode: dates and per-site series, threads, a heap scan with cycles,
// sampled estimates with error bars, per-stack counters.
TEST(Checkpoint, NativeTracesOfEveryModeAnswerTheSameFromTheirCheckpoint) {
  const std::string dir = tempDir();
  struct Case {
    std::string name;
    std::vector<std::string> options, command;
  };
  const std::vector<Case> cases = {
      {"growth", {}, {program("tm-test-growth_patterns")}},
      {"threads", {}, {program("tm-test-threads")}},
      {"cycles", {"--scan"}, {program("tm-test-cycles"), "100", "50"}},
      {"sampled", {"--mode", "sample", "--sample-bytes", "64K"}, {program("tm-test-growth_patterns")}},
      {"aggregated", {"--mode", "aggregate"}, {program("tm-test-growth_patterns")}},
  };
  for (const Case& c : cases) {
    const std::string run_dir = dir + "/" + c.name;
    std::vector<std::string> argv = {tidemark(), "run", "--no-status", "-o", run_dir};
    argv.insert(argv.end(), c.options.begin(), c.options.end());
    argv.push_back("--");
    argv.insert(argv.end(), c.command.begin(), c.command.end());
    Result r = run(argv, {"TIDEMARK_SAMPLE_SEED=7"});
    ASSERT_EQ(r.code, 0) << c.name << ": " << r.err;
    expectTheSameFromTheCheckpoint(onlyTrace(run_dir));
  }
}

// A Python program: its frames, code objects and lines, and two object graphs (the first kept for
// the growth between them).
TEST(Checkpoint, APythonTraceWithObjectGraphsAnswersTheSameFromItsCheckpoint) {
  const std::string python = pythonInterpreters().front();
  const std::string run_dir = tempDir() + "/cache";
  Result r = run({tidemark(), "run", "--no-status", "--scan", "-o", run_dir, "--", python,
                  programSource("python/lru_cache.py"), "20", "60"});
  ASSERT_EQ(r.code, 0) << r.err;
  expectTheSameFromTheCheckpoint(onlyTrace(run_dir));
}

// A value the variable does not take is one line and exit 2; a FIFO or a directory where the
// checkpoint would be is passed over without waiting on it.
TEST(Checkpoint, BadSettingsAndThingsInItsPlaceAreNoTrouble) {
  const std::string run_dir = tempDir() + "/known";
  ASSERT_EQ(run({tidemark(), "run", "--no-status", "-o", run_dir, "--", program("tm-test-known_peak")}).code, 0);
  const std::string trace = onlyTrace(run_dir);
  Result r = run({tidemark(), "summary", trace}, {"TIDEMARK_CHECKPOINT=yes"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tidemark: TIDEMARK_CHECKPOINT=yes: expected 0 (no checkpoints) or 1 (for every trace); unset, for "
                   "traces of 32 MiB and more\n");
  const std::string expected = run({tidemark(), "summary", "--json", trace}, {"TIDEMARK_CHECKPOINT=0"}).out;
  ASSERT_EQ(::mkfifo((trace + ".tmcheckpoint").c_str(), 0600), 0);
  r = run({tidemark(), "summary", "--json", trace}, {"TIDEMARK_CHECKPOINT=1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  EXPECT_TRUE(std::filesystem::is_regular_file(trace + ".tmcheckpoint"));  // renamed over the FIFO
  r = run({tidemark(), "summary", "--json", trace}, {"TIDEMARK_CHECKPOINT=1"});
  EXPECT_EQ(r.out, expected);
}
