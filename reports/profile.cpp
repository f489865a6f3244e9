#include "profile.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>
#include <map>

#include <fmt/format.h>

#include "analysis.h"
#include "error.h"
#include "input_file.h"
#include "process_tree.h"
#include "run_report.h"
#include "summary_report.h"
#include "tidemark/trace_format.h"

namespace tidemark {

namespace {

std::vector<std::string> rootFirst(const nlohmann::json& frames) {
  std::vector<std::string> out;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) out.push_back((*it).value("function", "?"));
  return out;
}

// A site as the diff compares it: function and file, without the line (lines move between the
// two builds a diff compares; a function rarely does).
std::string leafSite(const nlohmann::json& group) {
  const nlohmann::json& frames = group.at("frames");
  if (frames.empty() || !frames.is_array()) return "?";
  // The frame the summary named the site by (not operator new in a --full summary).
  size_t at = group.value("site_frame", size_t{0});
  const auto& f = frames[at < frames.size() ? at : 0];
  std::string file = f.value("file", "");
  return file.empty() ? f.value("function", "?") : fmt::format("{} ({})", f.value("function", "?"), file);
}

}  // namespace

std::string foldedFrames(const std::vector<std::string>& frames) {
  std::string s;
  for (const std::string& f : frames) {
    std::string name = f;
    std::replace(name.begin(), name.end(), ';', ':');
    std::replace(name.begin(), name.end(), '\n', ' ');
    s += (s.empty() ? "" : ";") + name;
  }
  return s;
}

namespace {

// A byte count as a summary writes it: an unsigned integer. 1e300 or -1 is not one, and must not
// read as 0 and pass a gate.
uint64_t bytesAt(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw Error(fmt::format("\"{}\" is {}, not a byte count", key, v.dump()));
  return v.get<uint64_t>();
}

MemoryProfile::Python pythonFromSummaryJson(const nlohmann::json& j) {
  MemoryProfile::Python p;
  if (!j.contains("python_objects") || !j["python_objects"].value("available", false)) return p;
  const auto& objects = j["python_objects"];
  p.available = true;
  p.garbage_cycles = objects.at("cycles").at("count").get<uint64_t>();
  p.garbage_bytes = bytesAt(objects.at("cycles"), "bytes");
  for (const auto& c : objects.at("cycles").at("groups")) p.cycle_shapes.push_back(c.at("shape").get<std::string>());
  for (const auto& g : objects.at("group_sizes")) {
    RetainedGroup group;
    group.name = g.at("name").get<std::string>();
    group.global = g.value("global", "");
    group.objects = g.at("objects").get<uint64_t>();
    group.held_bytes = bytesAt(g, "held_bytes");
    group.retained_bytes = bytesAt(g, "retained_bytes");
    p.groups.push_back(std::move(group));
  }
  if (j.contains("python_growth") && j["python_growth"].value("available", false)) {
    p.growth_available = true;
    for (const auto& g : j["python_growth"].at("groups")) {
      RetainedGrowth change;
      change.name = g.at("name").get<std::string>();
      change.global = g.value("global", "");
      change.objects_before = g.at("objects_before").get<uint64_t>();
      change.objects_after = g.at("objects_after").get<uint64_t>();
      change.held_before = bytesAt(g, "held_before");
      change.held_after = bytesAt(g, "held_after");
      change.retained_before = bytesAt(g, "retained_before");
      change.retained_after = bytesAt(g, "retained_after");
      p.growth.push_back(std::move(change));
    }
  }
  return p;
}

}  // namespace

MemoryProfile profileFromSummaryJson(const nlohmann::json& j, const std::string& source) {
  MemoryProfile p;
  p.source = source;
  try {
    p.peak_heap = bytesAt(j.at("peak_heap"), "bytes");
    p.peak_rss = bytesAt(j.at("peak_rss"), "bytes");
    p.leaked = bytesAt(j.at("leaks"), "bytes");
    p.ended_cleanly = j.at("leaks").at("ended_cleanly").get<bool>();
    p.end = j.at("end").value("description", "");
    p.signaled = j.at("end").value("state", "") == "signaled";
    if (j.contains("incomplete") && j["incomplete"].is_object()) p.incomplete = j["incomplete"].value("text", "incomplete");
    p.death = j.contains("death") ? j["death"].value("verdict", "none") : "none";
    const auto& f = j.at("findings");
    p.growth_available = f.value("available", false);
    for (const auto& site : f.value("sites", nlohmann::json::array()))
      if (site.value("verdict", "") == "unbounded growth") p.unbounded.push_back(site.value("site", site.value("function", "?")));
    // One entry per stack: its bytes at the peak (top_at_peak) and at the end (leaks).
    std::map<std::string, MemoryProfile::Stack> stacks;
    for (const auto& g : j.at("top_at_peak")) {
      std::vector<std::string> frames = rootFirst(g.at("frames"));
      auto& s = stacks[foldedFrames(frames)];
      s.frames = frames;
      s.site = leafSite(g);
      s.peak = bytesAt(g, "peak_bytes");
    }
    for (const auto& g : j.at("leaks").at("stacks")) {
      std::vector<std::string> frames = rootFirst(g.at("frames"));
      auto& s = stacks[foldedFrames(frames)];
      s.frames = frames;
      s.site = leafSite(g);
      s.leaked = bytesAt(g, "live_bytes");
    }
    for (auto& [key, s] : stacks) p.stacks.push_back(std::move(s));
    p.listed_limit = j.value("listed_stacks", size_t{0});
    for (const auto& phase : j.value("phases", nlohmann::json::array()))
      p.phases[phase.at("name").get<std::string>()] = {.peak_above_begin = bytesAt(phase, "peak_above_begin"),
                                                       .growth = phase.at("growth").get<int64_t>()};
    p.python = pythonFromSummaryJson(j);
    if (j.contains("run") && j["run"].is_object()) {
      const auto& run = j["run"];
      p.tree.present = true;
      p.tree.pss = run.at("pss_measured").get<bool>();
      p.tree.peak = bytesAt(run.at("peak"), p.tree.pss ? "pss" : "rss");
      p.tree.processes = run.at("processes").size();
      p.tree.jobs = run.at("jobs").size();
      for (const auto& proc : run.at("processes"))
        if (proc.at("death").get<std::string>() != "none")
          p.tree.died.push_back(fmt::format("{} (pid {}): {}", proc.at("program").get<std::string>(),
                                            proc.at("pid").get<uint64_t>(), proc.at("death").get<std::string>()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{} is not a tidemark summary (tidemark summary --json): {}", source, e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("{} is not a valid tidemark summary: {}", source, e.what()));
  }
  return p;
}

MemoryProfile withinPhase(const MemoryProfile& run, const std::string& name) {
  auto it = run.phases.find(name);
  if (it == run.phases.end())
    throw Error(fmt::format("{} has no phase \"{}\" (phases are marked with tidemark.phase() in Python, "
                            "TIDEMARK_MARK_PHASE_BEGIN/END in C and C++)", run.source, name));
  MemoryProfile p = run;
  p.phase = name;
  p.peak_heap = it->second.peak_above_begin;
  p.leaked = it->second.growth > 0 ? static_cast<uint64_t>(it->second.growth) : 0;
  return p;
}

MemoryProfile loadProfile(const std::string& input, const std::string& process) { return loadComparedRun(input, process).profile; }

ComparedRun loadComparedRun(const std::string& input, const std::string& process) {
  // A baseline kept in a repository is a few hundred KiB; a trace goes to the trace reader.
  constexpr uint64_t kMaxSummaryBytes = 256ull << 20;
  SummaryOptions options;
  options.top = 1'000'000'000;  // every stack
  // A run of several processes: the picked one's summary, with the tree.
  if (std::vector<std::string> traces = runTraces(input); traces.size() > 1 || !process.empty()) {
    std::unique_ptr<TraceAnalysis> picked;
    RunTree tree = analyzeRun({input}, process, options, picked);
    nlohmann::json j = summaryJson(*picked);
    j.erase("listed_stacks");
    j["run"] = runJson(input, tree);
    return {profileFromSummaryJson(j, input), picked->run().timeline, picked->run().duration_ns};
  }
  const std::string path = runTraces(input)[0];
  uint64_t size = 0;
  int fd = openRegularFile(path, "trace or JSON summary", size);
  char head[sizeof format::kMagic] = {};
  ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  if (n == static_cast<ssize_t>(sizeof head) && memcmp(head, format::kMagic, sizeof head) == 0) {
    TraceAnalysis analysis(path, options);
    nlohmann::json j = summaryJson(analysis);
    j.erase("listed_stacks");
    return {profileFromSummaryJson(j, path), analysis.run().timeline, analysis.run().duration_ns};
  }
  nlohmann::json j = nlohmann::json::parse(readRegularFile(path, "JSON summary", kMaxSummaryBytes), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(fmt::format("{} is neither a tidemark trace nor a JSON summary (tidemark summary --json)", path));
  return {profileFromSummaryJson(j, path), {}, 0};  // a summary keeps no timeline
}

}  // namespace tidemark
