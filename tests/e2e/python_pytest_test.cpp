// The pytest plugin (python/tidemark/pytest_plugin.py): tests written to keep and to break each rule
// (tests/programs/python/test_memory_rules.py) pass and fail as they should, a failure names the rule,
// what was measured and the line that held the memory, and a baseline catches a test that grew.
// Debian's python3 is the interpreter with pytest (python3-pytest).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "harness.h"

using namespace tmtest;

namespace {

bool havePytest() {
  return access("/usr/bin/python3", X_OK) == 0 && run({"/usr/bin/python3", "-c", "import pytest"}).code == 0;
}

// Runs pytest with the plugin on `tests` (files or node ids) in `dir`; returns its output.
Result pytest(const std::string& dir, const std::vector<std::string>& tests, const std::vector<std::string>& options = {}) {
  std::vector<std::string> argv{"/usr/bin/python3", "-m", "pytest", "-p", "tidemark.pytest_plugin", "-q", "-rA",
                                "-p", "no:cacheprovider", "--rootdir", dir};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), tests.begin(), tests.end());
  Result r = run(argv, {"PYTHONPATH=" + pythonModule(), "TIDEMARK_EXECUTABLE=" + tidemark(), "PWD=" + dir});
  return r;
}

// "PASSED" or "FAILED" for each test of the -rA short summary.
std::map<std::string, std::string> outcomes(const std::string& out) {
  std::map<std::string, std::string> m;
  std::regex line(R"((PASSED|FAILED) \S*::(\w+))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it)
    m[(*it)[2]] = (*it)[1];
  return m;
}

}  // namespace

TEST(PytestPlugin, EachRuleFailsTheTestThatBreaksItAndOnlyThat) {
  if (!havePytest()) GTEST_SKIP() << "no pytest for /usr/bin/python3";
  std::string dir = tempDir();
  std::filesystem::copy_file(programSource("python/test_memory_rules.py"), dir + "/test_memory_rules.py");
  Result r = pytest(dir, {dir + "/test_memory_rules.py"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;  // pytest: some tests failed
  auto o = outcomes(r.out);
  EXPECT_EQ(o["test_keeps_under_its_memory_limit"], "PASSED") << r.out;
  EXPECT_EQ(o["test_breaks_its_memory_limit"], "FAILED") << r.out;
  EXPECT_EQ(o["test_leaves_nothing_behind"], "PASSED") << r.out;
  EXPECT_EQ(o["test_leaves_memory_behind"], "FAILED") << r.out;
  EXPECT_EQ(o["test_a_bounded_cache"], "PASSED") << r.out;
  EXPECT_EQ(o["test_an_unbounded_cache"], "FAILED") << r.out;
  EXPECT_EQ(o["test_without_rules_runs_in_pytest_itself"], "PASSED") << r.out;
  // Each failure says which rule, what was measured, and where the memory came from. 12 bytearrays
  // of 1 MiB: their buffers and objects, and the list's item array.
  EXPECT_NE(r.out.find("peak heap in phase pytest (above its start) 12.0 MiB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("> 8.00 MiB (--max-peak)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test_memory_rules.py:20)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("left live by phase pytest 1.91 MiB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("grows without bound: test_an_unbounded_cache (" + dir + "/test_memory_rules.py:51)"), std::string::npos)
      << r.out;
}

TEST(PytestPlugin, ABaselineCatchesATestThatGrew) {
  if (!havePytest()) GTEST_SKIP() << "no pytest for /usr/bin/python3";
  std::string dir = tempDir();
  auto write = [&](int megabytes) {
    std::ofstream(dir + "/test_grows.py") << "def test_batch():\n    batch = [bytearray(1024 * 1024) for _ in range("
                                          << megabytes << ")]\n    assert batch\n";
  };
  std::vector<std::string> options{"--tidemark-baseline", dir + "/baseline", "--tidemark-tolerance", "20"};
  write(4);
  Result first = pytest(dir, {dir + "/test_grows.py"}, options);
  EXPECT_EQ(first.code, 0) << first.out;  // no baseline yet: it is written
  EXPECT_FALSE(std::filesystem::is_empty(dir + "/baseline"));
  Result same = pytest(dir, {dir + "/test_grows.py"}, options);
  EXPECT_EQ(same.code, 0) << same.out;
  write(8);  // twice the memory: more than 20% over the baseline
  Result grew = pytest(dir, {dir + "/test_grows.py"}, options);
  EXPECT_EQ(grew.code, 1) << grew.out;
  EXPECT_NE(grew.out.find("against the baseline's 4.00 MiB"), std::string::npos) << grew.out;
}
