#include "memory_cage.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "tidemark/trace_format.h"
#include "units.h"

namespace tidemark {

namespace {

struct Mount {
  std::string root, point, type, options;
};

std::vector<Mount> cgroupMounts() {
  std::vector<Mount> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, word;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    while (f >> word && word != "-") {}
    Mount m{root, point, "", ""};
    std::string source;
    if (!(f >> m.type >> source >> m.options)) continue;
    if (m.type == "cgroup" || m.type == "cgroup2") out.push_back(m);
  }
  return out;
}

bool hasWord(const std::string& list, const std::string& word, char sep) {
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, sep))
    if (item == word) return true;
  return false;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool writeFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

// "key value" lines (memory.events, memory.oom_control): the value of key, or 0.
uint64_t keyedValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

uint64_t number(const std::string& text) {
  try {
    return std::stoull(text);
  } catch (...) {
    return 0;
  }
}

// The directory of our own cgroup in a hierarchy mounted at m, for the path from /proc/self/cgroup.
std::string ownDir(const Mount& m, std::string path) {
  if (m.root != "/" && path.rfind(m.root, 0) == 0) path = path.substr(m.root.size());
  if (path.empty() || path == "/") return m.point;
  return m.point + path;
}

// Kills what a run's group still holds and removes the group; false when it would not go.
bool removeGroup(const std::string& dir) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::istringstream pids(readFile(dir + "/cgroup.procs"));
    pid_t pid;
    while (pids >> pid) ::kill(pid, SIGKILL);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    timespec ts{0, 10'000'000};
    nanosleep(&ts, nullptr);
  }
  return false;
}

// Groups left by a tidemark run that was killed itself (tidemark-<pid>-<n> whose pid is gone):
// what they still hold was the command of that run, which can no longer be watched.
void removeStaleGroups(const std::string& parent) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    unsigned long pid = 0, n = 0;
    char rest = 0;
    if (sscanf(name.c_str(), "tidemark-%lu-%lu%c", &pid, &n, &rest) != 2 || !entry.is_directory(ec)) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // its wrapper still runs
    removeGroup(entry.path().string());
  }
}

std::string makeChild(const std::string& parent, std::string& why) {
  static unsigned counter = 0;
  removeStaleGroups(parent);
  std::string dir = fmt::format("{}/tidemark-{}-{}", parent, getpid(), counter++);
  if (::mkdir(dir.c_str(), 0755) != 0) {
    why = fmt::format("cannot create {}: {}", dir, strerror(errno));
    return "";
  }
  return dir;
}

}  // namespace

MemoryCage::MemoryCage(uint64_t limit, std::string& note) : limit_(limit) {
  if (const char* w = getenv("TIDEMARK_LIMIT_WATCHDOG"); w && *w == '1') {
    kind_ = static_cast<uint8_t>(format::LimitKind::Watchdog);
    note = fmt::format("TIDEMARK_LIMIT_WATCHDOG=1: tidemark enforces the limit itself, killing the command with "
                       "SIGKILL when its RSS passes {}", humanBytes(limit));
    return;
  }
  std::vector<Mount> mounts = cgroupMounts();
  std::string own = readFile("/proc/self/cgroup");
  std::string why_v2 = "no cgroup v2 hierarchy is mounted", why_v1 = "no cgroup v1 memory hierarchy is mounted";
  // cgroup v2: our cgroup must offer the memory controller to its children.
  for (const Mount& m : mounts) {
    if (m.type != "cgroup2" || !dir_.empty()) continue;
    std::istringstream lines(own);
    std::string line, path;
    while (std::getline(lines, line))
      if (line.rfind("0::", 0) == 0) path = line.substr(3);
    if (path.empty()) continue;
    std::string parent = ownDir(m, path);
    if (!hasWord(readFile(parent + "/cgroup.controllers"), "memory", ' ')) {
      why_v2 = fmt::format("the cgroup v2 group {} has no memory controller", parent);
      continue;
    }
    std::string subtree = readFile(parent + "/cgroup.subtree_control");
    if (!hasWord(subtree.substr(0, subtree.find('\n')), "memory", ' ') && !writeFile(parent + "/cgroup.subtree_control", "+memory")) {
      why_v2 = fmt::format("cannot enable the memory controller under {}: {}", parent, strerror(errno));
      continue;
    }
    std::string dir = makeChild(parent, why_v2);
    if (dir.empty()) continue;
    if (!writeFile(dir + "/memory.max", std::to_string(limit))) {
      why_v2 = fmt::format("cannot set {}/memory.max: {}", dir, strerror(errno));
      ::rmdir(dir.c_str());
      continue;
    }
    writeFile(dir + "/memory.swap.max", "0");  // no swap to hide in (absent without swap accounting)
    dir_ = dir;
    kind_ = static_cast<uint8_t>(format::LimitKind::CgroupV2);
  }
  // cgroup v1: the memory hierarchy.
  for (const Mount& m : mounts) {
    if (m.type != "cgroup" || !dir_.empty() || !hasWord(m.options, "memory", ',')) continue;
    std::istringstream lines(own);
    std::string line, path;
    bool found = false;
    while (std::getline(lines, line)) {
      size_t a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      if (hasWord(line.substr(a + 1, b - a - 1), "memory", ',')) path = line.substr(b + 1), found = true;
    }
    if (!found) continue;
    std::string dir = makeChild(ownDir(m, path), why_v1);
    if (dir.empty()) continue;
    if (!writeFile(dir + "/memory.limit_in_bytes", std::to_string(limit))) {
      why_v1 = fmt::format("cannot set {}/memory.limit_in_bytes: {}", dir, strerror(errno));
      ::rmdir(dir.c_str());
      continue;
    }
    writeFile(dir + "/memory.memsw.limit_in_bytes", std::to_string(limit));  // with swap accounting only
    dir_ = dir;
    kind_ = static_cast<uint8_t>(format::LimitKind::CgroupV1);
  }
  if (!dir_.empty()) {
    procs_fd_ = ::open((dir_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (procs_fd_ >= 0) return;
    note = fmt::format("cannot open {}/cgroup.procs: {}", dir_, strerror(errno));
    ::rmdir(dir_.c_str());
    dir_.clear();
  }
  kind_ = static_cast<uint8_t>(format::LimitKind::Watchdog);
  note = fmt::format(
      "no cgroup can hold the limit here ({}; {}): tidemark enforces it itself, killing the command with SIGKILL "
      "when its RSS passes {}",
      why_v2, why_v1, humanBytes(limit));
}

MemoryCage::~MemoryCage() {
  if (procs_fd_ >= 0) ::close(procs_fd_);
  if (dir_.empty()) return;
  // What the command left behind (a daemonized child) goes with it, so the group can be removed.
  removeGroup(dir_);
}

bool MemoryCage::enter() const noexcept {
  if (procs_fd_ < 0) return true;  // the watchdog needs nothing from the child
  return ::write(procs_fd_, "0", 1) == 1;
}

bool MemoryCage::usesWatchdog() const { return kind_ == static_cast<uint8_t>(format::LimitKind::Watchdog); }

bool MemoryCage::watch(pid_t pid) {
  if (watchdog_killed_) return true;
  char path[64], text[128];
  snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return false;
  text[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (sscanf(text, "%llu %llu", &size, &resident) != 2) return false;
  uint64_t rss = resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (rss < limit_) return false;
  watchdog_rss_ = rss;
  watchdog_killed_ = ::kill(pid, SIGKILL) == 0;
  return watchdog_killed_;
}

MemoryCage::Outcome MemoryCage::outcome() const {
  Outcome o;
  if (usesWatchdog()) {
    if (watchdog_killed_) {
      o = {true, static_cast<uint8_t>(format::OomEvidence::Watchdog), watchdog_rss_, 1,
           fmt::format("tidemark's watchdog saw RSS {} and killed it", humanBytes(watchdog_rss_))};
    }
    return o;
  }
  if (kind_ == static_cast<uint8_t>(format::LimitKind::CgroupV2)) {
    uint64_t kills = keyedValue(readFile(dir_ + "/memory.events"), "oom_kill");
    o.usage = number(readFile(dir_ + "/memory.peak"));
    if (kills) o = {true, static_cast<uint8_t>(format::OomEvidence::CgroupEvents), o.usage, kills, fmt::format("memory.events: oom_kill {}", kills)};
  } else {
    uint64_t kills = keyedValue(readFile(dir_ + "/memory.oom_control"), "oom_kill");
    o.usage = number(readFile(dir_ + "/memory.max_usage_in_bytes"));
    if (kills) o = {true, static_cast<uint8_t>(format::OomEvidence::CgroupOomControl), o.usage, kills, fmt::format("memory.oom_control: oom_kill {}", kills)};
  }
  return o;
}

std::string MemoryCage::description() const {
  switch (static_cast<format::LimitKind>(kind_)) {
    case format::LimitKind::CgroupV2: return fmt::format("cgroup v2 {}/memory.max", dir_);
    case format::LimitKind::CgroupV1: return fmt::format("cgroup v1 {}/memory.limit_in_bytes", dir_);
    case format::LimitKind::Watchdog: return "tidemark's RSS watchdog";
  }
  return "";
}

}  // namespace tidemark
