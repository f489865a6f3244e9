#include "gate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "error.h"
#include "flamegraph.h"
#include "replay.h"
#include "summary_report.h"
#include "symbolizer.h"
#include "tidemark/trace_format.h"
#include "trace_reader.h"
#include "units.h"

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

std::string folded(const std::vector<std::string>& frames) {
  std::string s;
  for (const std::string& f : frames) {
    std::string name = f;
    std::replace(name.begin(), name.end(), ';', ':');
    std::replace(name.begin(), name.end(), '\n', ' ');
    s += (s.empty() ? "" : ";") + name;
  }
  return s;
}

std::string percent(double v) { return fmt::format("{:+.1f}%", v); }

}  // namespace

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
      auto& s = stacks[folded(frames)];
      s.frames = frames;
      s.site = leafSite(g.at("frames"));
      s.peak = g.at("peak_bytes").get<uint64_t>();
    }
    for (const auto& g : j.at("leaks").at("stacks")) {
      std::vector<std::string> frames = rootFirst(g.at("frames"));
      auto& s = stacks[folded(frames)];
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
    TraceReader reader(path);
    ReplayResult run = replay(reader);
    Symbolizer symbols(run.module_maps);
    SummaryOptions options;
    options.top = 1'000'000'000;  // every stack
    Summary s = summarize(run, symbols, options);
    s.trace_path = path;
    s.trace_bytes = reader.fileSize();
    nlohmann::json j = summaryJson(s);
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

bool GateResult::passed() const {
  return std::all_of(rules.begin(), rules.end(), [](const GateRule& r) { return r.passed; });
}

GateResult runGate(const MemoryProfile& run, const MemoryProfile* base, const GateOptions& o) {
  GateResult r;
  bool baseline_rules = o.max_peak_increase || o.max_leaked_increase;
  if (baseline_rules && !base) throw Error("--max-peak-increase and --max-leaked-increase need --baseline BASE");
  if (base && !baseline_rules) throw Error("--baseline needs --max-peak-increase or --max-leaked-increase");
  if (!o.max_peak && !o.max_leaked && !o.no_unbounded_growth && !baseline_rules)
    throw Error("no rule given (--max-peak, --max-leaked, --no-unbounded-growth, --baseline with --max-peak-increase or "
                "--max-leaked-increase)");
  // A run that died did not finish its work: its peak and its leaks are not its real ones.
  {
    GateRule rule{"ended", run.death == "none", 0, 0, ""};
    rule.text = rule.passed ? fmt::format("the run ended: {}", run.end)
                            : fmt::format("the run did not end normally ({}): {}", run.death, run.end);
    r.rules.push_back(rule);
  }
  if (o.max_peak) {
    GateRule rule{"max-peak", run.peak_heap <= *o.max_peak, static_cast<double>(run.peak_heap), static_cast<double>(*o.max_peak), ""};
    rule.text = fmt::format("peak heap {} ({} bytes) {} {} (--max-peak)", humanBytes(run.peak_heap), groupedNumber(run.peak_heap),
                            rule.passed ? "<=" : ">", humanBytes(*o.max_peak));
    r.rules.push_back(rule);
  }
  if (o.max_leaked) {
    GateRule rule{"max-leaked", run.leaked <= *o.max_leaked, static_cast<double>(run.leaked), static_cast<double>(*o.max_leaked), ""};
    rule.text = fmt::format("leaked at exit {} ({} bytes) {} {} (--max-leaked)", humanBytes(run.leaked), groupedNumber(run.leaked),
                            rule.passed ? "<=" : ">", humanBytes(*o.max_leaked));
    r.rules.push_back(rule);
  }
  if (o.no_unbounded_growth) {
    if (!run.growth_available)
      throw Error(fmt::format("{}: --no-unbounded-growth needs per-site growth, which a trace recorded with --mode "
                              "aggregate does not have", run.source));
    GateRule rule{"no-unbounded-growth", run.unbounded.empty(), static_cast<double>(run.unbounded.size()), 0, ""};
    if (rule.passed)
      rule.text = "no site grows without bound (--no-unbounded-growth)";
    else {
      std::string names;
      for (const std::string& n : run.unbounded) names += (names.empty() ? "" : ", ") + n;
      rule.text = fmt::format("{} site{} grow{} without bound: {} (--no-unbounded-growth)", run.unbounded.size(),
                              run.unbounded.size() == 1 ? "" : "s", run.unbounded.size() == 1 ? "s" : "", names);
    }
    r.rules.push_back(rule);
  }
  auto increase = [&](const char* name, const char* what, uint64_t now, uint64_t was, double pct) {
    double allowed = static_cast<double>(was) * (1 + pct / 100);
    GateRule rule{name, static_cast<double>(now) <= allowed, static_cast<double>(now), allowed, ""};
    std::string change = was ? percent(100.0 * (static_cast<double>(now) - static_cast<double>(was)) / static_cast<double>(was))
                             : now ? "up from nothing" : "+0.0%";
    rule.text = fmt::format("{} {} ({} bytes) against the baseline's {} ({} bytes): {}, at most {} allowed (--{} {})", what,
                            humanBytes(now), groupedNumber(now), humanBytes(was), groupedNumber(was), change,
                            percent(pct), name, pct);
    r.rules.push_back(rule);
  };
  if (o.max_peak_increase) increase("max-peak-increase", "peak heap", run.peak_heap, base->peak_heap, *o.max_peak_increase);
  if (o.max_leaked_increase) increase("max-leaked-increase", "leaked at exit", run.leaked, base->leaked, *o.max_leaked_increase);
  return r;
}

std::string gateText(const GateResult& r) {
  std::string out;
  size_t broken = 0;
  for (const GateRule& rule : r.rules) {
    out += fmt::format("{}  {}\n", rule.passed ? "PASS" : "FAIL", rule.text);
    broken += !rule.passed;
  }
  out += broken ? fmt::format("gate: {} of {} rules broken\n", broken, r.rules.size())
                : fmt::format("gate: all {} rules hold\n", r.rules.size());
  return out;
}

nlohmann::json gateJson(const GateResult& r, const std::string& trace) {
  nlohmann::json rules = nlohmann::json::array();
  for (const GateRule& rule : r.rules)
    rules.push_back({{"rule", rule.name}, {"passed", rule.passed}, {"measured", rule.measured}, {"limit", rule.limit}, {"text", rule.text}});
  return {{"trace", trace}, {"passed", r.passed()}, {"rules", rules}};
}

std::string gateJunit(const GateResult& r, const std::string& trace) {
  size_t failures = 0;
  for (const GateRule& rule : r.rules) failures += !rule.passed;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"tidemark gate\" tests=\"{}\" failures=\"{}\">\n", r.rules.size(), failures);
  out += fmt::format("  <testsuite name=\"tidemark gate {}\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n", escapeXml(trace),
                     r.rules.size(), failures);
  for (const GateRule& rule : r.rules) {
    out += fmt::format("    <testcase classname=\"tidemark.gate\" name=\"{}\">\n", escapeXml(rule.name));
    if (!rule.passed) out += fmt::format("      <failure message=\"{}\"/>\n", escapeXml(rule.text));
    out += fmt::format("      <system-out>{}</system-out>\n    </testcase>\n", escapeXml(rule.text));
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

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

std::string signedSize(int64_t v) {
  return (v < 0 ? "-" : "+") + humanBytes(static_cast<uint64_t>(v < 0 ? -v : v));
}

std::string change(uint64_t was, uint64_t now) {
  std::string s = fmt::format("{} -> {}", humanBytes(was), humanBytes(now));
  if (was) s += fmt::format(" ({})", percent(100.0 * (static_cast<double>(now) - static_cast<double>(was)) / static_cast<double>(was)));
  return s;
}

}  // namespace

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
          {"sites", sites}};
}

std::string diffFolded(const MemoryProfile& base, const MemoryProfile& next, const std::string& metric) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> lines;
  bool leaked = metric == "leaked";
  for (const auto& s : base.stacks) lines[folded(s.frames)].first += leaked ? s.leaked : s.peak;
  for (const auto& s : next.stacks) lines[folded(s.frames)].second += leaked ? s.leaked : s.peak;
  std::string out;
  for (const auto& [stack, v] : lines)
    if (v.first || v.second) out += fmt::format("{} {} {}\n", stack, v.first, v.second);
  return out;
}

std::string recommend(const Summary& s) {
  const ReplayResult& r = *s.run;
  constexpr uint64_t kMi = 1 << 20, kStep = 16 * kMi;
  auto roundUp = [&](double bytes) { return static_cast<uint64_t>(std::ceil(bytes / kStep)) * kStep; };
  const ProcessTrend& p = s.growth.process;
  double peak = static_cast<double>(r.rss_peak);
  std::string why;
  double request = peak * 1.15, limit = peak * 1.5;
  const Death& d = s.death;
  bool oom = d.kind == Death::Kind::OomKilled || d.kind == Death::Kind::OomLikely;
  bool growing = p.available && p.rss.trend == Trend::Unbounded && p.rss.rate_per_s > 0;
  double duration_s = static_cast<double>(r.duration_ns) / 1e9;
  if (oom && d.limit) {
    // It needed more than it had: start from the limit it died at.
    double floor = static_cast<double>(std::max<uint64_t>(d.limit, r.rss_peak));
    request = floor * 1.5;
    limit = floor * 2;
    why = fmt::format("OOM-killed at {} with RSS {} of limit {}: it needs more than {}; request = 1.5 x, limit = 2 x that",
                      humanDuration(d.time_ns), humanBytes(d.rss), humanBytes(d.limit), humanBytes(d.limit));
    if (growing)
      why += fmt::format("; but RSS grew {}/h until it died, so no limit is safe until that growth is fixed",
                         humanBytes(static_cast<uint64_t>(p.rss.rate_per_s * 3600)));
  } else if (growing) {
    double more = p.rss.rate_per_s * duration_s;  // room for as long a run again
    limit = (peak + more) * 1.25;
    why = fmt::format("peak RSS {}, still growing {}/h at the end: the limit leaves room for as long a run again (+{}) "
                      "and 25% over it; the growth itself is the finding to fix",
                      humanBytes(r.rss_peak), humanBytes(static_cast<uint64_t>(p.rss.rate_per_s * 3600)),
                      humanBytes(static_cast<uint64_t>(more)));
  } else {
    why = fmt::format("peak RSS {} at {}, {}: request = peak + 15%, limit = peak + 50% for safety", humanBytes(r.rss_peak),
                      humanDuration(r.rss_peak_time_ns),
                      p.available ? fmt::format("RSS {} at the end", trendName(p.rss.trend)) : std::string("no RSS trend"));
  }
  uint64_t req = std::max(roundUp(request), kStep), lim = std::max(roundUp(limit), req);
  return fmt::format("# {}; rounded up to 16 MiB\nresources:\n  requests:\n    memory: \"{}Mi\"\n  limits:\n    memory: \"{}Mi\"\n",
                     why, req / kMi, lim / kMi);
}

}  // namespace tidemark
