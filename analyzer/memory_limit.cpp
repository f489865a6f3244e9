#include "memory_limit.h"

#include "tidemark/trace_format.h"

namespace tidemark {

EffectiveLimit effectiveLimit(const ReplayResult& run, uint64_t command_line_bytes) {
  using Source = EffectiveLimit::Source;
  if (command_line_bytes) return {.bytes = command_line_bytes, .source = Source::CommandLine};
  if (run.run_limit.bytes) {
    Source source = Source::RunCgroupV2;
    switch (static_cast<format::LimitKind>(run.run_limit.kind)) {
      case format::LimitKind::CgroupV2: source = Source::RunCgroupV2; break;
      case format::LimitKind::CgroupV1: source = Source::RunCgroupV1; break;
      case format::LimitKind::Watchdog: source = Source::RunWatchdog; break;
    }
    return {.bytes = run.run_limit.bytes, .source = source};
  }
  if (run.cgroup_limit) return {.bytes = run.cgroup_limit, .source = Source::ContainerCgroup};
  return {};
}

const char* limitSourceText(EffectiveLimit::Source source) {
  switch (source) {
    case EffectiveLimit::Source::None: return "no limit known";
    case EffectiveLimit::Source::CommandLine: return "--limit";
    case EffectiveLimit::Source::RunCgroupV2: return "tidemark run --memory-limit, a cgroup v2 memory.max";
    case EffectiveLimit::Source::RunCgroupV1: return "tidemark run --memory-limit, a cgroup v1 memory limit";
    case EffectiveLimit::Source::RunWatchdog: return "tidemark run --memory-limit, enforced by tidemark's RSS watchdog";
    case EffectiveLimit::Source::ContainerCgroup: return "the cgroup memory limit the process started under";
  }
  return "?";
}

const char* limitSourceKey(EffectiveLimit::Source source) {
  switch (source) {
    case EffectiveLimit::Source::None: return "none";
    case EffectiveLimit::Source::CommandLine: return "command-line";
    case EffectiveLimit::Source::RunCgroupV2: return "run-cgroup-v2";
    case EffectiveLimit::Source::RunCgroupV1: return "run-cgroup-v1";
    case EffectiveLimit::Source::RunWatchdog: return "run-watchdog";
    case EffectiveLimit::Source::ContainerCgroup: return "container-cgroup";
  }
  return "?";
}

}  // namespace tidemark
