// Runs programs for the end-to-end tests and reads their traces through `tidemark summary --json`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tmtest {

struct Result {
  bool signaled = false;
  int code = 0;  // exit code, or signal number
  std::string out, err;
};

// Runs argv with extra environment variables ("NAME=value") and the given standard input.
Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}, const std::string& input = "");

std::string tidemark();                        // path of the tidemark executable
std::string preload();                         // path of libtidemark_preload.so
std::string program(const std::string& name);  // path of a test program
std::string programSource(const std::string& name);  // path of a test program's source (tests/programs/NAME)
std::string pythonModule();                    // the directory holding the tidemark Python module
// The CPythons every test of Python programs runs on, those of them that are here: Debian's
// python3 (3.11, libpython linked statically) and pyenv's 3.12.1 and 3.13.0 (libpython shared).
std::vector<std::string> pythonInterpreters();
std::string tempDir();                         // fresh directory for this test
std::string readFile(const std::string& path); // the whole file; empty when it cannot be read
// The traces of a run directory (tidemark run -o DIR: one per process image), by name.
std::vector<std::string> tracesIn(const std::string& run_dir);
// The one trace of a run of a single process; fails the test when there is not exactly one.
std::string onlyTrace(const std::string& run_dir);
// The line of `file` (a test program's source) that carries the comment `# MARK`; fails the test when none.
int lineOf(const std::string& file, const std::string& mark);

// `tidemark summary --json --top 1000 TRACE [--process PROCESS]`, parsed; fails the test on a
// non-zero exit. TRACE may be a run directory.
nlohmann::json summary(const std::string& trace, const std::string& process = "");
// The line views an HTML report carries (its script element "line-data"): {"files": [...]}, as
// `tidemark lines --json` prints them; null when the report has none.
nlohmann::json reportLineData(const std::string& html);
// The data of the flamegraphs inside the element with this id (a report's "flame-peak", ...), one
// per thread set, in order; empty when there is none.
std::vector<nlohmann::json> reportFlameData(const std::string& html, const std::string& id);

// The group (site) whose first frame is `function`, or null.
const nlohmann::json* group(const nlohmann::json& groups, const std::string& function);

// Sum of `field` over every group whose first frame is `function` (one function may be reached
// from several call sites, each its own group).
uint64_t total(const nlohmann::json& groups, const std::string& function, const std::string& field);

// Every growth verdict of a summary: the process's heap and RSS ("heap", "rss") and each site's.
std::map<std::string, std::string> verdicts(const nlohmann::json& summary);

}  // namespace tmtest
