#include "run/workers.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "error.h"
#include "run/results.h"

namespace tidemark::engine {

namespace {

bool writeAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// In the child: runs configs w, w + n, w + 2n, ... and writes one JSON line per run. Never returns.
[[noreturn]] void workerMain(const Bundle& bundle, const std::vector<SimulationConfig>& configs, size_t w, size_t n,
                             int fd) {
  int code = 0;
  for (size_t i = w; i < configs.size(); i += n) {
    nlohmann::json line;
    try {
      line = {{"index", i}, {"result", runResultJson(runSimulation(bundle, configs[i]))}};
    } catch (const std::exception& e) {
      line = {{"index", i}, {"error", e.what()}};
      code = 2;
    }
    if (!writeAll(fd, line.dump() + "\n")) code = 3;
    if (code) break;
  }
  ::close(fd);
  std::fflush(stderr);
  _exit(code);  // not exit(): the parent's objects and atexit handlers are the parent's business
}

}  // namespace

std::vector<RunResult> runAll(const Bundle& bundle, const std::vector<SimulationConfig>& configs, unsigned workers) {
  std::vector<RunResult> results(configs.size());
  if (workers <= 1 || configs.size() <= 1) {
    for (size_t i = 0; i < configs.size(); ++i) results[i] = runSimulation(bundle, configs[i]);
    return results;
  }

  const size_t n = std::min<size_t>(workers, configs.size());
  struct Worker {
    pid_t pid;
    int fd;
    std::string output;
  };
  std::vector<Worker> pool;
  std::fflush(nullptr);  // nothing buffered may be written twice
  for (size_t w = 0; w < n; ++w) {
    int fds[2];
    if (pipe(fds) != 0) throw EngineError(fmt::format("cannot start a worker: {}", std::strerror(errno)));
    pid_t pid = fork();
    if (pid < 0) throw EngineError(fmt::format("cannot start a worker: {}", std::strerror(errno)));
    if (pid == 0) {
      ::close(fds[0]);
      for (const Worker& other : pool) ::close(other.fd);
      workerMain(bundle, configs, w, n, fds[1]);
    }
    ::close(fds[1]);
    pool.push_back({pid, fds[0], {}});
  }

  // Read every pipe as it fills (a worker blocked on a full pipe would never finish).
  size_t open = pool.size();
  std::vector<pollfd> polls;
  while (open > 0) {
    polls.clear();
    for (const Worker& w : pool)
      if (w.fd >= 0) polls.push_back({w.fd, POLLIN, 0});
    if (poll(polls.data(), polls.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw EngineError(fmt::format("waiting for workers: {}", std::strerror(errno)));
    }
    for (const pollfd& p : polls) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = *std::find_if(pool.begin(), pool.end(), [&](const Worker& x) { return x.fd == p.fd; });
      char buf[65536];
      ssize_t got = ::read(w.fd, buf, sizeof buf);
      if (got > 0) {
        w.output.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(w.fd);
        w.fd = -1;
        --open;
      }
    }
  }

  std::string failure;
  std::vector<bool> have(configs.size(), false);
  for (size_t w = 0; w < pool.size(); ++w) {
    int status = 0;
    while (waitpid(pool[w].pid, &status, 0) < 0 && errno == EINTR) {
    }
    size_t start = 0;
    for (size_t end; (end = pool[w].output.find('\n', start)) != std::string::npos; start = end + 1) {
      auto line = nlohmann::json::parse(pool[w].output.substr(start, end - start), nullptr, false);
      if (line.is_discarded() || !line.contains("index") || line["index"].get<size_t>() >= configs.size()) continue;
      size_t i = line["index"];
      if (line.contains("error")) {
        if (failure.empty())
          failure = fmt::format("worker {} ({}): {}", w, configs[i].label, line["error"].get<std::string>());
        continue;
      }
      results[i] = runResultFromJson(line["result"]);
      have[i] = true;
    }
    if (failure.empty() && WIFSIGNALED(status))
      failure = fmt::format("worker {} was killed by signal {} ({})", w, WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  if (!failure.empty()) throw EngineError(failure);
  for (size_t i = 0; i < configs.size(); ++i)
    if (!have[i]) throw EngineError(fmt::format("worker for run {} ({}) ended without a result", i, configs[i].label));
  return results;
}

}  // namespace tidemark::engine
