#include "baseline_report.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "diff.h"
#include "flamegraph.h"
#include "html_report.h"
#include "text_layout.h"
#include "units.h"

namespace tidemark {

namespace {

constexpr size_t kSiteRows = 20;

std::string e(const std::string& s) { return escapeXml(s); }

std::string figureRow(const char* what, uint64_t base, uint64_t now) {
  int64_t change = static_cast<int64_t>(now) - static_cast<int64_t>(base);
  std::string share = base ? " (" + signedPercent(100.0 * static_cast<double>(change) / static_cast<double>(base)) + ")" : "";
  return fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n {}\">{}{}</td></tr>\n", what,
                     e(humanBytes(base)), e(humanBytes(now)), change > 0 ? "grew" : change < 0 ? "shrank" : "", e(signedSize(change)), e(share));
}

// The new run's stacks at its peak, each with the baseline's bytes of the same stack (by function
// names: lines move between two builds, functions rarely do).
std::vector<FlameStack> differentialStacks(const MemoryProfile& base, const MemoryProfile& now) {
  std::map<std::string, FlameStack> by_path;
  auto add = [&](const MemoryProfile::Stack& s, bool is_base) {
    FlameStack& f = by_path[foldedFrames(s.frames)];
    if (f.frames.empty())
      for (const std::string& name : s.frames) f.frames.push_back({name, ""});
    (is_base ? f.base : f.value) += s.peak;
  };
  for (const auto& s : base.stacks) add(s, true);
  for (const auto& s : now.stacks) add(s, false);
  std::vector<FlameStack> out;
  for (auto& [path, f] : by_path) out.push_back(std::move(f));
  return out;
}

// Heap and RSS of both runs over wall time from each one's start, on one axis.
std::string bothTimelines(const ComparedRun& base, const ComparedRun& now) {
  if (base.timeline.size() < 2 || now.timeline.size() < 2)
    return "<p>The timelines side by side need both runs as traces: " +
           e(base.timeline.size() < 2 ? base.profile.source : now.profile.source) + " has no timeline.</p>\n";
  const int W = 1100, H = 300, L = 70, B = kTimelineBottom, T = 34;
  double t_end = static_cast<double>(std::max({base.duration_ns, now.duration_ns, base.timeline.back().time_ns, now.timeline.back().time_ns}));
  double y_max = 1;
  for (const ComparedRun* run : {&base, &now})
    for (const TimelineSample& p : run->timeline) y_max = std::max({y_max, static_cast<double>(p.rss), static_cast<double>(p.heap)});
  y_max *= 1.05;
  auto X = [&](double t) { return L + (W - L - 10) * t / t_end; };
  auto Y = [&](double v) { return T + (H - T - B) * (1 - v / y_max); };
  std::string out = fmt::format("<svg id=\"baseline-timeline\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                                "xmlns=\"http://www.w3.org/2000/svg\">\n",
                                W, H);
  out += timeAxes(W, H, L, y_max, t_end, Y);
  struct Series {
    const ComparedRun* run;
    bool heap;
    const char *id, *colour, *dash, *label;
  };
  const Series series[] = {{&base, false, "baseline-rss", "#1f77b4", "5 4", "baseline RSS"},
                           {&base, true, "baseline-heap", "#d62728", "5 4", "baseline heap"},
                           {&now, false, "new-rss", "#1f77b4", "", "RSS"},
                           {&now, true, "new-heap", "#d62728", "", "heap"}};
  std::string legend = "<g class=\"legend\">";
  double lx = L;
  for (const Series& s : series) {
    const auto& tl = s.run->timeline;
    size_t step = std::max<size_t>(1, tl.size() / 1500);
    std::string points;
    for (size_t i = 0; i < tl.size(); i += step)
      points += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(tl[i].time_ns)), Y(static_cast<double>(s.heap ? tl[i].heap : tl[i].rss)));
    out += fmt::format("<polyline id=\"{}\" class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{}/>\n", s.id,
                       points, s.colour, *s.dash ? fmt::format(" stroke-dasharray=\"{}\" stroke-opacity=\"0.7\"", s.dash) : "");
    legend += fmt::format("<line x1=\"{0:.0f}\" x2=\"{1:.0f}\" y1=\"14\" y2=\"14\" stroke=\"{2}\" stroke-width=\"3\"{3}/><text "
                          "class=\"legend-text\" x=\"{4:.0f}\" y=\"18\">{5}</text>",
                          lx, lx + 18, s.colour, *s.dash ? fmt::format(" stroke-dasharray=\"{}\"", s.dash) : "", lx + 22, s.label);
    lx += 22 + 7.0 * std::string_view(s.label).size() + 18;
  }
  return out + legend + "</g>\n</svg>\n";
}

}  // namespace

std::string baselineHtml(const ComparedRun& base, const ComparedRun& now) {
  const MemoryProfile &b = base.profile, &n = now.profile;
  std::string out = "<h2 id=\"baseline-section\">Compared with the baseline</h2>\n<p>" +
                    e(fmt::format("baseline {}; this run {}", b.source, n.source)) + "</p>\n";
  out += "<table id=\"baseline-figures\"><tr><th></th><th>baseline</th><th>this run</th><th>change</th></tr>\n";
  out += figureRow("peak heap", b.peak_heap, n.peak_heap) + figureRow("peak RSS", b.peak_rss, n.peak_rss) +
         figureRow("leaked", b.leaked, n.leaked) + "</table>\n";
  for (const MemoryProfile* p : {&b, &n})
    if (p->listed_limit)
      out += "<p class=\"note\">" + e(fmt::format("{} lists its top {} stacks only: sites below them count as 0 there", p->source, p->listed_limit)) +
             "</p>\n";

  nlohmann::json sites = diffJson(b, n)["sites"];
  out += "<h3>Sites, largest change first</h3>\n<table id=\"baseline-sites\"><tr><th>at the peak</th><th>baseline</th><th>this run</th>"
         "<th>leaked</th><th>site</th></tr>\n";
  size_t rows = 0;
  for (const auto& s : sites) {
    int64_t base_peak = s["base_peak_bytes"], new_peak = s["new_peak_bytes"], base_leaked = s["base_leaked_bytes"],
            new_leaked = s["new_leaked_bytes"];
    if (base_peak == new_peak && base_leaked == new_leaked) continue;
    if (rows++ == kSiteRows) break;
    std::string site = s["site"];
    out += fmt::format("<tr data-peak-change=\"{}\"><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td title=\"{}\">{}</td></tr>\n",
                       new_peak - base_peak, e(signedSize(new_peak - base_peak)), e(humanBytes(static_cast<uint64_t>(base_peak))),
                       e(humanBytes(static_cast<uint64_t>(new_peak))), e(signedSize(new_leaked - base_leaked)), e(site), e(shortName(site)));
  }
  out += "</table>\n";
  if (!rows) out += "<p>No site changed.</p>\n";

  FlameOptions o;
  o.title = "change from the baseline";
  o.metric = "bytes live at the peak: width this run, colour the change (red grew, blue shrank)";
  o.differential = true;
  out += "<h3>Differential flamegraph</h3>\n<div id=\"flame-baseline\">" + flameDataHtml(differentialStacks(b, n), o) + "</div>\n";
  out += "<h3>Both runs over time</h3>\n" + bothTimelines(base, now);
  return out;
}

}  // namespace tidemark
