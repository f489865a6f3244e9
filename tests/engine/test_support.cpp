#include "test_support.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "data/bundle_writer.h"

namespace tmengine {

using namespace tidemark::engine;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/tidemark-engine-test.XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void writeTestBundle(const std::string& path, const std::vector<Date>& sessions, uint32_t assets, bool minute,
                     const std::function<TestBar(uint32_t, uint64_t)>& bar) {
  BundleWriter w(path, sessions, assets, minute, 0);
  uint64_t bars = minute ? uint64_t{sessions.size()} * kMinutesPerSession : sessions.size();
  auto ticks = [](double dollars) { return static_cast<uint32_t>(std::llround(dollars * 10000)); };
  for (uint32_t a = 0; a < assets; ++a) {
    AssetId id = assetId(a);
    w.setAsset(id, "T" + std::to_string(a), 0, static_cast<uint32_t>(sessions.size() - 1));
    auto col = [&](Field f) { return minute ? w.minute(f, id) : w.daily(f, id); };
    auto o = col(Field::Open), h = col(Field::High), l = col(Field::Low), c = col(Field::Close);
    auto v = col(Field::Volume);
    for (uint64_t i = 0; i < bars; ++i) {
      TestBar b = bar(a, i);
      if (b.close == 0) continue;
      o[i] = ticks(b.open);
      h[i] = ticks(b.high);
      l[i] = ticks(b.low);
      c[i] = ticks(b.close);
      v[i] = b.volume;
    }
    if (minute) w.deriveDailyBars(id);
  }
  w.commit();
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

ProcessResult runProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int out[2], err[2];
  if (pipe(out) || pipe(err)) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  ProcessResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open = 2;
  while (open > 0) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int lineCount(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace tmengine
