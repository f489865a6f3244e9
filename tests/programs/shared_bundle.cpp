// A sweep in miniature, the ground truth of a run's tree: the parent maps a data file of BUNDLE MiB
// (MAP_SHARED, as the engine maps its bundle) and forks WORKERS workers. Each reads every page of
// the file and fills PRIVATE MiB of heap of its own; once all of them hold everything, each reads
// its own /proc/self/smaps_rollup and prints "worker K pid P pss BYTES", holds on for 600 ms (so that
// the tracker's sampler reads PSS too), and ends its own way: worker 0 with _exit(0), worker 1 with
// exit(3), worker 2 killed by SIGKILL, the others by returning from main. The parent prints how each
// ended, as waitpid told it.
//
// With "grow": the last worker, once all hold everything, keeps allocating 8 MiB more every 5 ms
// (up to 1 GiB, then exit(4)), for a run under a memory limit to end by the OOM killer.
//
// usage: shared_bundle FILE WORKERS BUNDLE_MIB PRIVATE_MIB [grow]
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

namespace {

constexpr size_t kMiB = 1 << 20;

unsigned long long rollupBytes(const char* field) {
  FILE* f = fopen("/proc/self/smaps_rollup", "r");
  if (!f) return 0;
  char line[256];
  unsigned long long kb = 0;
  size_t len = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, len) == 0 && line[len] == ':') kb = strtoull(line + len + 1, nullptr, 10);
  fclose(f);
  return kb * 1024;
}

void sleepMs(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

[[noreturn]] void grow() {
  constexpr size_t kStep = 8 * kMiB;
  for (size_t held = 0; held < 1024 * kMiB; held += kStep) {
    char* more = static_cast<char*>(malloc(kStep));
    memset(more, 7, kStep);
    sleepMs(5);
  }
  exit(4);
}

int worker(int k, const volatile char* bundle, size_t bundle_bytes, size_t private_bytes, int ready_fd, int go_fd,
           bool grows) {
  unsigned long sum = 0;
  for (size_t at = 0; at < bundle_bytes; at += 4096) sum += static_cast<unsigned char>(bundle[at]);
  char* mine = static_cast<char*>(malloc(private_bytes));
  memset(mine, k + 1, private_bytes);
  char byte = 1;
  if (write(ready_fd, &byte, 1) != 1 || read(go_fd, &byte, 1) != 1) return 9;
  printf("worker %d pid %d pss %llu sum %lu\n", k, getpid(), rollupBytes("Pss"), sum);
  fflush(stdout);
  if (grows) grow();
  sleepMs(600);
  if (k == 0) _exit(0);
  if (k == 1) exit(3);
  if (k == 2) raise(SIGKILL);
  free(mine);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 6 && strcmp(argv[5], "grow") == 0)) {
    fprintf(stderr, "usage: shared_bundle FILE WORKERS BUNDLE_MIB PRIVATE_MIB [grow]\n");
    return 2;
  }
  const bool last_grows = argc == 6;
  const int workers = atoi(argv[2]);
  const size_t bundle_bytes = static_cast<size_t>(atoi(argv[3])) * kMiB;
  const size_t private_bytes = static_cast<size_t>(atoi(argv[4])) * kMiB;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(bundle_bytes)) != 0) return 2;
  std::vector<char> page(4096, 'b');
  for (size_t at = 0; at < bundle_bytes; at += page.size())
    if (pwrite(fd, page.data(), page.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(page.size())) return 2;
  auto* bundle = static_cast<const volatile char*>(mmap(nullptr, bundle_bytes, PROT_READ, MAP_SHARED, fd, 0));
  if (bundle == MAP_FAILED) return 2;
  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return 2;
  fflush(stdout);
  std::vector<pid_t> pids;
  for (int k = 0; k < workers; ++k) {
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) return worker(k, bundle, bundle_bytes, private_bytes, ready[1], go[0], last_grows && k == workers - 1);
    pids.push_back(pid);
  }
  char byte;
  for (int k = 0; k < workers; ++k)
    if (read(ready[0], &byte, 1) != 1) return 2;
  std::vector<char> go_bytes(static_cast<size_t>(workers), 1);
  if (write(go[1], go_bytes.data(), go_bytes.size()) != workers) return 2;
  for (int k = 0; k < workers; ++k) {
    int status = 0;
    waitpid(pids[static_cast<size_t>(k)], &status, 0);
    if (WIFSIGNALED(status))
      printf("worker %d signal %d\n", k, WTERMSIG(status));
    else
      printf("worker %d exit %d\n", k, WEXITSTATUS(status));
  }
  return 0;
}
