// The tracker never changes what the target does: its output, files and exit code are the same
// with and without the tracker, byte for byte, when the program plays with descriptors, when the
// trace's disk fills up, and when it starts a thread per task.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

using namespace tmtest;

namespace {

// A small file system mounted for one test (these tests run as root in CI; elsewhere they skip).
class SmallMount {
 public:
  SmallMount(const std::string& dir, const std::vector<std::string>& mount_args) : dir_(dir) {
    std::filesystem::create_directories(dir);
    std::vector<std::string> argv = {"mount"};
    argv.insert(argv.end(), mount_args.begin(), mount_args.end());
    argv.push_back(dir);
    mounted_ = run(argv).code == 0;
  }
  ~SmallMount() {
    if (mounted_) run({"umount", dir_});
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

TEST(TargetSafety, AShellScriptKeepsItsDescriptorThree) {
  std::string dir = tempDir();
  std::string script = dir + "/fd3.sh";
  std::ofstream(script) << "exec 3> \"$1\"\nfor i in $(seq 200); do echo \"line $i\" >&3; done\necho done\n";
  Result plain = run({"bash", script, dir + "/plain.txt"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  for (const char* mode : {"full", "aggregate"}) {
    std::string traced_out = dir + "/traced-" + mode + ".txt";
    Result r = run({tidemark(), "run", "--mode", mode, "-o", dir + "/" + mode + ".tmtrace", "--", "bash", script, traced_out});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, plain.out);
    EXPECT_EQ(readFile(traced_out), readFile(dir + "/plain.txt")) << mode;
  }
  std::string lines = readFile(dir + "/plain.txt");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 200);
}

TEST(TargetSafety, AProgramThatClosesEveryDescriptorIsTracedToTheEnd) {
  std::string dir = tempDir();
  Result plain = run({program("tm-test-fd_games"), dir + "/plain.txt"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  std::string trace = dir + "/fd.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-fd_games"), dir + "/traced.txt"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
  EXPECT_EQ(readFile(dir + "/traced.txt"), readFile(dir + "/plain.txt"));
  // The tracker lost its descriptor to close_range and found its trace again by its path:
  // every one of the 400,000 allocations is there.
  auto s = summary(trace);
  EXPECT_TRUE(s["incomplete"].is_null()) << s["incomplete"];
  EXPECT_EQ(total(s["sites"], "allocateAt", "allocations"), 400000u) << s["sites"].dump(1);
}

// When the trace's file system fills up, the tracker stops recording and the program goes on,
// unharmed: same output, same exit code; the trace says it is incomplete and why.
void expectStopsWhenFull(const std::string& trace_dir, const std::string& dir) {
  std::string trace = trace_dir + "/full.tmtrace";
  Result plain = run({program("tm-test-fd_games"), dir + "/plain.txt"});
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-fd_games"), dir + "/traced.txt"});
  EXPECT_EQ(r.code, plain.code) << r.err;
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
  EXPECT_EQ(readFile(dir + "/traced.txt"), readFile(dir + "/plain.txt"));
  EXPECT_NE(r.err.find("tidemark: incomplete: the tracker stopped recording at "), std::string::npos) << r.err;
  auto s = summary(trace);
  ASSERT_TRUE(s["incomplete"].is_object()) << s.dump(1).substr(0, 2000);
  EXPECT_NE(s["incomplete"]["reason"].get<std::string>().find("could not grow"), std::string::npos);
  EXPECT_EQ(s["death"]["verdict"], "none");  // the wrapper saw it exit 0: no crash is blamed
  Result text = run({tidemark(), "summary", trace});
  // The first problem of the diagnosis: everything after it is partial.
  EXPECT_EQ(text.out.find("\n  1. incomplete: the tracker stopped recording at "), text.out.find('\n')) << text.out.substr(0, 400);
  Result gate = run({tidemark(), "gate", trace, "--max-peak", "1GiB"});
  EXPECT_EQ(gate.code, 1) << gate.out;
  EXPECT_NE(gate.out.find("FAIL  incomplete: "), std::string::npos) << gate.out;
}

// While the tracker unwinds with libunwind it holds the thread's signals and answers libunwind's
// own sigprocmask calls (preload/tracker.h, SignalsHeld); every other call is glibc's. The program's
// masks are what they are plain, a blocked signal stays pending until it is unblocked, and a timer
// firing every 200 us reaches its handler while 200 new stacks are learned, in every mode.
// A walk of the loaded modules that outlasts the fork's wait (a callback that sleeps 1.5 s): the
// fork goes ahead after kWalkWaitNs, and the child, whose walks could hang on the lock copied held,
// records nothing more. It runs as it would untraced; its trace says who it was and why it ends.
TEST(TargetSafety, AWalkThatOutlastsTheForksWaitStopsTheChildsRecordingNotTheChild) {
  std::string run_dir = tempDir() + "/walk";
  Result r = run({tidemark(), "run", "--no-pack", "-o", run_dir, "--", program("tm-test-fork_child"), "walking", "1500", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "forks 1 failures 0\n");
  EXPECT_NE(r.err.find("; recording stopped early in 1 of them ("), std::string::npos) << r.err;
  auto s = summary(run_dir);
  ASSERT_EQ(s["run"]["processes"].size(), 2u);
  for (const auto& p : s["run"]["processes"]) {
    EXPECT_EQ(p["stopped_early"].get<bool>(), !p["parent"].is_null()) << p.dump();
    EXPECT_EQ(p["end"]["state"], "exited") << p.dump();
    if (p["parent"].is_null()) continue;
    EXPECT_EQ(p["program"], "tm-test-fork_child");  // written before recording stopped
    auto child = summary(p["trace"].get<std::string>());
    ASSERT_TRUE(child["incomplete"].is_object()) << child.dump(1).substr(0, 2000);
    EXPECT_NE(child["incomplete"]["reason"].get<std::string>().find("walking the loaded modules (dl_iterate_phdr)"), std::string::npos);
    EXPECT_EQ(child["allocations"], 0);
  }
}

TEST(TargetSafety, AProgramsSignalMasksAndTimersAreItsOwn) {
  Result plain = run({program("tm-test-signal_masks")});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_NE(plain.out.find("SIGUSR1 pending: 1, handled: 0"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("timer signals handled: yes"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("blocked before: 10, handled: 1"), std::string::npos) << plain.out;
  for (const char* mode : {"full", "sample", "aggregate"}) {
    SCOPED_TRACE(mode);
    std::string trace = tempDir() + "/signals.tmtrace";
    Result r = run({tidemark(), "run", "--mode", mode, "--no-pack", "-o", trace, "--", program("tm-test-signal_masks")});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, plain.out);
  }
}

TEST(TargetSafety, AFullDiskStopsRecordingNotTheProgram) {
  std::string dir = tempDir();
  SmallMount small(dir + "/mnt", {"-t", "tmpfs", "-o", "size=512k", "tmpfs"});
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  expectStopsWhenFull(dir + "/mnt", dir);
}

TEST(TargetSafety, AFullDiskWithoutFallocateStopsRecordingNotTheProgram) {
  // ext2 has no fallocate: a file grown sparse would raise SIGBUS in the target when the disk is full.
  std::string dir = tempDir();
  std::string image = dir + "/ext2.img";
  if (run({"truncate", "-s", "2M", image}).code != 0 || run({"mkfs.ext2", "-q", "-F", image}).code != 0)
    GTEST_SKIP() << "mkfs.ext2 is not available";
  SmallMount small(dir + "/mnt", {"-o", "loop", image});
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a loop device here (needs root)";
  expectStopsWhenFull(dir + "/mnt", dir);
}

TEST(TargetSafety, AThreadPerTaskKeepsMappingsAndTraceBounded) {
  std::string dir = tempDir();
  const std::string tasks = "20000";
  Result plain = run({program("tm-test-thread_per_task"), tasks});
  ASSERT_EQ(plain.code, 0) << plain.err;
  int plain_maps = std::stoi(plain.out.substr(plain.out.find("maps ") + 5));
  for (const char* mode : {"full", "aggregate"}) {
    std::string run_dir = dir + "/" + mode;
    Result r = run({tidemark(), "run", "--mode", mode, "-o", run_dir, "--", program("tm-test-thread_per_task"), tasks});
    std::string trace = onlyTrace(run_dir);
    ASSERT_EQ(r.code, 0) << r.err;
    int maps = std::stoi(r.out.substr(r.out.find("maps ") + 5));
    // The tracker's own: the library, its tables, the sampler, pooled streams; not one per thread.
    EXPECT_LT(maps, plain_maps + 100) << mode << ": " << r.out << " vs " << plain.out;
    EXPECT_LT(std::filesystem::file_size(trace), 16u << 20) << mode;
    auto s = summary(trace);
    EXPECT_EQ(total(s["sites"], "(anonymous namespace)::task", "allocations") + total(s["sites"], "task", "allocations"),
              20000u)
        << mode;
  }
}

TEST(TargetSafety, AWorkerThatEndsWithUnderscoreExitWasNotKilled) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/fork";
  Result r = run({tidemark(), "run", "-o", run_dir, "--", program("tm-test-fork_child")});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string child_pid = r.out.substr(r.out.find("child ") + 6);
  child_pid = child_pid.substr(0, child_pid.find('\n'));
  std::string child_trace = run_dir + "/" + child_pid + ".tmtrace";
  auto child = summary(child_trace);
  EXPECT_EQ(child["death"]["verdict"], "none") << child["death"].dump(1);
  EXPECT_EQ(child["end"]["state"], "exited");
  EXPECT_EQ(child["end"]["code"], 0);
  EXPECT_EQ(run({tidemark(), "gate", child_trace, "--max-leaked", "1MiB"}).code, 0);
  // In the run's tree, as its parent saw it too.
  EXPECT_EQ(run({tidemark(), "gate", run_dir, "--process", child_pid, "--max-leaked", "1MiB"}).code, 0);
}

TEST(TargetSafety, ALauncherThatExecsWasNotKilled) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/launch";
  // bash runs `true` in a child, then replaces itself with the test program.
  Result r = run({tidemark(), "run", "-o", run_dir, "--", "bash", "-c",
                  "true; exec " + program("tm-test-known_peak")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto engine = summary(run_dir, "known_peak");
  std::string pid = std::to_string(engine["pid"].get<uint64_t>());
  std::string trace = run_dir + "/" + pid + ".tmtrace";
  auto launcher = summary(run_dir + "/" + pid + ".pre-exec.tmtrace");
  EXPECT_EQ(launcher["death"]["verdict"], "none") << launcher["death"].dump(1);
  EXPECT_EQ(launcher["end"]["state"], "exec");
  EXPECT_EQ(launcher["end"]["program"], program("tm-test-known_peak"));
  EXPECT_EQ(engine["end"]["state"], "exited");
  EXPECT_EQ(engine["trace"], trace);
}

TEST(TargetSafety, AVforkChildThatExecsLeavesItsParentsTraceAlone) {
  std::string dir = tempDir();
  std::string run_dir = dir + "/vfork";
  Result r = run({tidemark(), "run", "-o", run_dir, "--", program("tm-test-vfork_exec")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ok 0x1\n");
  auto parent = summary(run_dir, "vfork_exec");
  EXPECT_EQ(parent["end"]["state"], "exited") << parent["end"];  // no child's exec recorded as the parent's
  EXPECT_EQ(parent["death"]["verdict"], "none");
  EXPECT_EQ(tracesIn(run_dir).size(), 21u);  // the parent's and one per `true`
  size_t children = 0;
  for (const auto& p : parent["run"]["processes"]) {
    if (p["program"] != "true") continue;
    ++children;
    EXPECT_EQ(p["end"]["state"], "exited") << p.dump();  // reaped by the parent: its word
    EXPECT_EQ(p["parent"], 0) << p.dump();
  }
  EXPECT_EQ(children, 20u);
}

}  // namespace

// The sampler thread works in a descriptor table of its own holding the trace, statm and smaps_rollup only: what
// it opens never takes a number the program is about to open or dup2 onto (fd_games once got
// EBUSY from dup2 while the sampler reopened statm), and it keeps none of the program's files open
// (a copy of a pipe's write end would keep the reader from its end of file).
TEST(TargetSafety, TheSamplerHoldsOnlyItsOwnDescriptors) {
  std::string dir = tempDir();
  std::string trace = dir + "/fds";
  Result r = run({tidemark(), "run", "-o", trace, "--", "/bin/sh", "-c",
                  "for t in /proc/$$/task/*; do echo \"$(readlink $t/fd/* | sort | tr '\\n' ' ')\"; done"});
  ASSERT_EQ(r.code, 0) << r.err;
  bool sampler_seen = false;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("statm") == std::string::npos || line.find(".tmtrace") == std::string::npos) continue;
    std::istringstream words(line);
    std::vector<std::string> targets;
    for (std::string w; words >> w;) targets.push_back(w);
    // The trace and statm, and smaps_rollup once the sampler has read PSS.
    if (targets.size() == 2 || (targets.size() == 3 && line.find("smaps_rollup") != std::string::npos)) sampler_seen = true;
  }
  EXPECT_TRUE(sampler_seen) << r.out;
}
