// The interpreter's object graph recorded with a scan (python_objects.h) and what the analyzer
// makes of it (python_graph.h), on every CPython here: the garbage is exactly the set that
// gc.DEBUG_SAVEALL saves in the same program, and its cycles are named by shape and line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

using namespace tmtest;

namespace {

std::set<uint64_t> idsIn(const std::string& path) {
  std::istringstream in(readFile(path));
  std::set<uint64_t> ids;
  for (uint64_t id; in >> id;) ids.insert(id);
  return ids;
}

// The group of garbage cycles with this shape, or null.
const nlohmann::json* cycleGroup(const nlohmann::json& objects, const std::string& shape) {
  for (const auto& g : objects["cycles"]["groups"])
    if (g["shape"] == shape) return &g;
  return nullptr;
}

}  // namespace

TEST(PythonObjects, TheGarbageIsExactlyWhatTheCollectorWouldSaveAndItsCyclesAreNamed) {
  const std::string source = programSource("python/garbage_cycles.py");
  const std::string fill = "Fill (garbage_cycles.py:" + std::to_string(lineOf(source, "FILL")) + ")";
  const std::string order = "Order (garbage_cycles.py:" + std::to_string(lineOf(source, "ORDER")) + ")";
  const std::string account = "Account (garbage_cycles.py:" + std::to_string(lineOf(source, "ORDER") + 1) + ")";
  const std::string method = "method (garbage_cycles.py:" + std::to_string(lineOf(source, "METHOD")) + ")";
  const std::string raised = "(garbage_cycles.py:" + std::to_string(lineOf(source, "RAISE")) + ")";
  constexpr int kCycles = 40;
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    const std::string dir = tempDir(), trace = dir + "/garbage.tmtrace", ids = dir + "/saved.txt";
    Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source, std::to_string(kCycles), ids});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "graph recorded: True\n");
    const auto objects = summary(trace)["python_objects"];
    ASSERT_EQ(objects["available"], true) << objects["unavailable_reason"];
    EXPECT_EQ(objects["reason"], "request");

    // The very objects the collector saved: the 2 × 40 orders and fills, the account and its bound
    // method, the exception, its traceback and its frame, and what only they hold.
    const std::set<uint64_t> saved = idsIn(ids);
    EXPECT_GE(saved.size(), 2u * kCycles + 5);
    EXPECT_EQ(objects["garbage"]["ids_complete"], true);
    const auto listed = objects["garbage"]["ids"].get<std::vector<uint64_t>>();
    EXPECT_EQ(std::set<uint64_t>(listed.begin(), listed.end()), saved);
    EXPECT_EQ(objects["garbage"]["objects"], saved.size());

    const nlohmann::json* orders = cycleGroup(objects, fill + " → " + order + " → " + fill);
    ASSERT_NE(orders, nullptr) << objects["cycles"].dump(2);
    EXPECT_EQ((*orders)["cycles"], kCycles);
    EXPECT_EQ((*orders)["objects"], 2 * kCycles);
    const nlohmann::json* bound = cycleGroup(objects, account + " → " + method + " → " + account);
    ASSERT_NE(bound, nullptr) << objects["cycles"].dump(2);
    EXPECT_EQ((*bound)["cycles"], 1);
    const nlohmann::json* traceback = cycleGroup(objects, "ValueError " + raised + " → traceback " + raised + " → frame " +
                                                              raised + " → ValueError " + raised);
    ASSERT_NE(traceback, nullptr) << objects["cycles"].dump(2);
    EXPECT_EQ((*traceback)["cycles"], 1);
    EXPECT_EQ(objects["cycles"]["count"], kCycles + 2);
  }
}

TEST(PythonObjects, TheExitScanIsMadeBeforeTheInterpreterTearsItsObjectsDown) {
  const std::string source = programSource("python/garbage_cycles.py");
  const std::string fill = "Fill (garbage_cycles.py:" + std::to_string(lineOf(source, "FILL")) + ")";
  const std::string order = "Order (garbage_cycles.py:" + std::to_string(lineOf(source, "ORDER")) + ")";
  constexpr int kCycles = 25;
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    const std::string dir = tempDir(), trace = dir + "/exit.tmtrace";
    Result plain = run({python, source, std::to_string(kCycles), dir + "/unused", "exit"}, {"PYTHONPATH=" + pythonModule()});
    ASSERT_EQ(plain.code, 0) << plain.err;
    Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source, std::to_string(kCycles), dir + "/unused", "exit"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(plain.out, "left 25 cycles, kept 3 at Fill,Fill,Fill\n");
    EXPECT_EQ(r.out, plain.out);  // the scan changes nothing the program does
    const auto s = summary(trace);
    const auto& objects = s["python_objects"];
    ASSERT_EQ(objects["available"], true) << objects["unavailable_reason"];
    EXPECT_EQ(objects["reason"], "exit");
    const nlohmann::json* orders = cycleGroup(objects, fill + " → " + order + " → " + fill);
    ASSERT_NE(orders, nullptr) << objects["cycles"].dump(2);
    EXPECT_EQ((*orders)["cycles"], kCycles);  // (and no scan after it, once the objects were gone)
  }
}

TEST(PythonObjects, WhatAStructureKeepsAliveIsWhatItsObjectsHoldAndASharedPartCountsOnce) {
  const std::string source = programSource("python/retained.py");
  const std::string table = "Table (retained.py:" + std::to_string(lineOf(source, "TABLE")) + ")";
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    const std::string trace = tempDir() + "/retained.tmtrace";
    Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto counted = nlohmann::json::parse(r.out);  // the program's own count (sys.getsizeof)
    ASSERT_EQ(counted["graph"], true);
    const auto objects = summary(trace)["python_objects"];
    const nlohmann::json* found = nullptr;
    for (const auto& g : objects["retained"])
      if (g["name"] == table) found = &g;
    ASSERT_NE(found, nullptr) << objects["retained"].dump(2);
    EXPECT_EQ((*found)["objects"], 1);
    // Its 200 lists of 400 floats, their keys, and the list two keys share, once. A word of the
    // conservative scan that still points at a key string from elsewhere (a stack's leftover)
    // takes that string away: up to a few of them (measured 2026-11-30: none on 3.11 and 3.12, 47
    // bytes of 2.59 MB on 3.13).
    const uint64_t expected = counted["table"], retained = (*found)["retained_bytes"];
    EXPECT_LE(retained, expected);
    EXPECT_GE(retained, expected - 1024);
    EXPECT_FALSE((*found)["chain"].empty());  // held through the module's globals
  }
}

namespace {

// The group of live objects with this name (type and line), or null.
const nlohmann::json* retainedGroup(const nlohmann::json& objects, const std::string& name) {
  for (const auto& g : objects["group_sizes"])
    if (g["name"] == name) return &g;
  return nullptr;
}

}  // namespace

TEST(PythonObjects, ACacheHeldThroughAModuleGlobalIsNamedWithItsChainAndItsGrowthBetweenTwoScans) {
  const std::string source = programSource("python/lru_cache.py");
  const std::string lists = "list (lru_cache.py:" + std::to_string(lineOf(source, "UNIVERSE")) + ")";
  const std::string wrapper = "__main__.load_universe (functools._lru_cache_wrapper)";
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    const std::string trace = tempDir() + "/cache.tmtrace";
    Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source, "20", "60"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto counted = nlohmann::json::parse(r.out);  // the program's own count (sys.getsizeof)
    ASSERT_EQ(counted["first_graph"], true);
    ASSERT_EQ(counted["last_graph"], true);
    const uint64_t first = counted["first"], last = counted["last"];
    const auto s = summary(trace);
    const auto& objects = s["python_objects"];
    ASSERT_EQ(objects["available"], true) << objects["unavailable_reason"];

    // The cached lists, named by the line that makes them (though the interpreter reuses list
    // objects from its free list), held through the global, its wrapper and the cache's dict. A
    // stale word of the conservative scan may take a float away (measured: exact).
    const nlohmann::json* cached = retainedGroup(objects, lists);
    ASSERT_NE(cached, nullptr) << objects["retained"].dump(2);
    EXPECT_EQ((*cached)["objects"], 60);
    const uint64_t held = (*cached)["held_bytes"];
    EXPECT_LE(held, last);
    EXPECT_GE(held, last - 1024);
    const nlohmann::json* listed = nullptr;
    for (const auto& g : objects["retained"])
      if (g["name"] == lists) listed = &g;
    ASSERT_NE(listed, nullptr) << objects["retained"].dump(2);
    const auto chain = (*listed)["chain"].get<std::vector<std::string>>();
    ASSERT_GE(chain.size(), 4u) << (*listed)["chain"].dump();
    EXPECT_EQ(chain[chain.size() - 4], "module __main__");
    EXPECT_EQ(chain[chain.size() - 3], "globals of __main__");
    EXPECT_EQ(chain[chain.size() - 2], wrapper);
    EXPECT_EQ(chain.back().substr(0, 5), "dict ");  // the cache's dict

    // Modules, their globals and sys.modules hold everything: the text lists the program's own
    // structures, the largest first (the cache of lists).
    for (const auto& g : objects["retained"])
      EXPECT_EQ(g["holds_modules"], g["global"] == "sys.modules" || g["global"].get<std::string>().starts_with("module ") ||
                                        g["global"].get<std::string>().starts_with("globals of "))
          << g.dump();
    Result text = run({tidemark(), "summary", trace});
    const size_t kept = text.out.find("  kept alive: ");
    ASSERT_NE(kept, std::string::npos) << text.out;
    const std::string first_listed = text.out.substr(text.out.find('\n', kept) + 1, 120);
    EXPECT_NE(first_listed.find("  __main__.load_universe: functools._lru_cache_wrapper"), std::string::npos) << first_listed;

    // The wrapper keeps the lists, the cache's dict, the function it wraps and its attributes.
    const nlohmann::json* global = nullptr;
    for (const auto& g : objects["group_sizes"])
      if (g["global"] == "__main__.load_universe") global = &g;
    ASSERT_NE(global, nullptr) << objects["group_sizes"].dump(2);
    EXPECT_EQ((*global)["objects"], 1);
    EXPECT_GE((*global)["retained_bytes"].get<uint64_t>(), last - 1024);
    EXPECT_LE((*global)["retained_bytes"].get<uint64_t>(), last + 64 * 1024);

    // The orders and their fills are live cycles the cache holds: not garbage, each held through
    // its cache's global.
    EXPECT_EQ(objects["garbage"]["objects"], 0);
    const std::string orders = "Order (lru_cache.py:" + std::to_string(lineOf(source, "ORDER")) + ")";
    const std::string fills = "Fill (lru_cache.py:" + std::to_string(lineOf(source, "FILL")) + ")";
    const nlohmann::json* live_orders = nullptr;
    for (const auto& g : objects["retained"])
      if (g["name"] == orders) live_orders = &g;
    ASSERT_NE(live_orders, nullptr) << objects["retained"].dump(2);
    EXPECT_EQ((*live_orders)["objects"], 60);
    const auto order_chain = (*live_orders)["chain"].get<std::vector<std::string>>();
    ASSERT_GE(order_chain.size(), 2u);
    EXPECT_EQ(order_chain[order_chain.size() - 2], "__main__.load_orders (functools._lru_cache_wrapper)");
    ASSERT_NE(retainedGroup(objects, fills), nullptr);
    EXPECT_EQ((*retainedGroup(objects, fills))["objects"], 60);

    // What grew from the first scan (after 20 days) to the last: the lists, first.
    const auto& growth = s["python_growth"];
    ASSERT_EQ(growth["available"], true);
    EXPECT_EQ(growth["from"]["reason"], "request");
    ASSERT_FALSE(growth["groups"].empty());
    const auto& top = growth["groups"][0];
    EXPECT_EQ(top["name"], lists);
    EXPECT_EQ(top["objects_before"], 20);
    EXPECT_EQ(top["objects_after"], 60);
    const int64_t grown = top["grown"];
    EXPECT_LE(grown, static_cast<int64_t>(last - first) + 1024);
    EXPECT_GE(grown, static_cast<int64_t>(last - first) - 1024);
  }
}

TEST(PythonObjects, AnArrayHeldThroughAViewAndDataFramesAreCountedWithTheObjectsThatHoldThem) {
  const std::string source = programSource("python/numpy_pandas.py");
  const std::string holder = "Holder (numpy_pandas.py:" + std::to_string(lineOf(source, "HOLDER")) + ")";
  const std::string portfolio = "Portfolio (numpy_pandas.py:" + std::to_string(lineOf(source, "PORTFOLIOS")) + ")";
  const std::string frame = "DataFrame (numpy_pandas.py:" + std::to_string(lineOf(source, "FRAME")) + ")";
  int interpreters = 0;
  for (const std::string& python : pythonInterpreters()) {
    if (run({python, "-c", "import numpy, pandas"}).code != 0) continue;  // Debian's python3 has them
    ++interpreters;
    SCOPED_TRACE(python);
    // A native block can keep a stale copy of a data pointer (a word left in a buffer the
    // interpreter or pandas reuses: a conservative scan cannot tell it from a reference), and then
    // that data is shared with it, not held by its portfolio or holder alone. It happens in some
    // runs (seen: a 656-byte and a 520-byte block holding the address of one of a frame's three
    // buffers; the base array's data shared so that its holder kept 512 bytes), so the program runs
    // again, at most three times, until no stale word points into a frame's or the base's data.
    nlohmann::json counted, objects;
    uint64_t base = 0, data = 0;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      const std::string trace = tempDir() + "/arrays-" + std::to_string(attempt) + ".tmtrace";
      Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source});
      ASSERT_EQ(r.code, 0) << r.err;
      counted = nlohmann::json::parse(r.out);
      ASSERT_EQ(counted["graph"], true);
      base = counted["base"];
      data = counted["frame"];
      objects = summary(trace)["python_objects"];
      const nlohmann::json* owners = retainedGroup(objects, portfolio);
      const nlohmann::json* holds = retainedGroup(objects, holder);
      if (owners && (*owners)["retained_bytes"].get<uint64_t>() >= 3 * data && holds && (*holds)["retained_bytes"].get<uint64_t>() >= base)
        break;
      std::cerr << "attempt " << attempt << ": a stale word shares a frame's or the base's data; running again\n";
    }

    // The array's data is held by the view's base reference (neither is tracked by the
    // collector): the holder of the view keeps it, with the two arrays' headers and its own.
    const nlohmann::json* held = retainedGroup(objects, holder);
    ASSERT_NE(held, nullptr);
    EXPECT_EQ((*held)["global"], "__main__.holder");
    EXPECT_GE((*held)["retained_bytes"].get<uint64_t>(), base);
    EXPECT_LE((*held)["retained_bytes"].get<uint64_t>(), base + 1024);

    // Each portfolio keeps its frame's values, index and columns: the frames count with them.
    const nlohmann::json* owners = retainedGroup(objects, portfolio);
    ASSERT_NE(owners, nullptr);
    EXPECT_EQ((*owners)["objects"], 3);
    EXPECT_GE((*owners)["retained_bytes"].get<uint64_t>(), 3 * data);
    EXPECT_LE((*owners)["retained_bytes"].get<uint64_t>(), 3 * data + 3 * 16 * 1024);
    const nlohmann::json* frames = nullptr;
    for (const auto& g : objects["retained"])
      if (g["name"] == frame) frames = &g;
    ASSERT_NE(frames, nullptr) << objects["retained"].dump(2);
    EXPECT_EQ((*frames)["objects"], 3);
    EXPECT_GE((*frames)["retained_bytes"].get<uint64_t>(), 3 * data);
    const auto chain = (*frames)["chain"].get<std::vector<std::string>>();
    ASSERT_GE(chain.size(), 2u);
    EXPECT_EQ(chain[chain.size() - 2], "__main__.portfolios (list)");
    EXPECT_EQ(chain.back(), portfolio);
  }
  EXPECT_GE(interpreters, 1) << "no interpreter here has numpy and pandas (scripts/setup.sh installs them)";
}

TEST(PythonObjects, TheGateFailsOnGarbageCyclesAndOnAGroupThatHoldsMoreAndDiffNamesIt) {
  const std::string python = pythonInterpreters().front();
  const std::string dir = tempDir(), cache = dir + "/cache.tmtrace", small = dir + "/small.tmtrace", cycles = dir + "/cycles.tmtrace";
  const std::string source = programSource("python/lru_cache.py");
  const std::string lists = "list (lru_cache.py:" + std::to_string(lineOf(source, "UNIVERSE")) + ")";
  // The lists must hold at both scans what the program counted (sys.getsizeof): a stale word in a
  // native block can point at one list's item array, which is then shared rather than the list's
  // (as in AnArrayHeldThroughAView...: seen once in CI, 8,800 bytes, one list's 1,100 slots, missing
  // from the last scan). So each program runs again, at most three times, until they agree.
  auto runCounted = [&](const std::string& trace, const char* first, const char* days) {
    for (int attempt = 1; attempt <= 3; ++attempt) {
      std::filesystem::remove_all(trace);
      Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source, first, days});
      ASSERT_EQ(r.code, 0) << r.err;
      const auto counted = nlohmann::json::parse(r.out);
      const auto growth = summary(trace)["python_growth"];
      for (const auto& g : growth["groups"])
        if (g["name"] == lists && g["retained_before"] == counted["first"] && g["retained_after"] == counted["last"]) return;
      std::cerr << "attempt " << attempt << ": the graph's lists do not hold what the program counted; running again\n";
    }
  };
  runCounted(cache, "20", "60");
  runCounted(small, "5", "10");
  ASSERT_EQ(run({tidemark(), "run", "--scan", "-o", cycles, "--", python, programSource("python/garbage_cycles.py"), "7",
                 dir + "/ids.txt"}).code, 0);

  // Within the run: the lists grew by 40 × (a list of 1,000 floats: about 32 KiB), from 20 to 60.
  Result grew = run({tidemark(), "gate", cache, "--max-retained-growth", "1MiB"});
  EXPECT_EQ(grew.code, 1) << grew.out << grew.err;
  EXPECT_NE(grew.out.find("FAIL  " + lists + " holds 1.25 MiB more from the run's first scan to its last"), std::string::npos) << grew.out;
  EXPECT_EQ(run({tidemark(), "gate", cache, "--max-retained-growth", "2MiB"}).code, 0);
  // Against a baseline: 10 lists there, 60 here.
  Result over = run({tidemark(), "gate", cache, "--baseline", small, "--max-retained-growth", "1MiB"});
  EXPECT_EQ(over.code, 1) << over.out << over.err;
  EXPECT_NE(over.out.find(lists + " holds 1.57 MiB more than in the baseline's last scan"), std::string::npos) << over.out;
  Result diff = run({tidemark(), "diff", small, cache});
  ASSERT_EQ(diff.code, 0) << diff.err;
  EXPECT_NE(diff.out.find("+1.57 MiB  " + lists + ": 10 → 60 objects"), std::string::npos) << diff.out;

  // The HTML report shows the groups and their growth.
  ASSERT_EQ(run({tidemark(), "report", cache, "-o", dir + "/cache.html"}).code, 0);
  const std::string html = readFile(dir + "/cache.html");
  const size_t retained = html.find("<table id=\"python-retained\">"), grown = html.find("<table id=\"python-growth\">");
  ASSERT_NE(retained, std::string::npos);
  ASSERT_NE(grown, std::string::npos);
  EXPECT_NE(html.find("list (lru_cache.py:" + std::to_string(lineOf(source, "UNIVERSE")) + ") in 60 objects", retained), std::string::npos);
  EXPECT_NE(html.find("<td>+1.25 MiB</td><td>20 → 60</td>", grown), std::string::npos);

  // Garbage cycles: 7 of the two-class shape, a bound method's and an exception's.
  Result garbage = run({tidemark(), "gate", cycles, "--max-garbage-cycles", "0"});
  EXPECT_EQ(garbage.code, 1) << garbage.out << garbage.err;
  EXPECT_NE(garbage.out.find("FAIL  9 Python garbage cycles"), std::string::npos) << garbage.out;
  EXPECT_EQ(run({tidemark(), "gate", cycles, "--max-garbage-cycles", "9"}).code, 0);
  // A trace without a graph is bad input for these rules, not a pass.
  const std::string plain = dir + "/true.tmtrace";
  ASSERT_EQ(run({tidemark(), "run", "-o", plain, "--", "/bin/true"}).code, 0);
  Result none = run({tidemark(), "gate", plain, "--max-garbage-cycles", "0"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--max-garbage-cycles needs a Python object graph"), std::string::npos) << none.err;
}

// Garbage cycles an import's body made are the module's, as its leaks are held for life: only the
// program's own cycles are a problem. import_garbage.py imports a module whose body drops 30
// Node <-> Node cycles, then drops N Pair <-> Pair cycles of its own, the collector off throughout.
TEST(PythonObjects, GarbageCyclesFromAnImportAreTheModulesNotAProblem) {
  const std::string source = programSource("python/import_garbage.py");
  const std::string module = programSource("python/made_on_import.py");
  const std::string node = "Node (made_on_import.py:" + std::to_string(lineOf(module, "NODE")) + ")";
  const std::string pair = "Pair (import_garbage.py:" + std::to_string(lineOf(source, "PAIR")) + ")";
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    for (int own : {0, 7}) {
      SCOPED_TRACE(own);
      const std::string trace = tempDir() + "/imports.tmtrace";
      Result r = run({tidemark(), "run", "--scan", "-o", trace, "--", python, source, std::to_string(own)});
      ASSERT_EQ(r.code, 0) << r.err;
      const auto s = summary(trace);
      const auto& cycles = s["python_objects"]["cycles"];
      EXPECT_EQ(cycles["count"], 30 + own) << cycles.dump(1);
      EXPECT_EQ(cycles["from_imports"]["count"], 30);
      EXPECT_EQ(cycles["from_imports"]["objects"], 60);
      size_t module_groups = 0, own_groups = 0;
      for (const auto& g : cycles["groups"]) {
        const std::string shape = g["shape"];
        if (g["from_imports"].get<bool>()) {
          ++module_groups;
          EXPECT_EQ(shape.rfind(node + " → ", 0), 0u) << shape;
          EXPECT_EQ(g["cycles"], 30);
        } else {
          ++own_groups;
          EXPECT_EQ(shape.rfind(pair + " → ", 0), 0u) << shape;
          EXPECT_EQ(g["cycles"], own);
        }
      }
      EXPECT_EQ(module_groups, 1u) << cycles.dump(1);
      EXPECT_EQ(own_groups, own ? 1u : 0u) << cycles.dump(1);
      // The diagnosis: the program's cycles as the problem, the module's named apart and not counted.
      std::vector<std::string> kinds;
      for (const auto& line : s["diagnosis"]) {
        kinds.push_back(line["kind"]);
        const std::string headline = line["headline"], detail = line["detail"];
        if (line["kind"] == "python-garbage") {
          EXPECT_TRUE(line["problem"].get<bool>());
          EXPECT_EQ(headline, "7 garbage cycles only the cycle collector frees");
          EXPECT_NE(detail.find("; the largest: " + pair + " → "), std::string::npos) << detail;
          EXPECT_NE(detail.find("; not counted: 30 garbage cycles from imports"), std::string::npos) << detail;
        }
        if (line["kind"] == "module-garbage") {
          EXPECT_FALSE(line["problem"].get<bool>());
          EXPECT_EQ(headline, "30 garbage cycles from imports, not the program's");
          EXPECT_NE(detail.find("; the largest: " + node + " → "), std::string::npos) << detail;
        }
      }
      const bool problem = std::find(kinds.begin(), kinds.end(), "python-garbage") != kinds.end();
      const bool modules = std::find(kinds.begin(), kinds.end(), "module-garbage") != kinds.end();
      EXPECT_EQ(problem, own != 0) << s["diagnosis"].dump(1);
      EXPECT_EQ(modules, own == 0) << s["diagnosis"].dump(1);
    }
  }
}
