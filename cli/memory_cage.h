// `tidemark run --memory-limit`: runs the command under a real memory limit. A cgroup made for the
// run (v2 memory.max, else v1 memory.limit_in_bytes) when the machine lets us; otherwise tidemark
// watches the command's RSS and kills it at the limit, and says so.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace tidemark {

class MemoryCage {
 public:
  // Prepares the limit; `note` receives a line for the user when the cgroup could not be made.
  MemoryCage(uint64_t limit, std::string& note);
  ~MemoryCage();
  MemoryCage(const MemoryCage&) = delete;
  MemoryCage& operator=(const MemoryCage&) = delete;

  // In the child between fork and exec (async-signal-safe): moves the calling process into the
  // cgroup. False when that failed.
  bool enter() const noexcept;

  uint8_t kind() const { return kind_; }  // format::LimitKind
  uint64_t limit() const { return limit_; }
  bool usesWatchdog() const;
  // Watchdog only: kills `pid` when its RSS passed the limit. True once it did.
  bool watch(pid_t pid);

  // After the command ended: did the out-of-memory killer end it, on what evidence, with how much
  // memory in use.
  struct Outcome {
    bool oom_killed = false;
    uint8_t evidence = 0;  // format::OomEvidence
    uint64_t usage = 0;
    uint64_t kills = 0;  // processes of the group it ended
    std::string evidence_text;
  };
  Outcome outcome() const;

  std::string description() const;  // "cgroup v2 memory.max", ...

 private:
  uint64_t limit_;
  uint8_t kind_ = 0;
  std::string dir_;         // the cgroup made for the run
  int procs_fd_ = -1;       // its cgroup.procs, opened before fork
  bool watchdog_killed_ = false;
  uint64_t watchdog_rss_ = 0;
};

}  // namespace tidemark
