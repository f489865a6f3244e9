// Post-mortems of killed backtests: the engine leaking every simulated day, OOM-killed under
// `tidemark run --memory-limit`, and killed with kill -9 while traced by the environment alone.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "harness.h"

using namespace tmtest;

namespace {

constexpr uint64_t kLeakPerDay = 1 << 20;

std::string ingest(const std::string& dir) {
  std::string bundle = dir + "/daily.bundle";
  Result r = run({TM_TRACED_ENGINE, "ingest", "--assets", "1500", "--days", "420", "--frequency", "daily", "-o", bundle});
  EXPECT_EQ(r.code, 0) << r.err;
  return bundle;
}

// The held bytes of the leaking site: one leak per simulated day that began, the last one unless
// the kill came between the day's marker and its leak.
void expectOneLeakPerDay(const nlohmann::json& s) {
  uint64_t days = s["findings"]["simulated_days"];
  ASSERT_GT(days, 5u);
  uint64_t held = total(s["leaks"]["stacks"], "tidemark::engine::leakDailyScratch", "live_bytes");
  EXPECT_TRUE(held == days * kLeakPerDay || held == (days - 1) * kLeakPerDay)
      << held << " bytes held after " << days << " simulated days";
}

const nlohmann::json& death(const nlohmann::json& s) { return s["death"]; }

// With a cgroup where the machine allows one (these run as root), and with tidemark's own RSS
// watchdog, which is the fallback where no cgroup can be made.
class OomKill : public ::testing::TestWithParam<bool> {};

TEST_P(OomKill, UnderAMemoryLimitNamesTheLeakAsTheHolderAtDeath) {
  std::string dir = tempDir();
  std::string bundle = ingest(dir);
  std::string trace = dir + "/oom.tmtrace";
  std::vector<std::string> env;
  if (GetParam()) env.push_back("TIDEMARK_LIMIT_WATCHDOG=1");
  Result r = run({tidemark(), "run", "--memory-limit", "48M", "-o", trace, "--", TM_TRACED_ENGINE, "run", "-q", "--days",
                  "250", "--bundle", bundle, "--fault", "leak-per-day", "--leak-bytes-per-day", std::to_string(kLeakPerDay)},
                 env);
  ASSERT_EQ(r.code, 128 + SIGKILL) << r.err;
  EXPECT_NE(r.err.find("was OOM-killed at the memory limit of 48.0 MiB"), std::string::npos) << r.err;
  auto s = summary(trace);
  const auto& d = death(s);
  EXPECT_EQ(d["verdict"], "oom-killed") << d.dump(1);
  EXPECT_EQ(d["limit"], 48u << 20);
  EXPECT_EQ(s["memory_limit"], 48u << 20);
  EXPECT_FALSE(d["simulation_date"].get<std::string>().empty());
  ASSERT_FALSE(d["held"].empty());
  EXPECT_NE(d["held"][0]["site"].get<std::string>().find("leakDailyScratch"), std::string::npos) << d.dump(1);
  // The leak leads the growth (the history cache may still be filling in a short run).
  ASSERT_FALSE(d["unbounded_sites"].empty()) << d.dump(1);
  EXPECT_NE(d["unbounded_sites"][0].get<std::string>().find("leakDailyScratch"), std::string::npos);
  expectOneLeakPerDay(s);
  // The leak held most of the limit when the process died.
  EXPECT_GT(total(s["leaks"]["stacks"], "tidemark::engine::leakDailyScratch", "live_bytes"), 16u << 20);
  if (GetParam()) {
    EXPECT_NE(d["evidence"].get<std::string>().find("watchdog"), std::string::npos) << d.dump(1);
  }

  Result text = run({tidemark(), "summary", trace});
  // The diagnosis opens with the death; its post-mortem follows the diagnosis.
  EXPECT_EQ(text.out.rfind("Diagnosis: ", 0), 0u) << text.out;
  EXPECT_EQ(text.out.find("\n  1. OOM-killed at "), text.out.find('\n')) << text.out;
  EXPECT_NE(text.out.find("\n\nOOM-killed at "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("of limit 48.0 MiB"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("growth that led there:\n    tidemark::engine::leakDailyScratch"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("per simulated day"), std::string::npos) << text.out;

  // One limit everywhere: the verdict, the findings' projection, the text, the JSON and the HTML
  // agree on its size and on where it came from.
  const std::string source = s["memory_limit_source"];
  if (GetParam()) {
    EXPECT_EQ(source, "run-watchdog");
  } else {
    EXPECT_TRUE(source == "run-cgroup-v1" || source == "run-cgroup-v2") << source;
  }
  EXPECT_EQ(s["findings"]["process"]["limit_bytes"], 48u << 20) << s["findings"]["process"].dump(1);
  EXPECT_EQ(s["findings"]["process"]["limit_source"], source);
  const std::string limit_line = GetParam() ? "limit     48.0 MiB (tidemark run --memory-limit, enforced by tidemark's RSS watchdog)"
                                 : source == "run-cgroup-v1" ? "limit     48.0 MiB (tidemark run --memory-limit, a cgroup v1 memory limit)"
                                                             : "limit     48.0 MiB (tidemark run --memory-limit, a cgroup v2 memory.max)";
  EXPECT_NE(text.out.find(limit_line), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("cgroup's memory use") == std::string::npos, GetParam()) << text.out;
  if (GetParam()) {
    EXPECT_NE(text.out.find("the watchdog saw RSS"), std::string::npos) << text.out;
  }
  std::string html_path = dir + "/oom.html";
  ASSERT_EQ(run({tidemark(), "report", trace, "-o", html_path}).code, 0);
  std::string html = readFile(html_path);
  EXPECT_NE(html.find("<td>memory limit</td><td>48.0 MiB ("), std::string::npos);
  EXPECT_NE(html.find("id=\"limit-line\""), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(PostMortem, OomKill, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Watchdog" : "Cgroup"; });

TEST(PostMortem, KilledWithTheEnvironmentAloneKeepsEveryDay) {
  std::mt19937 rng(std::random_device{}());
  int lines = 10 + static_cast<int>(rng() % 150);
  std::string dir = tempDir();
  std::string bundle = ingest(dir);
  std::string preload_env = "LD_PRELOAD=" + preload(), output_env = "TIDEMARK_OUTPUT=" + dir + "/pod.%p.tmtrace";
  int err[2];
  ASSERT_EQ(pipe(err), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    putenv(preload_env.data());
    putenv(output_env.data());
    std::string days = "250", leak = std::to_string(kLeakPerDay);
    execl(TM_TRACED_ENGINE, TM_TRACED_ENGINE, "run", "--days", days.c_str(), "--bundle", bundle.c_str(),
          "--progress-interval", "0", "--fault", "leak-per-day", "--leak-bytes-per-day", leak.c_str(), nullptr);
    _exit(127);
  }
  close(err[1]);
  FILE* in = fdopen(err[0], "r");
  char line[512];
  std::string last_date;
  for (int n = 0; n < lines && fgets(line, sizeof line, in);) {
    char date[16];
    if (sscanf(line, "[%*f%%] %10s", date) == 1) {
      last_date = date;
      ++n;
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  fclose(in);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_FALSE(last_date.empty());
  std::string trace;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".tmtrace") trace = e.path().string();
  ASSERT_FALSE(trace.empty());
  auto s = summary(trace);
  const auto& d = death(s);
  EXPECT_EQ(d["verdict"], "killed") << d.dump(1);
  // The trace goes on at least to the last date the engine printed before the kill.
  EXPECT_GE(d["simulation_date"].get<std::string>(), last_date) << d.dump(1);
  ASSERT_FALSE(d["held"].empty());
  EXPECT_NE(d["held"][0]["site"].get<std::string>().find("leakDailyScratch"), std::string::npos) << d.dump(1);
  expectOneLeakPerDay(s);
  Result text = run({tidemark(), "summary", trace});
  // The diagnosis opens with the death.
  EXPECT_EQ(text.out.rfind("Diagnosis: ", 0), 0u) << text.out;
  EXPECT_EQ(text.out.find("\n  1. Killed at "), text.out.find('\n')) << text.out;
  EXPECT_NE(text.out.find("the trace stops without an exit"), std::string::npos) << text.out;
}

}  // namespace
