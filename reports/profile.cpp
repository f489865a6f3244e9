#include "profile.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "analysis.h"
#include "error.h"
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
std::string leafSite(const nlohmann::json& frames) {
  if (frames.empty()) return "?";
  const auto& f = frames[0];
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

MemoryProfile profileFromSummaryJson(const nlohmann::json& j, const std::string& source) {
  MemoryProfile p;
  p.source = source;
  try {
    p.peak_heap = j.at("peak_heap").at("bytes").get<uint64_t>();
    p.peak_rss = j.at("peak_rss").at("bytes").get<uint64_t>();
    p.leaked = j.at("leaks").at("bytes").get<uint64_t>();
    p.ended_cleanly = j.at("leaks").at("ended_cleanly").get<bool>();
    p.end = j.at("end").value("description", "");
    p.death = j.contains("death") ? j["death"].value("verdict", "none") : "none";
    const auto& f = j.at("findings");
    p.growth_available = f.value("available", false);
    for (const auto& site : f.value("sites", nlohmann::json::array()))
      if (site.value("verdict", "") == "unbounded growth") p.unbounded.push_back(site.value("function", "?"));
    // One entry per stack: its bytes at the peak (top_at_peak) and at the end (leaks).
    std::map<std::string, MemoryProfile::Stack> stacks;
    for (const auto& g : j.at("top_at_peak")) {
      std::vector<std::string> frames = rootFirst(g.at("frames"));
      auto& s = stacks[foldedFrames(frames)];
      s.frames = frames;
      s.site = leafSite(g.at("frames"));
      s.peak = g.at("peak_bytes").get<uint64_t>();
    }
    for (const auto& g : j.at("leaks").at("stacks")) {
      std::vector<std::string> frames = rootFirst(g.at("frames"));
      auto& s = stacks[foldedFrames(frames)];
      s.frames = frames;
      s.site = leafSite(g.at("frames"));
      s.leaked = g.at("live_bytes").get<uint64_t>();
    }
    for (auto& [key, s] : stacks) p.stacks.push_back(std::move(s));
    p.listed_limit = j.value("listed_stacks", size_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{} is not a tidemark summary (tidemark summary --json): {}", source, e.what()));
  }
  return p;
}

MemoryProfile loadProfile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open {}: {}", path, strerror(errno)));
  char head[8] = {};
  in.read(head, sizeof head);
  if (in.gcount() == sizeof head && memcmp(head, format::kMagic, sizeof head) == 0) {
    in.close();
    SummaryOptions options;
    options.top = 1'000'000'000;  // every stack
    TraceAnalysis analysis(path, options);
    nlohmann::json j = summaryJson(analysis);
    j.erase("listed_stacks");
    return profileFromSummaryJson(j, path);
  }
  in.clear();
  in.seekg(0);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(fmt::format("{} is neither a tidemark trace nor a JSON summary (tidemark summary --json)", path));
  return profileFromSummaryJson(j, path);
}

}  // namespace tidemark
