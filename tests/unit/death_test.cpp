// The post-mortem verdict from what a trace says about how the process ended.
#include <gtest/gtest.h>
#include <signal.h>

#include "memory_limit.h"
#include "summary.h"
#include "tidemark/trace_format.h"

using namespace tidemark;

namespace {

ReplayResult killedRun(uint64_t rss, uint64_t limit) {
  ReplayResult r;
  r.rss_last = rss;
  r.cgroup_limit = limit;  // the container's cgroup, recorded by the tracker at start
  r.last_event_time_ns = 5'000'000'000;
  r.markers.push_back({1'000'000'000, 10, static_cast<uint32_t>(format::MarkerKind::SimulationDate), "2024-03-14"});
  r.markers.push_back({4'900'000'000, 20, static_cast<uint32_t>(format::MarkerKind::SimulationDate), "2024-03-15"});
  r.markers.push_back({4'950'000'000, 21, static_cast<uint32_t>(format::MarkerKind::Text), "not a date"});
  return r;
}

// The verdict as summarize() reaches it: against the run's effective limit.
Death judge(const ReplayResult& r) { return assessDeath(r, effectiveLimit(r, 0)); }

TEST(Death, AnExitIsNoDeath) {
  ReplayResult r = killedRun(900, 1000);
  r.end.state = EndState::Exited;
  EXPECT_EQ(judge(r).kind, Death::Kind::None);
  r.end.state = EndState::ExitCalled;
  EXPECT_EQ(judge(r).kind, Death::Kind::None);
}

TEST(Death, ATraceThatStopsNearTheContainersLimitIsProbablyAnOomKill) {
  Death d = judge(killedRun(900, 1000));  // no exit, no wrapper: LD_PRELOAD alone
  EXPECT_EQ(d.kind, Death::Kind::OomLikely);
  EXPECT_EQ(d.rss, 900u);
  EXPECT_EQ(d.time_ns, 5'000'000'000u);
  EXPECT_EQ(d.simulation_date, "2024-03-15");
  EXPECT_NE(d.evidence.find("90% of the limit"), std::string::npos) << d.evidence;
}

TEST(Death, FarFromTheLimitOrWithoutOneItIsAKill) {
  EXPECT_EQ(judge(killedRun(800, 1000)).kind, Death::Kind::Killed);  // under 85%
  EXPECT_EQ(judge(killedRun(900, 0)).kind, Death::Kind::Killed);
  ReplayResult r = killedRun(900, 1000);
  r.end = {.state = EndState::Signaled, .code = SIGTERM, .time_ns = 4'000'000'000, .program = {}};
  EXPECT_EQ(judge(r).kind, Death::Kind::None);  // SIGTERM: an ordinary end, described as such
  r.end.code = SIGKILL;
  EXPECT_EQ(judge(r).kind, Death::Kind::OomLikely);
  EXPECT_EQ(judge(r).time_ns, 4'000'000'000u);
}

TEST(Death, TheWrappersRecordIsEvidence) {
  ReplayResult r = killedRun(100, 0);  // RSS far below: the cgroup also counts page cache
  r.end = {.state = EndState::Signaled, .code = SIGKILL, .time_ns = 3'000'000'000, .program = {}};
  r.run_limit = {1000, static_cast<uint32_t>(format::LimitKind::CgroupV2)};
  r.oom = {true, 2'990'000'000, static_cast<uint32_t>(format::OomEvidence::CgroupEvents), 1000};
  Death d = judge(r);
  EXPECT_EQ(d.kind, Death::Kind::OomKilled);
  EXPECT_EQ(d.usage, 1000u);
  EXPECT_EQ(d.usage_source, Death::Usage::CgroupPeak);
  EXPECT_EQ(d.time_ns, 2'990'000'000u);
  EXPECT_NE(d.evidence.find("memory.events"), std::string::npos) << d.evidence;
}

TEST(EffectiveLimit, OneLimitFromTheStrongestSource) {
  ReplayResult r = killedRun(100, 4000);  // the container's cgroup limit, seen at start
  EffectiveLimit l = effectiveLimit(r, 0);
  EXPECT_EQ(l.bytes, 4000u);
  EXPECT_EQ(l.source, EffectiveLimit::Source::ContainerCgroup);
  r.run_limit = {1000, static_cast<uint32_t>(format::LimitKind::Watchdog)};  // tidemark run --memory-limit
  l = effectiveLimit(r, 0);
  EXPECT_EQ(l.bytes, 1000u);
  EXPECT_EQ(l.source, EffectiveLimit::Source::RunWatchdog);
  EXPECT_FALSE(l.enforcedByCgroup());
  l = effectiveLimit(r, 7000);  // --limit: the user's word replaces what the trace recorded
  EXPECT_EQ(l.bytes, 7000u);
  EXPECT_EQ(l.source, EffectiveLimit::Source::CommandLine);
  EXPECT_EQ(effectiveLimit(killedRun(1, 0), 0).source, EffectiveLimit::Source::None);
}

TEST(Death, TheWatchdogsKillIsJudgedAgainstItsOwnLimit) {
  ReplayResult r = killedRun(990, 0);
  r.end = {.state = EndState::Signaled, .code = SIGKILL, .time_ns = 3'000'000'000, .program = {}};
  r.run_limit = {1000, static_cast<uint32_t>(format::LimitKind::Watchdog)};
  r.oom = {true, 2'990'000'000, static_cast<uint32_t>(format::OomEvidence::Watchdog), 1010};
  Death d = judge(r);
  EXPECT_EQ(d.kind, Death::Kind::OomKilled);
  EXPECT_EQ(d.usage_source, Death::Usage::WatchdogRss);  // not "the cgroup's memory use": there was no cgroup
  EXPECT_NE(d.evidence.find("watchdog"), std::string::npos) << d.evidence;
}

}  // namespace
