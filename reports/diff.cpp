#include "diff.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "python_report.h"
#include "units.h"

namespace tidemark {

namespace {

struct SiteChange {
  std::string site;
  int64_t base_peak = 0, new_peak = 0, base_leaked = 0, new_leaked = 0;
};

std::vector<SiteChange> siteChanges(const MemoryProfile& base, const MemoryProfile& next) {
  std::map<std::string, SiteChange> sites;
  for (const auto& s : base.stacks) {
    auto& c = sites[s.site];
    c.site = s.site;
    c.base_peak += static_cast<int64_t>(s.peak);
    c.base_leaked += static_cast<int64_t>(s.leaked);
  }
  for (const auto& s : next.stacks) {
    auto& c = sites[s.site];
    c.site = s.site;
    c.new_peak += static_cast<int64_t>(s.peak);
    c.new_leaked += static_cast<int64_t>(s.leaked);
  }
  std::vector<SiteChange> out;
  for (auto& [k, c] : sites) out.push_back(c);
  return out;
}

std::string change(uint64_t was, uint64_t now) {
  std::string s = fmt::format("{} -> {}", humanBytes(was), humanBytes(now));
  if (was) s += fmt::format(" ({})", signedPercent(100.0 * (static_cast<double>(now) - static_cast<double>(was)) / static_cast<double>(was)));
  return s;
}

nlohmann::json diffPythonJson(const MemoryProfile& base, const MemoryProfile& next) {
  if (!base.python.available || !next.python.available) return nullptr;
  nlohmann::json groups = nlohmann::json::array();
  for (const RetainedGrowth& g : retainedGrowth(base.python.groups, next.python.groups))
    groups.push_back(retainedGrowthJson(g));
  return {{"garbage_cycles", {{"base", base.python.garbage_cycles}, {"new", next.python.garbage_cycles}}}, {"groups_holding_more", groups}};
}

}  // namespace

std::string signedSize(int64_t v) { return (v < 0 ? "-" : "+") + humanBytes(static_cast<uint64_t>(v < 0 ? -v : v)); }

std::string diffText(const MemoryProfile& base, const MemoryProfile& next, size_t top) {
  std::string out = fmt::format("base  {}\nnew   {}\n", base.source, next.source);
  out += fmt::format("peak heap   {}\n", change(base.peak_heap, next.peak_heap));
  out += fmt::format("peak RSS    {}\n", change(base.peak_rss, next.peak_rss));
  out += fmt::format("leaked      {}\n", change(base.leaked, next.leaked));
  for (const MemoryProfile* p : {&base, &next})
    if (p->listed_limit)
      out += fmt::format("note: {} lists its top {} stacks only; sites below them count as 0 there\n", p->source, p->listed_limit);
  std::vector<SiteChange> sites = siteChanges(base, next);
  auto section = [&](const char* title, auto was, auto now) {
    std::vector<const SiteChange*> rows;
    for (const auto& c : sites)
      if (now(c) != was(c)) rows.push_back(&c);
    std::stable_sort(rows.begin(), rows.end(), [&](const SiteChange* a, const SiteChange* b) {
      return std::llabs(now(*a) - was(*a)) > std::llabs(now(*b) - was(*b));
    });
    out += fmt::format("\n{}{}\n", title, rows.empty() ? ": no change" : ", largest change first:");
    for (size_t i = 0; i < rows.size() && i < top; ++i)
      out += fmt::format("  {:>11}  {:>10} -> {:<10}  {}\n", signedSize(now(*rows[i]) - was(*rows[i])),
                         humanBytes(static_cast<uint64_t>(was(*rows[i]))), humanBytes(static_cast<uint64_t>(now(*rows[i]))),
                         rows[i]->site);
    if (rows.size() > top) out += fmt::format("  ... {} more sites changed\n", rows.size() - top);
  };
  section("Sites at the heap peak", [](const SiteChange& c) { return c.base_peak; }, [](const SiteChange& c) { return c.new_peak; });
  section("Sites leaked at the end", [](const SiteChange& c) { return c.base_leaked; }, [](const SiteChange& c) { return c.new_leaked; });
  if (base.python.available && next.python.available) {
    std::vector<RetainedGrowth> grown = retainedGrowth(base.python.groups, next.python.groups);
    out += fmt::format("\nPython objects (last scans), groups that hold more{}\n", grown.empty() ? ": none" : ", most first:");
    for (size_t i = 0; i < grown.size() && i < top; ++i) out += "  " + growthLine(grown[i]) + "\n";
    if (grown.size() > top) out += fmt::format("  ... {} more groups hold more\n", grown.size() - top);
    out += fmt::format("garbage cycles  {} -> {}\n", groupedNumber(base.python.garbage_cycles), groupedNumber(next.python.garbage_cycles));
  }
  return out;
}

nlohmann::json diffJson(const MemoryProfile& base, const MemoryProfile& next) {
  nlohmann::json sites = nlohmann::json::array();
  std::vector<SiteChange> changes = siteChanges(base, next);
  std::stable_sort(changes.begin(), changes.end(), [](const SiteChange& a, const SiteChange& b) {
    return std::llabs(a.new_peak - a.base_peak) + std::llabs(a.new_leaked - a.base_leaked) >
           std::llabs(b.new_peak - b.base_peak) + std::llabs(b.new_leaked - b.base_leaked);
  });
  for (const auto& c : changes)
    sites.push_back({{"site", c.site}, {"base_peak_bytes", c.base_peak}, {"new_peak_bytes", c.new_peak},
                     {"base_leaked_bytes", c.base_leaked}, {"new_leaked_bytes", c.new_leaked}});
  return {{"base", base.source},
          {"new", next.source},
          {"peak_heap", {{"base", base.peak_heap}, {"new", next.peak_heap}}},
          {"peak_rss", {{"base", base.peak_rss}, {"new", next.peak_rss}}},
          {"leaked", {{"base", base.leaked}, {"new", next.leaked}}},
          {"sites", sites},
          {"python", diffPythonJson(base, next)}};
}

std::string diffFolded(const MemoryProfile& base, const MemoryProfile& next, const std::string& metric) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> lines;
  bool leaked = metric == "leaked";
  for (const auto& s : base.stacks) lines[foldedFrames(s.frames)].first += leaked ? s.leaked : s.peak;
  for (const auto& s : next.stacks) lines[foldedFrames(s.frames)].second += leaked ? s.leaked : s.peak;
  std::string out;
  for (const auto& [stack, v] : lines)
    if (v.first || v.second) out += fmt::format("{} {} {}\n", stack, v.first, v.second);
  return out;
}

}  // namespace tidemark
