// kill -9 at a random point: every allocation the program completed is in the trace.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "harness.h"

using namespace tmtest;

namespace {

struct Killed {
  uint64_t live_bytes = 0;
  int status = 0;
};

// Starts argv with env, lets the program run `steps` steps, then kills it with SIGKILL and returns
// the live bytes it reported after its last completed step.
Killed runAndKill(const std::vector<std::string>& argv, const std::vector<std::string>& env, int steps) {
  int to_child[2], from_child[2];
  EXPECT_EQ(pipe(to_child), 0);
  EXPECT_EQ(pipe(from_child), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  FILE* in = fdopen(from_child[0], "r");
  char line[256];
  int target = 0;
  Killed k;
  for (int step = 0; step <= steps && fgets(line, sizeof line, in);) {
    unsigned long long live = 0;
    int n = 0, p = 0;
    if (sscanf(line, "pid %d", &p) == 1) {
      target = p;
      continue;
    }
    if (sscanf(line, "step %d live_bytes %llu", &n, &live) == 2) {
      k.live_bytes = live;
      step = n;
      if (step == steps) break;
      (void)!write(to_child[1], "go\n", 3);
    }
  }
  EXPECT_GT(target, 0);
  kill(target, SIGKILL);
  waitpid(pid, &k.status, 0);
  fclose(in);
  close(to_child[1]);
  return k;
}

class KillNine : public ::testing::TestWithParam<std::string> {};

// What the site held at the kill: exact, or in sample mode (every byte a point: a block of more
// than 36 bytes is certain to be sampled) within its error bars and a few bytes of the smallest.
void expectLiveBytes(const nlohmann::json& site, uint64_t truth, int steps, const std::string& mode) {
  uint64_t live = site["live_bytes"];
  if (mode != "sample") {
    EXPECT_EQ(live, truth) << "killed at step " << steps;
    return;
  }
  double miss = std::abs(static_cast<double>(live) - static_cast<double>(truth));
  EXPECT_LE(miss, 2 * site["live_error_bytes"].get<double>() + 64) << "killed at step " << steps;
}

std::vector<std::string> modeArguments(const std::string& mode) {
  std::vector<std::string> args = {"--mode", mode};
  if (mode == "sample") args.insert(args.end(), {"--sample-bytes", "1"});
  return args;
}

TEST_P(KillNine, UnderTheWrapperLosesNothing) {
  std::mt19937 rng(std::random_device{}());
  int steps = 1 + static_cast<int>(rng() % 400);
  std::string trace = tempDir() + "/killed.tmtrace";
  std::vector<std::string> argv = {tidemark(), "run"};
  for (const std::string& a : modeArguments(GetParam())) argv.push_back(a);
  argv.insert(argv.end(), {"-o", trace, "--", program("tm-test-kill_target")});
  Killed k = runAndKill(argv, {}, steps);
  ASSERT_TRUE(WIFEXITED(k.status));
  EXPECT_EQ(WEXITSTATUS(k.status), 128 + SIGKILL);
  auto s = summary(trace);
  EXPECT_EQ(s["mode"], GetParam());
  const auto* site = group(s["sites"], "stepAllocate");
  ASSERT_TRUE(site) << "killed at step " << steps;
  expectLiveBytes(*site, k.live_bytes, steps, GetParam());
  EXPECT_EQ(s["end"]["state"], "signaled");
  EXPECT_EQ(s["end"]["signal_name"], "SIGKILL");
  EXPECT_FALSE(s["leaks"]["ended_cleanly"]);
  Result text = run({tidemark(), "summary", trace});
  EXPECT_NE(text.out.find("killed by SIGKILL"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Live when the process died"), std::string::npos) << text.out;
}

TEST_P(KillNine, WithTheEnvironmentAloneLosesNothing) {
  std::mt19937 rng(std::random_device{}());
  int steps = 1 + static_cast<int>(rng() % 400);
  std::string dir = tempDir();
  Killed k = runAndKill({program("tm-test-kill_target")},
                        {"LD_PRELOAD=" + preload(), "TIDEMARK_OUTPUT=" + dir + "/pod.%p.tmtrace", "TIDEMARK_MODE=" + GetParam(),
                         "TIDEMARK_SAMPLE_BYTES=1"},
                        steps);
  ASSERT_TRUE(WIFSIGNALED(k.status));
  std::string trace;
  for (const auto& e : std::filesystem::directory_iterator(dir)) trace = e.path().string();
  ASSERT_FALSE(trace.empty());
  auto s = summary(trace);
  const auto* site = group(s["sites"], "stepAllocate");
  ASSERT_TRUE(site);
  expectLiveBytes(*site, k.live_bytes, steps, GetParam());
  EXPECT_EQ(s["end"]["state"], "unknown");  // no wrapper to see the signal, and no exit()
  EXPECT_NE(s["end"]["description"].get<std::string>().find("did not exit"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Modes, KillNine, ::testing::Values("full", "aggregate", "sample"));

TEST(Robustness, ExitCodeAndSignalPassThrough) {
  std::string dir = tempDir();
  Result r = run({tidemark(), "run", "-o", dir + "/a.tmtrace", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_NE(r.err.find("exited with code 7"), std::string::npos) << r.err;
  r = run({tidemark(), "run", "-o", dir + "/b.tmtrace", "--", "sh", "-c", "kill -SEGV $$"});
  EXPECT_EQ(r.code, 128 + SIGSEGV) << r.err;
  EXPECT_NE(r.err.find("killed by SIGSEGV"), std::string::npos) << r.err;
}

TEST(Robustness, ResultsOfTheProgramAreUnchanged) {
  Result plain = run({program("tm-test-threads")});
  std::string trace = tempDir() + "/t.tmtrace";
  Result traced = run({tidemark(), "run", "-o", trace, "--", program("tm-test-threads")});
  ASSERT_EQ(plain.code, 0);
  ASSERT_EQ(traced.code, 0);
  EXPECT_EQ(plain.out, traced.out);
}

}  // namespace
