#include "run_command.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "error.h"
#include "live_view.h"
#include "memory_cage.h"
#include "process_tree.h"
#include "progress_line.h"
#include "summary_report.h"
#include "tidemark/trace_format.h"
#include "trace_appender.h"
#include "trace_pack.h"
#include "units.h"

namespace tidemark {

namespace fs = std::filesystem;

namespace {

pid_t g_child = -1;

void forwardSignal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

// Resolves a command like execvp does.
std::string resolveCommand(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), F_OK) != 0) throw Error(fmt::format("command not found: {}", name));
    return name;
  }
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
    start = end + 1;
  }
  throw Error(fmt::format("command not found: {}", name));
}

// Refuses programs that LD_PRELOAD cannot enter, with the reason.
void checkPreloadable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw Error(fmt::format("cannot run {}: {}", path, strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("cannot run {}: not a regular file", path));
  if (access(path.c_str(), X_OK) != 0) throw Error(fmt::format("cannot run {}: not executable", path));
  if ((st.st_mode & (S_ISUID | S_ISGID)) && geteuid() != 0)
    throw Error(fmt::format("cannot preload into {}: it is setuid/setgid, and the loader ignores LD_PRELOAD for such programs", path));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("cannot read {}: {}", path, strerror(errno)));
  Elf64_Ehdr eh{};
  ssize_t n = pread(fd, &eh, sizeof eh, 0);
  if (n >= 2 && memcmp(&eh, "#!", 2) == 0) {  // a script: its interpreter is what gets preloaded
    close(fd);
    return;
  }
  if (n != static_cast<ssize_t>(sizeof eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    close(fd);
    return;  // not ELF: let exec say what it thinks
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
    close(fd);
    throw Error(fmt::format("cannot preload into {}: not an x86-64 program", path));
  }
  bool dynamic = false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    if (pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * eh.e_phentsize)) != sizeof ph) break;
    if (ph.p_type == PT_INTERP) dynamic = true;
  }
  close(fd);
  if (!dynamic)
    throw Error(fmt::format("cannot preload into {}: it is statically linked, so LD_PRELOAD has no effect "
                            "(rebuild it dynamically linked)", path));
}

// One line for the user on stderr. Never fails the run: the command's exit code matters more
// than a message that could not be written.
template <class... Args>
void say(fmt::format_string<Args...> text, Args&&... args) {
  std::string line = fmt::format(text, std::forward<Args>(args)...);
  (void)!::write(2, line.data(), line.size());
}

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The tracker's own naming (preload/trace_writer.cpp): %p is the process id, and a path that
// was taken gets ".PID" before ".tmtrace".
std::string expandPid(const std::string& pattern, pid_t pid) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'p') {
      out += std::to_string(pid);
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::string withTag(const std::string& path, const std::string& tag) {
  static const std::string kExt = ".tmtrace";
  bool ext = path.size() >= kExt.size() && path.compare(path.size() - kExt.size(), kExt.size(), kExt) == 0;
  size_t at = ext ? path.size() - kExt.size() : path.size();
  return path.substr(0, at) + "." + tag + path.substr(at);
}

// Whether path is a trace written by process pid (a regular file, not a link).
bool isTraceOf(const std::string& path, pid_t pid) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  format::FileHeader h{};
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h) &&
            memcmp(h.magic, format::kMagic, sizeof h.magic) == 0 && h.pid == static_cast<uint64_t>(pid);
  ::close(fd);
  return ok;
}

// Where the tracker in the command (pid) wrote its trace for TIDEMARK_OUTPUT=pattern: the path
// itself, or the path with the pid inserted when another run took it first. Empty: nowhere.
std::string findTrace(const std::string& pattern, pid_t pid) {
  std::string path = expandPid(pattern, pid);
  if (isTraceOf(path, pid)) return path;
  std::string tagged = withTag(path, std::to_string(pid));
  return isTraceOf(tagged, pid) ? tagged : std::string();
}

// Makes the run directory: `requested`, or when that exists already (an earlier run, a file)
// the first free of requested.2, requested.3, ... so that nothing is overwritten and nothing mixed.
// Refuses, before the command runs, a place that cannot take it.
std::string makeRunDirectory(const std::string& requested) {
  std::string parent = fs::path(requested).parent_path().string();
  struct stat st {};
  if (stat(parent.c_str(), &st) != 0) throw Error(fmt::format("cannot write the run in {}: {}", parent, strerror(errno)));
  if (!S_ISDIR(st.st_mode)) throw Error(fmt::format("cannot write the run in {}: not a directory", parent));
  for (int k = 1; k < 1000; ++k) {
    std::string dir = k == 1 ? requested : fmt::format("{}.{}", requested, k);
    if (mkdir(dir.c_str(), 0700) == 0) return dir;  // traces are the owner's only, as each file is
    if (errno != EEXIST) throw Error(fmt::format("cannot create the run directory {}: {}", dir, strerror(errno)));
  }
  throw Error(fmt::format("cannot create the run directory {}: {}.2 to {}.999 exist too", requested, requested, requested));
}

// "5 processes; the largest: tidemark-engine (pid 1234), peak RSS 1.2 GiB", or empty for one process.
std::string describeProcesses(const std::string& dir) {
  std::vector<ProcessIdentity> ids;
  try {
    for (const std::string& t : runTraces(dir)) ids.push_back(readIdentity(t));
  } catch (const Error&) {
    return {};
  }
  if (ids.size() < 2) return {};
  const ProcessIdentity& largest = ids[selectProcess(ids, "")];
  std::string text = fmt::format("{} processes; the largest: {} (pid {}), peak RSS {}", ids.size(), largest.program(),
                                 largest.pid, humanBytes(largest.peak_rss));
  std::vector<uint64_t> stopped;
  for (const ProcessIdentity& id : ids)
    if (id.stopped_early) stopped.push_back(id.pid);
  if (!stopped.empty())
    text += fmt::format("; recording stopped early in {} of them ({}{}): tidemark summary --process PID says why",
                        stopped.size(), fmt::join(stopped.begin(), stopped.begin() + std::min<size_t>(stopped.size(), 5), ", "),
                        stopped.size() > 5 ? ", ..." : "");
  return text;
}

}  // namespace

std::string findPreload() {
  if (const char* env = getenv("TIDEMARK_PRELOAD"); env && *env) {
    if (access(env, R_OK) != 0) throw Error(fmt::format("TIDEMARK_PRELOAD={} does not exist", env));
    return fs::absolute(env).string();
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path candidate : {self.parent_path() / "libtidemark_preload.so",
                               self.parent_path() / TIDEMARK_PRELOAD_FROM_BIN / "libtidemark_preload.so"}) {
      if (fs::exists(candidate)) return candidate.string();
    }
  }
  throw Error("cannot find libtidemark_preload.so beside the tidemark executable; set TIDEMARK_PRELOAD");
}

namespace {

// The directory of the Python module (python/tidemark): beside bin/ in the build tree, where
// Debian's python3 looks when installed (lib/python3/dist-packages). Empty when it is not there.
std::string findPythonModule() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (fs::path candidate : {self.parent_path().parent_path() / "python",
                             self.parent_path() / TIDEMARK_PYTHON_FROM_BIN})
    if (fs::exists(candidate / "tidemark" / "__init__.py", ec)) return candidate.string();
  return {};
}

}  // namespace

PackSummary packTraces(const std::vector<std::string>& traces) {
  PackSummary summary;
  summary.traces = traces.size();
  for (const std::string& trace : traces) {
    try {
      PackOutcome o = packTrace(trace);
      if (!o.left_as_is.empty()) {
        if (!o.nothing_to_pack) {
          summary.left.push_back(fmt::format("{} is left as it is: {}", trace, o.left_as_is));
          ++summary.left_with_something_to_pack;
        }
        continue;
      }
      ++summary.packed;
      summary.before += o.bytes_before;
      summary.after += o.bytes_after;
      summary.allocations += o.allocations;
    } catch (const Error& e) {
      summary.left.push_back(fmt::format("{}; it is kept as it was", e.what()));
      ++summary.left_with_something_to_pack;
    }
  }
  return summary;
}

std::string PackSummary::text() const {
  if (!packed) return {};
  // Per allocation only where allocations make the size (not a short run's header and libraries).
  std::string per_allocation =
      allocations >= 1'000'000 ? fmt::format(" ({:.2f} -> {:.2f} bytes per allocation)", static_cast<double>(before) / static_cast<double>(allocations),
                                static_cast<double>(after) / static_cast<double>(allocations))
                  : "";
  return fmt::format("packed {} trace{}: {} -> {}{}", packed, packed == 1 ? "" : "s", humanBytes(before), humanBytes(after),
                     per_allocation);
}

int runCommand(const RunOptions& options) {
  if (options.command.empty()) throw Error("run: no command given (usage: tidemark run [options] -- CMD ARGS...)");
  std::string program = resolveCommand(options.command[0]);
  checkPreloadable(program);
  std::string preload = findPreload();

  std::string requested = options.output;
  if (requested.empty()) requested = fmt::format("tidemark.{}.{}", fs::path(options.command[0]).filename().string(), getpid());
  while (requested.size() > 1 && requested.back() == '/') requested.pop_back();
  requested = fs::absolute(requested).lexically_normal().string();
  const std::string run_dir = makeRunDirectory(requested);
  // One trace per process image: a forked child, or the program a process became by exec.
  const std::string output = run_dir + "/%p.tmtrace";

  // The child's environment: ours, with the tracker's variables set.
  std::vector<std::string> env;
  std::string ld_preload = preload;
  // Python programs find the tidemark module (markers) after their own paths.
  std::string python_path = findPythonModule();
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("LD_PRELOAD=", 0) == 0) {
      if (kv.size() > 11) ld_preload += ":" + std::string(kv.substr(11));
      continue;
    }
    if (kv.rfind("PYTHONPATH=", 0) == 0 && !python_path.empty()) {
      if (kv.size() > 11) python_path = std::string(kv.substr(11)) + ":" + python_path;
      continue;
    }
    // The variables set below come from the command line; others (TIDEMARK_QUIET, TIDEMARK_SCAN,
    // TIDEMARK_VERIFY_STACKS) pass through.
    bool set_below = false;
    for (std::string_view name : {"TIDEMARK_OUTPUT=", "TIDEMARK_INTERVAL_MS=", "TIDEMARK_MAX_FRAMES=",
                                  "TIDEMARK_TRACK_MMAP=", "TIDEMARK_MODE=", "TIDEMARK_SAMPLE_BYTES="})
      set_below = set_below || kv.starts_with(name);
    if (set_below || (options.scan && kv.starts_with("TIDEMARK_SCAN="))) continue;
    env.emplace_back(kv);
  }
  env.push_back("LD_PRELOAD=" + ld_preload);
  if (!python_path.empty()) env.push_back("PYTHONPATH=" + python_path);
  env.push_back("TIDEMARK_OUTPUT=" + output);
  env.push_back(fmt::format("TIDEMARK_INTERVAL_MS={}", options.interval_ms));
  env.push_back(fmt::format("TIDEMARK_MAX_FRAMES={}", options.max_frames));
  env.push_back(fmt::format("TIDEMARK_TRACK_MMAP={}", options.track_mmap ? 1 : 0));
  if (options.scan) env.push_back("TIDEMARK_SCAN=1");
  env.push_back("TIDEMARK_MODE=" + options.mode);
  if (options.mode == "sample") env.push_back(fmt::format("TIDEMARK_SAMPLE_BYTES={}", options.sample_bytes));
  std::vector<char*> envp, argv;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (const std::string& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  std::unique_ptr<MemoryCage> cage;
  if (options.memory_limit) {
    std::string note;
    cage = std::make_unique<MemoryCage>(options.memory_limit, note);
    if (!note.empty()) say("tidemark: {}\n", note);
  }

  say("tidemark: recording {} into {}\n", fs::path(options.command[0]).filename().string(), run_dir);
  // On a terminal, one line redrawn while the command runs (a pipe or a file gets none).
  StatusLine status_line(run_dir, !options.no_status && isatty(2) && !getenv("TIDEMARK_QUIET"));

  uint64_t start = monotonicNs();
  pid_t child = fork();
  if (child < 0) throw Error(fmt::format("fork: {}", strerror(errno)));
  if (child == 0) {
    // Under a memory limit, the command must not outlive a wrapper that was killed: nothing would
    // watch it, record its end or remove its cgroup.
    if (cage && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)) _exit(125);
    if (cage && !cage->enter()) {
      static const char msg[] = "tidemark: cannot move the command into its memory cgroup\n";
      (void)!write(2, msg, sizeof msg - 1);
      _exit(125);
    }
    execve(program.c_str(), argv.data(), envp.data());
    say("tidemark: cannot execute {}: {}\n", program, strerror(errno));
    _exit(127);
  }
  g_child = child;
  struct sigaction sa {};
  sa.sa_handler = forwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaction(sig, &sa, nullptr);

  int status = 0;
  if (cage && cage->usesWatchdog()) {
    // Poll: the RSS every millisecond or so, against the limit.
    for (;;) {
      pid_t done = waitpid(child, &status, WNOHANG);
      if (done == child) break;
      if (done < 0 && errno != EINTR) throw Error(fmt::format("waitpid: {}", strerror(errno)));
      cage->watch(child);
      status_line.tick();
      timespec ts{0, 1'000'000};
      nanosleep(&ts, nullptr);
    }
  } else if (status_line.enabled()) {
    for (;;) {
      pid_t done = waitpid(child, &status, WNOHANG);
      if (done == child) break;
      if (done < 0 && errno != EINTR) throw Error(fmt::format("waitpid: {}", strerror(errno)));
      status_line.tick();
      timespec ts{0, 50'000'000};
      nanosleep(&ts, nullptr);
    }
  } else {
    while (waitpid(child, &status, 0) < 0) {
      if (errno != EINTR) throw Error(fmt::format("waitpid: {}", strerror(errno)));
    }
  }
  status_line.clear();
  uint64_t elapsed = monotonicNs() - start;
  bool signaled = WIFSIGNALED(status);
  int code = signaled ? WTERMSIG(status) : WEXITSTATUS(status);
  std::string cmd = fs::path(options.command[0]).filename().string();
  const int exit_code = signaled ? 128 + code : code;
  std::string trace = findTrace(output, child);
  if (run_dir != requested) say("tidemark: {} exists, so this run is in {}\n", requested, run_dir);
  if (trace.empty()) {
    // The command's own exit code in every case: a missing trace is tidemark's problem, not its.
    if (!signaled && code == 127)
      say("tidemark: {} could not be started, and no trace was written\n", cmd);
    else
      say("tidemark: {} ran but wrote no trace at {}: the tracker was not loaded (a program that clears "
                         "LD_PRELOAD, or one the loader will not preload into)\n", cmd, output);
    return exit_code;
  }
  WrapperRecords end;
  end.signaled = signaled;
  end.code = code;
  end.time_ns = elapsed;
  MemoryCage::Outcome oom;
  if (cage) {
    end.limit = cage->limit();
    end.limit_kind = cage->kind();
    oom = cage->outcome();
    // The out-of-memory killer sends SIGKILL; a kill of another process of the group (a worker)
    // while the command itself went on is not its death.
    end.oom_evidence = oom.evidence;
    end.oom_usage = oom.usage;
    if (oom.oom_killed && signaled && code == SIGKILL)
      end.oom_killed = true;
    else if (oom.oom_killed)
      end.oom_kills_of_others = oom.kills;  // a worker: the tree's analysis finds which
  }
  format::FileHeader header{};
  try {
    header = appendProcessEnd(trace, static_cast<uint64_t>(child), end);
  } catch (const Error& e) {
    say("tidemark: {}; how {} ended is not in its trace\n", e.what(), cmd);
  }
  if (oom.oom_killed && !end.oom_killed)
    say("tidemark: the out-of-memory killer ended a process of {}'s group ({})\n", cmd, oom.evidence_text);
  if (end.oom_killed)
    say("tidemark: {} was OOM-killed at the memory limit of {} ({}; {})\n", cmd, humanBytes(end.limit),
               cage->description(), oom.evidence_text);
  else if (signaled)
    say("tidemark: {} was killed by {} ({})\n", cmd, signalName(code), code);
  else
    say("tidemark: {} exited with code {}\n", cmd, code);
  if (header.stop_reason)
    say("tidemark: {}\n",
               incompleteText({.reason = header.stop_reason, .time_ns = header.stopped_ns}));
  if (std::string processes = describeProcesses(run_dir); !processes.empty()) say("tidemark: {}\n", processes);
  if (options.pack) {
    // The records as written, in a fraction of the space; a trace whose process still runs (a
    // daemon the command left behind) keeps growing and is left as it is.
    PackSummary packed;
    {
      ProgressLine line;  // on a terminal, once packing has taken two seconds
      packed = packTraces(runTraces(run_dir));
    }
    if (!packed.text().empty()) say("tidemark: {}\n", packed.text());
    for (const std::string& left : packed.left) say("tidemark: {}\n", left);
  }
  uint64_t bytes = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(run_dir, ec)) bytes += e.is_regular_file(ec) ? e.file_size(ec) : 0;
  say("tidemark: run written to {} ({}); read it with: tidemark summary {}\n", run_dir, humanBytes(bytes), run_dir);
  return exit_code;
}

}  // namespace tidemark
