// Python programs under the tracker: Python frames merged with the native ones, and every object
// pymalloc serves counted with its size, on every CPython here (python_frames.h, docs/python.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "harness.h"

using namespace tmtest;

namespace {

// `tidemark lines` for one line: bytes allocated from it, and live at the peak.
struct LineBytes {
  uint64_t allocated = 0, peak = 0;
};
std::map<int, LineBytes> linesBytes(const std::string& trace, const std::string& file, int first, int last) {
  std::string where = file + ":" + std::to_string(first) + "-" + std::to_string(last);
  Result r = run({tidemark(), "lines", trace, where, "--json"});
  if (r.code != 0) {  // a process that never ran that file (a pool's resource tracker) says so
    EXPECT_NE(r.err.find("no allocation was made from"), std::string::npos) << r.err;
    return {};
  }
  auto j = nlohmann::json::parse(r.out);
  std::map<int, LineBytes> out;
  for (const auto& f : j["files"])
    for (const auto& l : f["lines"]) out[l["line"].get<int>()] = {l["allocated_bytes"].get<uint64_t>(), l["peak_bytes"].get<uint64_t>()};
  return out;
}
LineBytes lineBytes(const std::string& trace, const std::string& file, int line) {
  return linesBytes(trace, file, line, line)[line];
}

// A bytearray of n bytes: its object (56 bytes on 3.11 to 3.13) and its buffer (n + 1).
constexpr uint64_t bytearrayBytes(uint64_t n) { return 56 + n + 1; }

}  // namespace

TEST(PythonFrames, TheLineThatAllocatedHoldsItsExactBytesAtThePeak) {
  const std::string source = programSource("python/known_lines.py");
  const int buffers_line = lineOf(source, "BUFFERS"), floats_line = lineOf(source, "FLOATS");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string trace = tempDir() + "/lines.tmtrace";
    Result r = run({tidemark(), "run", "-o", trace, "--", python, source});
    ASSERT_EQ(r.code, 0) << r.err;
    auto held = nlohmann::json::parse(r.out);  // what the program counted, per line
    auto s = summary(trace);
    ASSERT_TRUE(s["python"].is_object());
    EXPECT_EQ(s["python"]["python_frames"], true) << s["python"];
    EXPECT_EQ(s["python"]["allocator_tracked"], true) << s["python"];
    // The interpreter's finalization allocates; from then on its frames are not read, and it says so.
    std::smatch until;
    const std::string said = s["python"]["summary"];
    ASSERT_TRUE(std::regex_search(said, until, std::regex("until ([0-9.]+) s, when it began to finalize"))) << said;
    EXPECT_GT(std::stod(until[1]), 0.0);
    // The largest stack at the peak is named by its Python line, with no native eval-loop frame.
    const auto& top = s["top_at_peak"][0];
    EXPECT_EQ(top["site"], "hold_buffers (" + source + ":" + std::to_string(buffers_line) + ")") << top.dump(1);
    for (const auto& frame : top["frames"]) EXPECT_EQ(frame["function"].get<std::string>().find("_PyEval"), std::string::npos);
    // Exact to the byte: 40 bytearrays (their objects and buffers) and the list's item array.
    auto lines = linesBytes(trace, source, buffers_line, floats_line);
    EXPECT_EQ(lines[buffers_line].peak, held["buffers"].get<uint64_t>());
    // The HTML report's view of hold_buffers, shown when its frame is clicked: the same bytes.
    ASSERT_EQ(run({tidemark(), "report", trace, "-o", trace + ".html"}).code, 0);
    uint64_t in_report = 0;
    const nlohmann::json views = reportLineData(readFile(trace + ".html"));
    for (const auto& view : views["files"])
      if (view["function"] == "hold_buffers" && view["file"] == source)
        for (const auto& line : view["lines"])
          if (line["line"] == buffers_line) in_report = line["peak_bytes"];
    EXPECT_EQ(in_report, held["buffers"].get<uint64_t>());
    // A few floats come from the interpreter's free list, made earlier at other lines.
    uint64_t floats = lines[floats_line].peak;
    EXPECT_LE(floats, held["floats"].get<uint64_t>());
    EXPECT_GE(floats, held["floats"].get<uint64_t>() - 100 * 24);
  }
}

// A Python allocation's native stack ends at the innermost call of the eval loop: its Python frames
// stand for everything above it, C code between two Python calls (sorted calling the key function)
// and the interpreter's frames up to main included. TIDEMARK_NATIVE_ABOVE_PYTHON=1 keeps all of it.
// The bytes at the line are the same either way, and exact.
TEST(PythonFrames, ANativeStackEndsWhereItsPythonFramesBegin) {
  const std::string source = programSource("python/callback_lines.py");
  const int line = lineOf(source, "CALLBACK");
  for (const std::string& python : pythonInterpreters()) {
    for (const char* whole : {"0", "1"}) {
      SCOPED_TRACE(python + ", TIDEMARK_NATIVE_ABOVE_PYTHON=" + whole);
      std::string trace = tempDir() + "/callback.tmtrace";
      Result r = run({"env", std::string("TIDEMARK_NATIVE_ABOVE_PYTHON=") + whole, tidemark(), "run", "-o", trace, "--",
                      python, source});
      ASSERT_EQ(r.code, 0) << r.err;
      auto held = nlohmann::json::parse(r.out);
      Result full = run({tidemark(), "summary", "--json", "--full", trace});
      ASSERT_EQ(full.code, 0) << full.err;
      const auto top = nlohmann::json::parse(full.out)["top_at_peak"][0];
      EXPECT_EQ(top["site"], "key (" + source + ":" + std::to_string(line) + ")") << top.dump(1);
      std::vector<std::string> from_key;  // the frames from the key function outward
      for (const auto& frame : top["frames"])
        if (!from_key.empty() || frame["function"] == "key") from_key.push_back(frame["function"]);
      if (whole[0] == '0') {
        EXPECT_EQ(from_key, (std::vector<std::string>{"key", "<module>"})) << top.dump(1);
      } else {
        ASSERT_GE(from_key.size(), 4u) << top.dump(1);
        EXPECT_NE(from_key[1], "<module>") << top.dump(1);  // sorted's C code between the two
        EXPECT_NE(std::find(from_key.begin(), from_key.end(), "Py_RunMain"), from_key.end()) << top.dump(1);
      }
      EXPECT_EQ(lineBytes(trace, source, line).peak, held["callback"].get<uint64_t>());
    }
  }
}

// Aggregate mode keeps the counts full mode keeps, on every interpreter. PyMem_Realloc(NULL, n) (a
// list's first item array) is an allocation: it counted as the release of an unknown block, 638 of
// them in this program's summary ("frees of unknown blocks") and as many reallocs too many.
TEST(PythonFrames, AggregateModeCountsWhatFullModeCounts) {
  const std::string source = programSource("python/known_lines.py");
  const int buffers_line = lineOf(source, "BUFFERS");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::map<std::string, nlohmann::json> of;
    for (const std::string mode : {"full", "aggregate"}) {
      std::string trace = tempDir() + "/" + mode[0] + ".tmtrace";  // names of one length: the program's environment holds them
      Result r = run({tidemark(), "run", "--mode", mode, "-o", trace, "--", python, source});
      ASSERT_EQ(r.code, 0) << r.err;
      const uint64_t held = nlohmann::json::parse(r.out)["buffers"];
      EXPECT_EQ(lineBytes(trace, source, buffers_line).peak, held) << mode;
      of[mode] = summary(trace);
    }
    for (const char* count : {"allocations", "frees", "reallocs"}) EXPECT_EQ(of["aggregate"][count], of["full"][count]) << count;
    // The environment's copy (os.environ) holds TIDEMARK_MODE: "aggregate" is 5 bytes longer.
    EXPECT_EQ(of["aggregate"]["allocated_bytes"].get<uint64_t>(), of["full"]["allocated_bytes"].get<uint64_t>() + 5);
    EXPECT_EQ(of["aggregate"]["anomalies"], of["full"]["anomalies"]);
    EXPECT_LE(of["aggregate"]["anomalies"]["unknown_frees"].get<uint64_t>(), 10u);
  }
}

TEST(PythonFrames, AModuleRunWithDashMHasItsFrames) {
  const std::string source = programSource("python/known_lines.py");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string trace = tempDir() + "/module.tmtrace";
    Result r = run({tidemark(), "run", "-o", trace, "--", python, "-m", "known_lines", "10", "100000"},
                   {"PYTHONPATH=" + programSource("python")});
    ASSERT_EQ(r.code, 0) << r.err;
    auto held = nlohmann::json::parse(r.out);
    EXPECT_EQ(lineBytes(trace, source, lineOf(source, "BUFFERS")).peak, held["buffers"].get<uint64_t>());
  }
}

// Frames show a file under the directory tidemark runs in relative to it; `lines` finds that file
// by the path a user's shell completes (absolute) as well as by the path the frames show.
TEST(PythonFrames, LinesFindsAFileByItsAbsolutePathWhereFramesShowItRelative) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string dir = tempDir();
  std::filesystem::create_directory(dir + "/src");
  const std::string source = dir + "/src/known_lines.py";
  std::filesystem::copy_file(programSource("python/known_lines.py"), source);
  const std::string trace = dir + "/lines.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", "/usr/bin/python3", source});
  ASSERT_EQ(r.code, 0) << r.err;
  const uint64_t held = nlohmann::json::parse(r.out)["buffers"];
  const std::string line = std::to_string(lineOf(source, "BUFFERS"));
  // `tidemark lines` run in `dir`: the frames say src/known_lines.py.
  auto linesIn = [&](const std::string& asked) {
    return run({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" lines \"$2\" \"$3\" --json", dir, tidemark(), trace, asked + ":" + line + "-" + line});
  };
  for (const std::string& asked : {source, std::string("src/known_lines.py"), std::string("known_lines.py")}) {
    Result lines = linesIn(asked);
    ASSERT_EQ(lines.code, 0) << asked << ": " << lines.err;
    auto j = nlohmann::json::parse(lines.out);
    ASSERT_EQ(j["files"].size(), 1u) << lines.out;
    EXPECT_EQ(j["files"][0]["file"], "src/known_lines.py");
    EXPECT_EQ(j["files"][0]["lines"][0]["peak_bytes"], held) << asked;
  }
  // The same name in another directory is another file.
  EXPECT_EQ(linesIn("/elsewhere/src/known_lines.py").code, 2);
}

TEST(PythonFrames, ProfilersInTheProgramChangeNothing) {
  // The frames are read from the interpreter, not collected by a profile function: a program that
  // runs its own profiler (or sets or clears one) cannot take them away.
  const std::string source = programSource("python/known_lines.py");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string dir = tempDir();
    Result r = run({tidemark(), "run", "-o", dir + "/profiled.tmtrace", "--", python, "-m", "cProfile", "-o",
                    dir + "/profile.out", source});
    ASSERT_EQ(r.code, 0) << r.err;
    auto held = nlohmann::json::parse(r.out);
    // cProfile's own entry for the calls made on that line is allocated there too.
    uint64_t peak = lineBytes(dir + "/profiled.tmtrace", source, lineOf(source, "BUFFERS")).peak;
    EXPECT_GE(peak, held["buffers"].get<uint64_t>());
    EXPECT_LT(peak, held["buffers"].get<uint64_t>() + 512);
  }
}

TEST(PythonFrames, EveryThreadHasItsPythonFrames) {
  const std::string source = programSource("python/workers.py");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string dir = tempDir();
    Result r = run({tidemark(), "run", "-o", dir + "/threads.tmtrace", "--", python, source, "threads"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "20\n");
    EXPECT_GE(lineBytes(dir + "/threads.tmtrace", source, lineOf(source, "THREAD")).peak, 20 * bytearrayBytes(50'000));
    // A thread that C started calls back into Python.
    r = run({tidemark(), "run", "-o", dir + "/c.tmtrace", "--", python, source, "c-thread",
             program("libtm-test-python_callback.so")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "20\n");
    EXPECT_GE(lineBytes(dir + "/c.tmtrace", source, lineOf(source, "FROM_C")).peak, 20 * bytearrayBytes(50'000));
  }
}

// Python's multiprocessing with fork, spawn and forkserver: every worker a process of the tree, none
// of them read as killed (a pool's workers end when it closes them), and every worker's trace has
// its Python frames: the line that made its task's bytearrays holds them, to the byte.
// One test per start method, each on every interpreter.
class PythonPool : public ::testing::TestWithParam<const char*> {};

TEST_P(PythonPool, IsOneTreeAndEveryWorkerHasItsPythonFrames) {
  const std::string source = programSource("python/workers.py");
  const int line = lineOf(source, "PROCESS");
  const std::string mode = GetParam();
  // Forked workers run on every interpreter; a spawned worker or the forkserver's starts an
  // interpreter of its own, as a program's does, which the other tests check on each: spawn on
  // the first (libpython linked in), forkserver on the last (libpython shared).
  std::vector<std::string> pythons = pythonInterpreters();
  if (mode == "spawn" && !pythons.empty()) pythons = {pythons.front()};
  if (mode == "forkserver" && !pythons.empty()) pythons = {pythons.back()};
  for (const std::string& python : pythons) {
    SCOPED_TRACE(python + " " + mode);
    std::string run_dir = tempDir() + "/" + mode;
    Result r = run({tidemark(), "run", "-o", run_dir, "--", python, source, mode});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "40\n");
    auto s = summary(run_dir);
    const auto& processes = s["run"]["processes"];
    ASSERT_GE(processes.size(), 3u) << processes.dump(1);  // the program and the pool's two workers
    size_t roots = 0, workers = 0;
    for (const auto& p : processes) {
      roots += p["parent"].is_null();
      if (p["parent"].is_null() || p["end"]["state"] == "exec") continue;
      ++workers;
      // Pool workers end by the pool's SIGTERM or by their own exit: never an unexplained death.
      EXPECT_NE(p["end"]["state"], "unknown") << p.dump();
    }
    EXPECT_EQ(roots, 1u) << processes.dump(1);
    EXPECT_GE(workers, 2u) << processes.dump(1);
    // Two tasks of 20 bytearrays, run by the pool's workers, each with a trace of its own. Only
    // Python frames name the line. A worker that ran a task held its 20 bytearrays at once: the
    // lines of the others (the program, the pool's resource tracker and forkserver) are not read.
    uint64_t allocated = 0;
    int with_tasks = 0;
    for (const auto& p : processes) {
      if (p["parent"].is_null() || p["peak_heap"].get<uint64_t>() < 20 * bytearrayBytes(50'000)) continue;
      uint64_t here = lineBytes(p["trace"], source, line).allocated;
      if (!here) continue;
      ++with_tasks;
      allocated += here;
    }
    EXPECT_GE(with_tasks, 1);
    EXPECT_GE(allocated, 2 * 20 * bytearrayBytes(50'000));
    EXPECT_LT(allocated, 2 * 20 * bytearrayBytes(50'000) + 4'096);
  }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PythonPool, ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return std::string(info.param); });

TEST(PythonFrames, NumpyAndPandasBuffersBelongToThePythonLine) {
  // Debian's python3 is the one with numpy and pandas.
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  if (run({"/usr/bin/python3", "-c", "import pandas"}).code != 0) GTEST_SKIP() << "no pandas";
  const std::string source = programSource("python/arrays.py");
  std::string trace = tempDir() + "/arrays.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", "/usr/bin/python3", source});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "8000000 8000000\n");
  const int array_line = lineOf(source, "ARRAY"), frame_line = lineOf(source, "FRAME");
  auto lines = linesBytes(trace, source, array_line, frame_line);
  EXPECT_GE(lines[array_line].peak, 8'000'000u);
  EXPECT_LT(lines[array_line].peak, 8'000'000u + 4'096);
  EXPECT_GE(lines[frame_line].peak, 8'000'000u);
  // The array's buffer: numpy's C code (native frames) called from numpy's Python (`ones`), called
  // from the program's line; the site is that line, the innermost frame of the program's own code.
  auto s = summary(trace);
  const nlohmann::json* array = nullptr;
  for (const auto& g : s["top_at_peak"])
    for (const auto& f : g["frames"])
      if (f["file"] == source && f["line"] == array_line && g["peak_bytes"] == 8'000'000) array = &g;
  ASSERT_TRUE(array) << s["top_at_peak"].dump(1);
  EXPECT_EQ((*array)["site"], "<module> (" + source + ":" + std::to_string(array_line) + ")") << array->dump(1);
  const size_t site = (*array)["site_frame"];
  ASSERT_GT(site, 0u);
  EXPECT_EQ((*array)["frames"][site - 1]["function"], "ones") << array->dump(1);  // numpy's Python, installed
  // numpy's native frames stay where they are, above its Python frames.
  EXPECT_NE((*array)["frames"][0]["module"].get<std::string>().find("numpy/core/_multiarray_umath"), std::string::npos)
      << array->dump(1);
}

// What an import made (a module's body) and still holds at exit is the module's for the life of the
// process, as a static initialiser's is; what the program's code made later and never freed is its
// leak. os._exit skips finalization, so both are live at exit, to the byte.
TEST(PythonFrames, WhatAnImportMadeIsHeldForLifeAndWhatTheProgramMadeIsLeaked) {
  const std::string source = programSource("python/import_leftovers.py");
  const std::string module = programSource("python/imported_buffer.py");
  const int kept_line = lineOf(source, "KEPT"), imported_line = lineOf(module, "IMPORTED");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string trace = tempDir() + "/imports.tmtrace";
    Result r = run({tidemark(), "run", "-o", trace, "--", python, source});
    ASSERT_EQ(r.code, 0) << r.err;
    auto sizes = nlohmann::json::parse(r.out);
    auto s = summary(trace);
    ASSERT_EQ(s["leaks"]["ended_cleanly"], true);
    auto bySite = [](const nlohmann::json& groups, const std::string& site) -> const nlohmann::json* {
      for (const auto& g : groups)
        if (g["site"] == site) return &g;
      return nullptr;
    };
    const std::string kept_site = "keep (" + source + ":" + std::to_string(kept_line) + ")";
    const std::string imported_site = "<module> (" + module + ":" + std::to_string(imported_line) + ")";
    const nlohmann::json* kept = bySite(s["leaks"]["stacks"], kept_site);
    ASSERT_TRUE(kept) << s["leaks"]["stacks"].dump(1);
    EXPECT_EQ((*kept)["live_bytes"], sizes["kept"]);
    EXPECT_EQ((*kept)["holder"], "program");
    EXPECT_FALSE(bySite(s["leaks"]["stacks"], imported_site)) << s["leaks"]["stacks"].dump(1);
    const nlohmann::json* imported = bySite(s["leaks"]["held_for_life"], imported_site);
    ASSERT_TRUE(imported) << s["leaks"]["held_for_life"].dump(1);
    EXPECT_EQ((*imported)["live_bytes"], sizes["imported"]);
    EXPECT_EQ((*imported)["holder"], "startup");
    // The largest leak named first is the program's.
    EXPECT_EQ(s["leaks"]["stacks"][0]["site"], kept_site);
  }
}

TEST(PythonFrames, AProgramThatEmbedsLibpythonHasItsFrames) {
  // pyenv's interpreters have libpython as a shared library; Debian's python3 is itself a program
  // with libpython linked in (every other test).
  Result root = run({"pyenv", "root"});
  if (root.code != 0) GTEST_SKIP() << "no pyenv";
  const std::string pyenv = root.out.substr(0, root.out.find('\n'));
  for (const char* version : {"3.12", "3.13"}) {
    const std::string lib = pyenv + "/versions/" + version + (version == std::string("3.12") ? ".1" : ".0") + "/lib";
    const std::string libpython = lib + "/libpython" + version + ".so";
    if (access(libpython.c_str(), R_OK) != 0) continue;
    SCOPED_TRACE(libpython);
    std::string dir = tempDir();
    // One program linked with libpython, one that knows nothing of it until it loads it.
    Result cc = run({"cc", "-O1", "-DLINKED", "-o", dir + "/linked", programSource("python_embed.c"), "-L" + lib,
                     "-lpython" + std::string(version), "-Wl,-rpath," + lib, "-ldl"});
    ASSERT_EQ(cc.code, 0) << cc.err;
    cc = run({"cc", "-O1", "-o", dir + "/dlopen", programSource("python_embed.c"), "-ldl"});
    ASSERT_EQ(cc.code, 0) << cc.err;
    for (const std::vector<std::string>& how : {std::vector<std::string>{"linked"}, std::vector<std::string>{"dlopen", libpython}}) {
      SCOPED_TRACE(how[0]);
      std::string trace = dir + "/" + how[0] + ".tmtrace";
      std::vector<std::string> argv{tidemark(), "run", "-o", trace, "--", dir + "/" + how[0]};
      argv.insert(argv.end(), how.begin(), how.end());
      Result r = run(argv, {"PYTHONHOME=" + pyenv + "/versions/" + version + (version == std::string("3.12") ? ".1" : ".0")});
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(r.out, "30\n");
      auto s = summary(trace);
      EXPECT_EQ(s["python"]["python_frames"], true);
      // An interpreter loaded with dlopen is found later, and the summary says from when.
      EXPECT_EQ(s["python"]["summary"].get<std::string>().find("earlier allocations have native stacks") != std::string::npos,
                how[0] == "dlopen")
          << s["python"];
      // The script's third line, with every object counted (the late interpreter's allocator is
      // wrapped once it runs).
      EXPECT_GE(lineBytes(trace, "<string>", 3).peak, 30 * bytearrayBytes(100'000));
    }
  }
}

TEST(PythonFrames, AnOlderPythonRunsWithNativeStacksAndTheSummarySaysWhy) {
  Result root = run({"pyenv", "root"});
  std::string python = root.out.substr(0, root.out.find('\n')) + "/versions/3.10.13/bin/python3";
  if (root.code != 0 || access(python.c_str(), X_OK) != 0) GTEST_SKIP() << "no CPython 3.10 here";
  std::string trace = tempDir() + "/old.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", python, "-c", "x = [bytearray(1000) for _ in range(10)]; print(len(x))"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "10\n");
  auto s = summary(trace);
  ASSERT_TRUE(s["python"].is_object());
  EXPECT_EQ(s["python"]["python_frames"], false);
  EXPECT_EQ(s["python"]["version"], "3.10.13");
  EXPECT_NE(s["python"]["why"].get<std::string>().find("before 3.11"), std::string::npos) << s["python"];
}
