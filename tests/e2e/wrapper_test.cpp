// `tidemark run` never destroys a file, finds the trace wherever the tracker had to write it,
// passes the command's exit code through in every case, and leaves nothing behind under a memory
// limit even when it is killed itself.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <fmt/format.h>

#include "harness.h"

using namespace tmtest;

namespace {

TEST(Wrapper, AnExistingFileIsNeverTouched) {
  std::string dir = tempDir();
  for (std::string existing : {"results.csv", "old.tmtrace"}) {
    std::string path = dir + "/" + existing;
    std::ofstream(path) << "precious\n";
    Result r = run({tidemark(), "run", "-o", path, "--", program("tm-test-known_peak")});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(readFile(path), "precious\n");
    EXPECT_NE(r.err.find(path + " exists, so this run is in " + path + ".2"), std::string::npos) << r.err;
    size_t at = r.err.find("run written to ") + 15;
    std::string trace = r.err.substr(at, r.err.find(' ', at) - at);
    EXPECT_EQ(trace, path + ".2");
    EXPECT_EQ(summary(trace)["end"]["state"], "exited");  // the wrapper's record went to the right file
  }
  std::filesystem::create_directory(dir + "/empty-dir");
  Result r = run({tidemark(), "run", "-o", dir + "/empty-dir", "--", program("tm-test-known_peak")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/empty-dir"));
}

TEST(Wrapper, AnOutputDirectoryThatCannotTakeTheTraceIsRefusedBeforeTheRun) {
  std::string dir = tempDir();
  Result r = run({tidemark(), "run", "-o", dir + "/no/such/dir/run", "--", "touch", dir + "/ran"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot write the run in"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/ran")) << "the command ran although its trace could not be written";
}

TEST(Wrapper, TwoRunsWithTheSameOutputGetTwoTraces) {
  std::string dir = tempDir();
  std::string out = dir + "/same";
  auto one = std::async(std::launch::async, [&] { return run({tidemark(), "run", "-o", out, "--", program("tm-test-known_peak")}); });
  auto two = std::async(std::launch::async, [&] { return run({tidemark(), "run", "-o", out, "--", program("tm-test-known_peak")}); });
  Result a = one.get(), b = two.get();
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  size_t traces = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++traces;
    auto s = summary(entry.path().string());
    EXPECT_EQ(s["end"]["state"], "exited") << entry.path();  // each got its own wrapper's record
    EXPECT_EQ(s["peak_heap"]["bytes"], 20u << 20);
  }
  EXPECT_EQ(traces, 2u);
}

TEST(Wrapper, ALinkPlantedAtTheOutputIsNotFollowed) {
  // Someone else's trace, and a link to it where this run will write (a sticky /tmp).
  std::string dir = tempDir();
  std::string victim = dir + "/victim.tmtrace";
  ASSERT_EQ(run({tidemark(), "run", "-o", victim, "--", program("tm-test-known_peak")}).code, 0);
  std::string before = readFile(victim);
  std::filesystem::create_symlink(victim, dir + "/planted.tmtrace");
  Result r = run({tidemark(), "run", "-o", dir + "/planted.tmtrace", "--", program("tm-test-known_peak")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(readFile(victim), before) << "the wrapper appended to a trace it did not create";
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/planted.tmtrace"));
}

TEST(Wrapper, TheGateFailsARunKilledByAnySignal) {
  std::string dir = tempDir();
  for (const char* signal : {"TERM", "SEGV", "ABRT"}) {
    std::string trace = dir + "/" + signal + ".tmtrace";
    Result r = run({tidemark(), "run", "-o", trace, "--", "bash", "-c", std::string("kill -") + signal + " $$"});
    EXPECT_GT(r.code, 128) << r.err;
    Result gate = run({tidemark(), "gate", trace, "--max-peak", "1GiB"});
    EXPECT_EQ(gate.code, 1) << signal << ": " << gate.out;
    EXPECT_NE(gate.out.find("FAIL  the run did not end normally: killed by SIG"), std::string::npos) << gate.out;
  }
}

TEST(Wrapper, TracesAreReadableByTheirOwnerOnly) {
  std::string run_dir = tempDir() + "/t";
  ASSERT_EQ(run({tidemark(), "run", "-o", run_dir, "--", program("tm-test-known_peak")}).code, 0);
  struct stat st {};
  ASSERT_EQ(stat(onlyTrace(run_dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(run_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);  // nor can others list the run's processes
}

TEST(Wrapper, TheExitCodeComesThroughEvenWithoutATrace) {
  // A script whose interpreter is a static program: the kernel runs it, LD_PRELOAD cannot enter.
  std::string dir = tempDir();
  std::string script = dir + "/static.sh";
  std::ofstream(script) << "#!" << program("tm-test-static_prog") << "\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  Result plain = run({script});
  Result r = run({tidemark(), "run", "-o", dir + "/t.tmtrace", "--", script});
  EXPECT_EQ(r.code, plain.code) << r.err;
  EXPECT_EQ(r.out, plain.out);
  EXPECT_NE(r.err.find("wrote no trace"), std::string::npos) << r.err;
  // And a command that fails: its own code, not tidemark's.
  r = run({tidemark(), "run", "-o", dir + "/f.tmtrace", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(r.code, 7) << r.err;
}

// Under --memory-limit, a wrapper killed with SIGKILL takes its command with it, and the next run
// removes the cgroup it left.
TEST(Wrapper, AKilledWrapperLeavesNoCommandAndNoCgroup) {
  std::string dir = tempDir();
  std::string script = dir + "/kill-wrapper.sh";
  std::ofstream(script) << "\"$1\" run --memory-limit 256M -o \"$2\" -- sleep 41.5 2>/dev/null &\n"
                           "wrapper=$!\n"
                           "sleep 1\n"
                           "kill -9 $wrapper\n"
                           "sleep 1\n"
                           "if grep -qsa '^sleep.41\\.5' /proc/[0-9]*/cmdline; then echo left; fi\n"
                           "echo wrapper $wrapper\n";
  Result r = run({"bash", script, tidemark(), dir + "/k.tmtrace"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("left"), std::string::npos) << "the command outlived its killed wrapper";
  std::string wrapper = r.out.substr(r.out.find("wrapper ") + 8);
  wrapper = wrapper.substr(0, wrapper.find('\n'));
  Result next = run({tidemark(), "run", "--memory-limit", "256M", "-o", dir + "/n.tmtrace", "--", "true"});
  ASSERT_EQ(next.code, 0) << next.err;
  Result left = run({"find", "/sys/fs/cgroup", "-maxdepth", "6", "-name", "tidemark-" + wrapper + "-*"});
  EXPECT_TRUE(left.out.empty()) << "cgroups left by the killed run: " << left.out;
}

}  // namespace

// tidemark watch on a run that is going: each line's figures come from the traces' headers, which
// the sampler keeps current. While the engine runs, the lines show its heap and the simulated date
// moving forward; once it has ended, they agree with the summary of the finished trace. (Aggregate
// mode: a full event log's header carries no heap, only its records do.)
TEST(Watch, FollowsARunningEngineAndEndsWithTheSummarysFigures) {
  std::string dir = tempDir(), bundle = dir + "/daily.bundle", run_dir = dir + "/run";
  Result ingest = run({TM_TRACED_ENGINE, "ingest", "--assets", "3000", "--days", "1500", "--frequency", "daily", "-o", bundle});
  ASSERT_EQ(ingest.code, 0) << ingest.err;
  // watch --once while the run goes. A loaded machine can make one watch as long as the whole run, so
  // the engine (its trace is named by its pid) is stopped while watch reads and runs 50 ms between
  // reads: every read finds it further on, however slow the reads are.
  std::string script = fmt::format(
      "'{0}' run --mode aggregate -o '{1}' -- '{2}' run -q --days 1300 --bundle '{3}' >/dev/null 2>&1 & pid=$!\n"
      "while kill -0 $pid 2>/dev/null; do\n"
      "  engine=; for f in '{1}'/*.tmtrace; do [ -e \"$f\" ] && engine=$(basename \"$f\" .tmtrace); done\n"
      "  [ -n \"$engine\" ] && kill -STOP $engine 2>/dev/null\n"
      "  '{0}' watch --once --json '{1}' 2>/dev/null\n"
      "  [ -n \"$engine\" ] && kill -CONT $engine 2>/dev/null\n"
      "  sleep 0.05\n"
      "done\nwait $pid",
      tidemark(), run_dir, TM_TRACED_ENGINE, bundle);
  Result r = run({"sh", "-c", script});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line, last_date;
  size_t running = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["running"] != 1 || j["simulated_date"] == "") continue;
    ++running;
    EXPECT_EQ(j["processes"], 1) << line;
    EXPECT_GT(j["heap"].get<uint64_t>(), 0u) << line;
    EXPECT_LE(j["rss"].get<uint64_t>(), j["peak_rss"].get<uint64_t>()) << line;
    EXPECT_GE(j["simulated_date"].get<std::string>(), last_date) << r.out;  // the date only moves forward
    last_date = j["simulated_date"];
  }
  EXPECT_GE(running, 2u) << "lines showing the engine running:\n" << r.out;

  auto s = summary(run_dir);
  Result end = run({tidemark(), "watch", "--once", "--json", run_dir});
  ASSERT_EQ(end.code, 0) << end.err;
  auto j = nlohmann::json::parse(end.out);
  EXPECT_EQ(j["running"], 0) << end.out;
  EXPECT_EQ(j["peak_rss"], s["peak_rss"]["bytes"]) << end.out;
  // The last sample is the one written at exit: the heap then is the summary's final heap, to a
  // few blocks (the runtime's last frees).
  double heap = j["heap"].get<double>(), final_heap = s["final_heap_bytes"].get<double>() + s["mmap"]["final_bytes"].get<double>();
  EXPECT_NEAR(heap, final_heap, 64 * 1024 + 0.01 * final_heap) << end.out;
  EXPECT_GE(j["simulated_date"].get<std::string>(), last_date) << end.out;
  Result text = run({tidemark(), "watch", "--once", run_dir});
  EXPECT_NE(text.out.find(" | ended"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" | simulated " + j["simulated_date"].get<std::string>()), std::string::npos) << text.out;
  // A path without traces is one line and exit code 2.
  Result none = run({tidemark(), "watch", "--once", dir + "/missing"});
  EXPECT_EQ(none.code, 2);
  EXPECT_EQ(std::count(none.err.begin(), none.err.end(), '\n'), 1) << none.err;
}

// tidemark run packs each trace once the command has ended; `tidemark pack` packs a trace kept as
// written (--no-pack). Eight threads' 1.6 M allocations, half of them freed by another thread:
// the packed trace reads exactly as the one written, in a fraction of its size.
TEST(Pack, ATraceReadsTheSameOncePackedInAFractionOfItsSize) {
  std::string dir = tempDir();
  Result packed_run = run({tidemark(), "run", "-o", dir + "/packed", "--", program("tm-test-threads")});
  ASSERT_EQ(packed_run.code, 0) << packed_run.err;
  EXPECT_NE(packed_run.err.find("tidemark: packed 1 trace: "), std::string::npos) << packed_run.err;
  Result raw_run = run({tidemark(), "run", "--no-pack", "-o", dir + "/raw", "--", program("tm-test-threads")});
  ASSERT_EQ(raw_run.code, 0) << raw_run.err;
  EXPECT_EQ(raw_run.err.find("packed"), std::string::npos) << raw_run.err;
  // FileHeader::flags (after the magic, the version, the header and chunk sizes) has kFlagPacked, 8.
  // (The header's own definition is not included here: its namespace would hide tidemark().)
  auto flags = [](const std::string& trace) {
    uint32_t f = 0;
    std::ifstream in(trace, std::ios::binary);
    in.seekg(20);
    in.read(reinterpret_cast<char*>(&f), sizeof f);
    return f & 8;
  };
  EXPECT_TRUE(flags(onlyTrace(dir + "/packed")));
  std::string raw = onlyTrace(dir + "/raw");
  EXPECT_FALSE(flags(raw));

  std::filesystem::create_directory(dir + "/copy");
  std::string copy = dir + "/copy/" + std::filesystem::path(raw).filename().string();
  std::filesystem::copy_file(raw, copy);
  Result pack = run({tidemark(), "pack", dir + "/copy"});
  ASSERT_EQ(pack.code, 0) << pack.err;
  EXPECT_EQ(pack.out.rfind("tidemark: packed 1 trace: ", 0), 0u) << pack.out;
  EXPECT_TRUE(flags(copy));
  EXPECT_LT(std::filesystem::file_size(copy) * 4, std::filesystem::file_size(raw));
  auto comparable = [](nlohmann::json s) {
    for (const char* key : {"trace", "trace_bytes", "analysis_seconds"}) s.erase(key);
    return s;
  };
  auto from_raw = summary(raw), from_packed = summary(copy);
  const auto* site = group(from_packed["sites"], "workerAllocate");
  ASSERT_TRUE(site) << from_packed["sites"].dump(1);
  EXPECT_EQ((*site)["allocations"], 1600000u);  // 8 threads x 200,000, as the program says
  EXPECT_EQ(comparable(from_packed), comparable(from_raw));
  // Twice: nothing to do, exit 0. A path that is not there: one line, exit 2.
  Result again = run({tidemark(), "pack", copy});
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.out, "tidemark: nothing to pack: the trace is packed already or in aggregate mode\n");
  Result missing = run({tidemark(), "pack", dir + "/missing"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
}
