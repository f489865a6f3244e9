// A program's own signal masks and timer signals, for the tracker to leave alone: it answers
// libunwind's sigprocmask calls itself while it holds the thread's signals for an unwind
// (preload/tracker.h, SignalsHeld). Prints what its sigprocmask calls gave, whether a blocked
// signal stayed pending and came when unblocked, and whether a fast timer's signals reached their
// handler while new stacks (200 distinct functions, each learned once) were being recorded.
#include <sys/time.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace {

volatile sig_atomic_t g_alarms = 0;
volatile sig_atomic_t g_user1 = 0;
void onAlarm(int) { g_alarms = g_alarms + 1; }
void onUser1(int) { g_user1 = 1; }

template <int N>
__attribute__((noinline)) void* chain(size_t n) {
  if constexpr (N == 0) {
    return malloc(n);
  } else {
    void* p = chain<N - 1>(n + 1);
    asm volatile("" ::: "memory");
    return p;
  }
}

template <int... N>
void allocateThroughEach(std::integer_sequence<int, N...>) {
  (free(chain<N>(16)), ...);
}

std::string signalsIn(const sigset_t& set) {
  std::string text;
  for (int s = 1; s < 65; ++s)
    if (sigismember(&set, s) == 1) text += " " + std::to_string(s);
  return text.empty() ? " none" : text;
}

}  // namespace

int main() {
  sigset_t user1, old, now;
  sigemptyset(&user1);
  sigaddset(&user1, SIGUSR1);
  struct sigaction on_user1 {};
  on_user1.sa_handler = onUser1;
  sigaction(SIGUSR1, &on_user1, nullptr);
  int rc = sigprocmask(SIG_BLOCK, &user1, &old);
  std::printf("block SIGUSR1: %d, blocked before:%s\n", rc, signalsIn(old).c_str());
  raise(SIGUSR1);
  sigpending(&now);
  std::printf("SIGUSR1 pending: %d, handled: %d\n", sigismember(&now, SIGUSR1), static_cast<int>(g_user1));
  errno = 0;
  rc = sigprocmask(12345, &user1, nullptr);
  std::printf("sigprocmask with a bad how: %d (%s)\n", rc, std::strerror(errno));

  struct sigaction on_alarm {};
  on_alarm.sa_handler = onAlarm;
  on_alarm.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &on_alarm, nullptr);
  itimerval every{{0, 200}, {0, 200}};
  setitimer(ITIMER_REAL, &every, nullptr);
  for (int round = 0; round < 20; ++round) allocateThroughEach(std::make_integer_sequence<int, 200>{});
  for (long i = 0; i < 100'000'000 && g_alarms == 0; ++i) free(chain<3>(32));
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  std::printf("timer signals handled: %s\n", g_alarms > 0 ? "yes" : "no");

  rc = sigprocmask(SIG_SETMASK, nullptr, &now);
  std::printf("query: %d, blocked:%s\n", rc, signalsIn(now).c_str());
  rc = sigprocmask(SIG_UNBLOCK, &user1, &old);
  std::printf("unblock SIGUSR1: %d, blocked before:%s, handled: %d\n", rc, signalsIn(old).c_str(), static_cast<int>(g_user1));
  return 0;
}
