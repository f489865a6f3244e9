#include "harness.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

extern char** environ;

namespace tmtest {

Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    fmt::print(stderr, "exec {}: {}\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  Result r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.signaled = WIFSIGNALED(status);
  r.code = r.signaled ? WTERMSIG(status) : WEXITSTATUS(status);
  return r;
}

std::string tidemark() { return std::string(TM_BIN_DIR) + "/tidemark"; }
std::string preload() { return std::string(TM_BIN_DIR) + "/libtidemark_preload.so"; }
std::string program(const std::string& name) { return std::string(TM_PROGRAMS_DIR) + "/" + name; }

std::string programSource(const std::string& name) { return std::string(TM_PROGRAM_SOURCES) + "/" + name; }

std::string pythonModule() { return TM_PYTHON_MODULE; }

std::vector<std::string> pythonInterpreters() {
  std::vector<std::string> found;
  if (access("/usr/bin/python3", X_OK) == 0) found.push_back("/usr/bin/python3");
  Result root = run({"pyenv", "root"});
  std::string pyenv = root.code == 0 ? root.out.substr(0, root.out.find('\n')) : "";
  if (pyenv.empty() && getenv("HOME")) pyenv = std::string(getenv("HOME")) + "/.pyenv";
  for (const char* version : {"3.12.1", "3.13.0"}) {
    std::string python = pyenv + "/versions/" + version + "/bin/python3";
    if (access(python.c_str(), X_OK) == 0) found.push_back(python);
  }
  return found;
}

namespace {

// A test's directory lives until the test ends: removed when it passed (traces of a whole suite
// add up to gigabytes), kept and named when it failed, to look into.
class TempDirCleaner : public ::testing::EmptyTestEventListener {
 public:
  void add(const std::filesystem::path& dir) { dirs_.push_back(dir); }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    for (const auto& dir : dirs_) {
      std::error_code ec;
      if (info.result()->Passed() && !getenv("TIDEMARK_KEEP_TEST_FILES")) {
        std::filesystem::remove_all(dir, ec);
      } else {
        fmt::print(stderr, "test files kept in {}\n", dir.string());
      }
    }
    dirs_.clear();
  }

 private:
  std::vector<std::filesystem::path> dirs_;
};

TempDirCleaner& tempDirCleaner() {
  static TempDirCleaner* cleaner = [] {
    auto* c = new TempDirCleaner;  // owned by gtest's listener list from here on
    ::testing::UnitTest::GetInstance()->listeners().Append(c);
    return c;
  }();
  return *cleaner;
}

}  // namespace

std::string tempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = fmt::format("tidemark-test-{}-{}-{}", getpid(), info->test_suite_name(), info->name());
  std::replace(name.begin(), name.end(), '/', '-');  // parameterized tests: "Modes/Summary", ".../0"
  std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  tempDirCleaner().add(dir);
  return dir.string();
}

nlohmann::json summary(const std::string& trace, const std::string& process) {
  std::vector<std::string> argv = {tidemark(), "summary", "--json", "--top", "1000", trace};
  if (!process.empty()) argv.insert(argv.end(), {"--process", process});
  Result r = run(argv);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(r.signaled);
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "summary --json did not print JSON: " << e.what() << "\n" << r.out << r.err;
    return nlohmann::json::object();
  }
}

const nlohmann::json* group(const nlohmann::json& groups, const std::string& function) {
  for (const auto& g : groups) {
    if (!g["frames"].empty() && g["frames"][0]["function"] == function) return &g;
  }
  return nullptr;
}

uint64_t total(const nlohmann::json& groups, const std::string& function, const std::string& field) {
  uint64_t sum = 0;
  for (const auto& g : groups) {
    if (!g["frames"].empty() && g["frames"][0]["function"] == function) sum += g[field].get<uint64_t>();
  }
  return sum;
}

std::vector<std::string> tracesIn(const std::string& run_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(run_dir, ec))
    if (e.path().extension() == ".tmtrace") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string onlyTrace(const std::string& run_dir) {
  std::vector<std::string> traces = tracesIn(run_dir);
  EXPECT_EQ(traces.size(), 1u) << run_dir;
  return traces.empty() ? run_dir + "/missing.tmtrace" : traces[0];
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> verdicts(const nlohmann::json& summary) {
  std::map<std::string, std::string> out;
  const auto& f = summary["findings"];
  if (f["process"].is_object()) {
    out["heap"] = f["process"]["heap_verdict"];
    out["rss"] = f["process"]["rss_verdict"];
  }
  for (const auto& site : f["sites"]) out[site["site"]] = site["verdict"];
  return out;
}

nlohmann::json reportLineData(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"line-data\">";
  size_t begin = html.find(open);
  if (begin == std::string::npos) return nullptr;
  begin += open.size();
  size_t end = html.find("</script>", begin);
  if (end == std::string::npos) return nullptr;
  return nlohmann::json::parse(html.substr(begin, end - begin), nullptr, false);
}

std::vector<nlohmann::json> reportFlameData(const std::string& html, const std::string& id) {
  std::vector<nlohmann::json> out;
  size_t at = html.find("id=\"" + id + "\">");
  if (at == std::string::npos) return out;
  size_t end = html.find("</div>", at);
  for (at = html.find("class=\"flame-data\"", at); at < end; at = html.find("class=\"flame-data\"", at)) {
    size_t begin = html.find('>', at) + 1, close = html.find("</script>", begin);
    out.push_back(nlohmann::json::parse(html.substr(begin, close - begin), nullptr, false));
    at = close;
  }
  return out;
}

int lineOf(const std::string& file, const std::string& mark) {
  std::ifstream in(file);
  std::string text;
  for (int n = 1; std::getline(in, text); ++n)
    if (text.size() >= mark.size() + 2 && text.compare(text.size() - mark.size() - 2, std::string::npos, "# " + mark) == 0)
      return n;
  ADD_FAILURE() << "no line marked " << mark << " in " << file;
  return 0;
}

}  // namespace tmtest
