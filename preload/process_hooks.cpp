// How a process ends when it does not return from main nor call exit(): _exit (a forked worker's
// usual end) and exec (a launcher that becomes the program). Each writes an Ending record first,
// so that its trace says "ended" rather than "killed". A vfork child, which shares the parent's
// memory and stream, writes nothing.
//
// How its children ended: only the parent learns it, when it waits for them (a worker killed by a
// signal writes nothing itself). The wait functions record each child they reap (ChildEnd).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "sys.h"
#include "tracker.h"

using namespace tidemark::preload;
namespace format = tidemark::format;

extern char** environ;

namespace {

void recordEnding(format::EndingKind kind, int code, const char* program) {
  if (!trackerReady() || static_cast<uint64_t>(sys::getpid()) != writer().pid()) return;
  ThreadState& t = t_state;
  if (t.busy) return;
  t.busy = true;
  int saved_errno = errno;
  writeRecord(t.stream, writer().nextSeq(),
              format::Ending{.time_ns = sys::monotonicNs() - writer().startNs(),
                             .kind = static_cast<uint64_t>(kind),
                             .code = static_cast<uint64_t>(code),
                             .program = {program ? program : "", program ? strnlen(program, 4000) : 0}});
  writer().noteEnded(sys::monotonicNs() - writer().startNs());
  errno = saved_errno;
  t.busy = false;
}

// After a wait that reaped child pid with status (as waitpid reports it).
void recordChildEnd(pid_t pid, int status) {
  if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status))) return;  // stopped or continued: not an end
  if (!trackerReady() || static_cast<uint64_t>(sys::getpid()) != writer().pid()) return;
  ThreadState& t = t_state;
  if (t.busy) return;
  t.busy = true;
  int saved_errno = errno;
  bool signaled = WIFSIGNALED(status);
  notePartOfProcessTree();
  writeRecord(t.stream, writer().nextSeq(),
              format::ChildEnd{.time_ns = sys::monotonicNs() - writer().startNs(),
                               .pid = static_cast<uint64_t>(pid),
                               .kind = static_cast<uint64_t>(signaled ? format::EndKind::Signaled : format::EndKind::Exited),
                               .code = static_cast<uint64_t>(signaled ? WTERMSIG(status) : WEXITSTATUS(status))});
  errno = saved_errno;
  t.busy = false;
}

// libc's wait4 (waitpid, wait and wait3 are wait4 with fewer arguments), then the record.
pid_t waitAndRecord(pid_t pid, int* status, int options, struct rusage* usage) {
  int local = 0;
  pid_t done;
  if (real.wait4 || (resolveRealFunctions() && real.wait4)) {
    done = real.wait4(pid, &local, options, usage);
  } else {  // before the allocator's functions could be resolved
    long rc = sys::raw(SYS_wait4, pid, reinterpret_cast<long>(&local), options, reinterpret_cast<long>(usage));
    done = rc < 0 ? -1 : static_cast<pid_t>(rc);
    if (rc < 0) errno = static_cast<int>(-rc);
  }
  if (done > 0) {
    if (status) *status = local;
    recordChildEnd(done, local);
  }
  return done;
}

[[noreturn]] void exitGroup(int code) {
  for (;;) sys::raw(SYS_exit_group, code);
}

// Before the tracker started (an exec from a library constructor), resolve now.
bool ensureRealExec() { return real.execvpe != nullptr || (resolveRealFunctions() && real.execvpe != nullptr); }

int noFunction() {
  errno = ENOSYS;
  return -1;
}

// Collects execl-style arguments (ending with a null pointer) into argv on the caller's stack.
#define TM_COLLECT_ARGS(first, last_named, argv_name, envp_out)        \
  size_t argc = 1;                                                      \
  {                                                                     \
    va_list count;                                                      \
    va_start(count, last_named);                                        \
    while (va_arg(count, const char*)) ++argc;                          \
    va_end(count);                                                      \
  }                                                                     \
  const char* argv_name[argc + 1];                                      \
  argv_name[0] = first;                                                 \
  {                                                                     \
    va_list args;                                                       \
    va_start(args, last_named);                                         \
    for (size_t i = 1; i <= argc; ++i) argv_name[i] = va_arg(args, const char*); \
    envp_out;                                                           \
    va_end(args);                                                       \
  }

}  // namespace

extern "C" {

__attribute__((visibility("default"), noreturn)) void _exit(int code) {
  recordEnding(format::EndingKind::FastExit, code, nullptr);
  exitGroup(code);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int code) {
  recordEnding(format::EndingKind::FastExit, code, nullptr);
  exitGroup(code);
}

__attribute__((visibility("default"))) pid_t waitpid(pid_t pid, int* status, int options) {
  return waitAndRecord(pid, status, options, nullptr);
}

__attribute__((visibility("default"))) pid_t wait(int* status) { return waitAndRecord(-1, status, 0, nullptr); }

__attribute__((visibility("default"))) pid_t wait3(int* status, int options, struct rusage* usage) {
  return waitAndRecord(-1, status, options, usage);
}

__attribute__((visibility("default"))) pid_t wait4(pid_t pid, int* status, int options, struct rusage* usage) {
  return waitAndRecord(pid, status, options, usage);
}

__attribute__((visibility("default"))) int waitid(idtype_t idtype, id_t id, siginfo_t* info, int options) {
  if (!real.waitid && !(resolveRealFunctions() && real.waitid)) return noFunction();
  int rc = real.waitid(idtype, id, info, options);
  if (rc == 0 && info && info->si_pid > 0 && !(options & WNOWAIT)) {
    int code = info->si_code;
    if (code == CLD_EXITED) recordChildEnd(info->si_pid, W_EXITCODE(info->si_status, 0));
    else if (code == CLD_KILLED || code == CLD_DUMPED) recordChildEnd(info->si_pid, info->si_status & 0x7f);
  }
  return rc;
}

__attribute__((visibility("default"))) int execve(const char* path, char* const argv[], char* const envp[]) {
  recordEnding(format::EndingKind::Exec, 0, path);
  long rc = sys::raw(SYS_execve, reinterpret_cast<long>(path), reinterpret_cast<long>(argv), reinterpret_cast<long>(envp));
  errno = static_cast<int>(-rc);
  return -1;
}

__attribute__((visibility("default"))) int execveat(int dirfd, const char* path, char* const argv[], char* const envp[],
                                                     int flags) {
  recordEnding(format::EndingKind::Exec, 0, path);
  long rc = sys::raw(SYS_execveat, dirfd, reinterpret_cast<long>(path), reinterpret_cast<long>(argv),
                     reinterpret_cast<long>(envp), flags);
  errno = static_cast<int>(-rc);
  return -1;
}

__attribute__((visibility("default"))) int fexecve(int fd, char* const argv[], char* const envp[]) {
  recordEnding(format::EndingKind::Exec, 0, nullptr);
  long rc = sys::raw(SYS_execveat, fd, reinterpret_cast<long>(""), reinterpret_cast<long>(argv),
                     reinterpret_cast<long>(envp), 0x1000 /* AT_EMPTY_PATH */);
  errno = static_cast<int>(-rc);
  return -1;
}

__attribute__((visibility("default"))) int execv(const char* path, char* const argv[]) {
  return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execvpe(const char* file, char* const argv[], char* const envp[]) {
  // PATH search stays libc's own (resolved at start with the allocator's functions).
  if (!ensureRealExec()) return noFunction();
  recordEnding(format::EndingKind::Exec, 0, file);
  return real.execvpe(file, argv, envp);
}

__attribute__((visibility("default"))) int execvp(const char* file, char* const argv[]) {
  return execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int execl(const char* path, const char* arg, ...) {
  TM_COLLECT_ARGS(arg, arg, argv, (void)0)
  return execve(path, const_cast<char* const*>(argv), environ);
}

__attribute__((visibility("default"))) int execlp(const char* file, const char* arg, ...) {
  TM_COLLECT_ARGS(arg, arg, argv, (void)0)
  return execvpe(file, const_cast<char* const*>(argv), environ);
}

__attribute__((visibility("default"))) int execle(const char* path, const char* arg, ...) {
  char* const* envp = nullptr;
  TM_COLLECT_ARGS(arg, arg, argv, envp = va_arg(args, char* const*))
  return execve(path, const_cast<char* const*>(argv), envp);
}

}  // extern "C"
