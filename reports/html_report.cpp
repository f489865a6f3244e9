#include "html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "diagnosis.h"
#include "python_report.h"
#include "range_view.h"
#include "summary_report.h"
#include "text_layout.h"
#include "units.h"

namespace tidemark {

std::vector<FlameStack> flameStacks(const std::vector<StackGroup>& groups, const std::string& metric) {
  std::vector<FlameStack> stacks;
  // A frame's "file:line", made once for every group that has it (a Python trace's 160,000 groups
  // made 1.2 million copies of 50,000 texts): by the file's shared text and the line.
  struct ByText {
    size_t operator()(const std::pair<const std::string*, int>& k) const {
      return std::hash<const void*>()(k.first) ^ (static_cast<size_t>(k.second) * 0x9e3779b97f4a7c15ull);
    }
  };
  std::unordered_map<std::pair<const std::string*, int>, FrameText, ByText> details;
  auto detail = [&](const Frame& f) -> FrameText {
    if (f.file.empty()) return f.module;
    auto [at, fresh] = details.try_emplace({&f.file.str(), f.line});
    if (fresh) at->second = FrameText(fmt::format("{}:{}", f.file, f.line));
    return at->second;
  };
  for (const StackGroup& g : groups) {
    uint64_t value = metric == "peak"        ? g.peak_bytes
                     : metric == "leaked"    ? (g.heldForLife() ? 0 : g.live_bytes)
                     : metric == "allocated" ? g.allocated_bytes
                                             : g.temporary_bytes;
    if (!value) continue;
    FlameStack fs;
    fs.value = value;
    fs.frames.reserve(g.frames.size());
    for (auto it = g.frames.rbegin(); it != g.frames.rend(); ++it)
      fs.frames.push_back({it->function, detail(*it)});
    stacks.push_back(std::move(fs));
  }
  return stacks;
}

std::vector<ReportFlames> reportFlames(const TraceAnalysis& analysis, const std::vector<StackGroup>& groups) {
  auto of = [](std::string thread, const std::vector<StackGroup>& g) {
    return ReportFlames{.thread = std::move(thread),
                        .peak = flameStacks(g, "peak"),
                        .leaked = flameStacks(g, "leaked"),
                        .allocated = flameStacks(g, "allocated"),
                        .temporary = flameStacks(g, "temporary")};
  };
  std::vector<ReportFlames> out;
  out.push_back(of("", groups));  // moved (a braced list would copy every stack of the four)
  const std::vector<ThreadSummary>& threads = analysis.summary().threads;
  for (size_t i = 0; i < threads.size() && i < kReportThreads; ++i)
    out.push_back(of(threadLabel(threads[i]), threadShare(analysis.run(), groups, threads[i].index)));
  return out;
}

namespace {

std::string e(const std::string& s) { return escapeXml(s); }

constexpr size_t kThreadRows = 20;

// The threads that allocated, and the choice of whose flamegraphs to show (when there are several).
std::string threadsHtml(const std::vector<ThreadSummary>& threads, const std::vector<ReportFlames>& flames) {
  if (flames.size() < 2) return "";
  std::string out = "<p>Threads: <select id=\"flame-thread\">";
  for (size_t i = 0; i < flames.size(); ++i)
    out += fmt::format("<option value=\"{}\">{}</option>", i, e(flames[i].thread.empty() ? "every thread" : flames[i].thread));
  out += fmt::format("</select> (the {} that allocated most of {}; a block counts for the thread that allocated it, "
                     "wherever it was freed)</p>\n", flames.size() - 1, threads.size());
  out += "<table id=\"threads\"><tr><th>thread</th><th>allocations</th><th>allocated</th><th>at the heap peak</th><th>at the end</th></tr>\n";
  for (size_t i = 0; i < threads.size() && i < kThreadRows; ++i) {
    const ThreadSummary& t = threads[i];
    out += fmt::format("<tr data-tid=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                       t.tid, e(threadLabel(t)), groupedNumber(t.allocations), humanBytes(t.allocated_bytes), humanBytes(t.peak_bytes),
                       humanBytes(t.live_bytes));
  }
  out += "</table>\n";
  if (threads.size() > kThreadRows) out += fmt::format("<p>and {} threads more (summary --json lists every one)</p>\n", threads.size() - kThreadRows);
  return out;
}

// The timeline: RSS and heap as polylines over at most 1,500 points, the heap peak marked, and
// one hover target per simulated date (thinned to at most 400).
}  // namespace

namespace {

// A step of 1, 2 or 5 times a power of ten that cuts `span` into at most `most` parts.
double niceStep(double span, int most) {
  double raw = span / most, power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

}  // namespace

std::string timeAxes(int width, int height, int left, double y_max, double t_end_ns, const std::function<double(double)>& y) {
  // Sizes at round steps on the left, times at round steps along the bottom, with grid lines.
  std::string out = "<g class=\"axes\">";
  const int bottom = height - kTimelineBottom;
  // Round in the unit the labels use (1, 2 or 5 MiB steps, not 190.7 MiB).
  const double unit = y_max >= 0x1p30 ? 0x1p30 : y_max >= 0x1p20 ? 0x1p20 : y_max >= 0x1p10 ? 0x1p10 : 1;
  for (double v = 0, step = niceStep(y_max / unit, 5) * unit; v <= y_max; v += step)
    out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1f}\" "
                       "class=\"axis\" text-anchor=\"end\">{}</text>\n",
                       left, width - 10, y(v), y(v), left - 4, y(v) + 4, humanBytes(static_cast<uint64_t>(v)));
  const double span_s = std::max(t_end_ns, 1.0) / 1e9;
  // Past two minutes, steps a clock reads: minutes, quarter hours, hours.
  double step_s = niceStep(span_s, 10);
  if (span_s >= 120)
    for (double s : {60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0})
      if (span_s / s <= 10) {
        step_s = s;
        break;
      }
  auto x = [&](double t_s) { return left + (width - left - 10) * t_s / span_s; };
  // A label at the right edge ends at its tick: centred there, it was cut by the chart's edge.
  for (double t = 0; t <= span_s * (1 + 1e-9); t += step_s)
    out += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" class=\"tick\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                       "class=\"axis time-tick\" text-anchor=\"{5}\">{4}</text>\n",
                       x(t), bottom, bottom + 4, bottom + 15, t == 0 ? "0" : escapeXml(humanDuration(static_cast<uint64_t>(t * 1e9 + 0.5))),
                       x(t) > width - 40 ? "end" : "middle");
  out += fmt::format("<text x=\"2\" y=\"{}\" class=\"axis\">wall time</text>", bottom + 15);
  return out + "</g>\n";
}

std::string dateAxis(const std::vector<Marker>& markers, int height, const std::function<double(double)>& x) {
  // Simulated dates under the time axis: a tick at the first marked session of each month, or of
  // each quarter or year when months would crowd.
  std::vector<const Marker*> firsts;  // first date of each month
  for (const Marker& m : markers)
    if (m.kind == 1 && m.text.size() >= 7 && (firsts.empty() || firsts.back()->text.compare(0, 7, m.text, 0, 7) != 0))
      firsts.push_back(&m);
  if (firsts.empty()) return "";
  size_t every = firsts.size() <= 12 ? 1 : firsts.size() <= 36 ? 3 : firsts.size() <= 120 ? 12 : 24;
  const int row = height - kTimelineBottom + 30;
  std::string out = "<g class=\"date-axis\">";
  // A label needs 60 units of room (a fast start must not pile months up), the first one clear of
  // the axis' title in the margin.
  double last_x = x(0) - 30;
  for (size_t i = 0; i < firsts.size(); ++i) {
    const std::string& d = firsts[i]->text;
    int month = std::atoi(d.substr(5, 2).c_str());
    if (every > 1 && (month - 1) % static_cast<int>(std::min<size_t>(every, 12)) != 0) continue;
    if (every == 24 && std::atoi(d.substr(0, 4).c_str()) % 2) continue;
    double at = x(static_cast<double>(firsts[i]->time_ns));
    if (at - last_x < 60) continue;
    last_x = at;
    std::string label = every >= 12 ? d.substr(0, 4) : d.substr(0, 7);
    out += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" class=\"tick\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                       "class=\"axis date-tick\" text-anchor=\"middle\">{4}</text>\n",
                       at, row - 10, row - 6, row + 4, escapeXml(label));
  }
  out += fmt::format("<text x=\"2\" y=\"{}\" class=\"axis\">simulated</text>", row + 4);
  return out + "</g>\n";
}

std::string stackedAreaSvg(const std::string& id, const std::vector<uint64_t>& times_ns, const std::vector<StackedSeries>& series) {
  if (times_ns.size() < 2 || series.empty()) return "";
  static const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  const int W = 1100, H = 280, L = 70, T = 10;
  const size_t n = times_ns.size();
  std::vector<uint64_t> total(n, 0);
  for (const StackedSeries& s : series)
    for (size_t k = 0; k < n && k < s.values.size(); ++k) total[k] += s.values[k];
  double y_max = std::max<double>(1, static_cast<double>(*std::max_element(total.begin(), total.end()))) * 1.05;
  double t_end = static_cast<double>(std::max<uint64_t>(times_ns.back(), 1));
  auto X = [&](double t) { return L + (W - L - 10) * t / t_end; };
  auto Y = [&](double v) { return T + (H - T - kTimelineBottom) * (1 - v / y_max); };
  std::string out = fmt::format("<svg id=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">\n",
                                e(id), W, H, W, H);
  out += timeAxes(W, H, L, y_max, t_end, Y);
  std::vector<uint64_t> below(n, 0);
  std::string legend;
  for (size_t s = 0; s < series.size(); ++s) {
    auto value = [&](size_t k) { return k < series[s].values.size() ? series[s].values[k] : 0; };
    std::string points;
    for (size_t k = 0; k < n; ++k)
      points += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(times_ns[k])), Y(static_cast<double>(below[k] + value(k))));
    for (size_t k = n; k-- > 0;) points += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(times_ns[k])), Y(static_cast<double>(below[k])));
    for (size_t k = 0; k < n; ++k) below[k] += value(k);
    const char* colour = kColours[s % std::size(kColours)];
    out += fmt::format("<polygon class=\"area\" points=\"{}\" fill=\"{}\" fill-opacity=\"0.75\"><title>{}</title></polygon>\n", points,
                       colour, e(series[s].name));
    legend += fmt::format("<span class=\"swatch\" style=\"background:{}\"></span> {} &nbsp; ", colour, e(series[s].name));
  }
  return out + "</svg>\n<p class=\"legend\">" + legend + "</p>\n";
}

namespace {

// A site in a legend: its function, and where it is when its file is known (a Python program's
// sites are mostly `<module>`, told apart by their lines).
std::string legendName(const Frame& f) {
  const std::string where = fileAndLine(f);
  return where.empty() ? shortName(f.function) : fmt::format("{} ({})", shortName(f.function), where);
}

}  // namespace

std::string sitesOverTimeHtml(const ReplayResult& r, const std::vector<StackGroup>& groups) {
  constexpr size_t kSites = 8, kPoints = 300;
  if (!r.has_series || r.series.empty()) return "";
  std::vector<const StackGroup*> top;
  for (const StackGroup& g : groups)
    if (g.peak_bytes) top.push_back(&g);
  std::sort(top.begin(), top.end(), [](const StackGroup* a, const StackGroup* b) { return a->peak_bytes > b->peak_bytes; });
  if (top.size() > kSites) top.resize(kSites);
  const std::vector<uint32_t> at = evenBins(r.series.bins(), kPoints);
  std::vector<uint64_t> times{0};
  for (uint32_t b : at) times.push_back(std::min<uint64_t>((uint64_t{b} + 1) * r.series.binWidthNs(), r.duration_ns));
  std::vector<StackedSeries> series;
  std::vector<double> last, max;
  for (const StackGroup* g : top) {
    std::vector<uint32_t> ids(g->stacks.begin(), g->stacks.end());
    r.series.sum(ids, last, max);
    StackedSeries s{g->frames.empty() ? "?" : legendName(siteFrame(g->frames)), {0}};
    for (uint32_t b : at) s.values.push_back(b < last.size() ? static_cast<uint64_t>(last[b]) : 0);
    series.push_back(std::move(s));
  }
  return "<h3 id=\"sites-over-time\">The sites that held most at the peak, over time</h3>\n" + stackedAreaSvg("sites-timeline", times, series);
}

namespace {

std::string timelineSvg(const ReplayResult& r, const Summary& s) {
  const GrowthFindings& g = s.growth;
  const Death& death = s.death;
  const auto& tl = r.timeline;
  const int W = 1100, H = 330, L = 70, B = kTimelineBottom, T = 34;
  if (tl.size() < 2)
    return fmt::format("<svg id=\"timeline\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" xmlns=\"http://www.w3.org/2000/svg\">"
                       "<text x=\"10\" y=\"20\">no timeline samples in this trace</text></svg>\n",
                       W, H);
  double t_end = static_cast<double>(std::max<uint64_t>(r.duration_ns, tl.back().time_ns));
  // data-left, data-right and data-t-end map a point of the plot to a time (the range selection).
  std::string out = fmt::format(
      "<svg id=\"timeline\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" xmlns=\"http://www.w3.org/2000/svg\" "
      "data-left=\"{2}\" data-right=\"{3}\" data-t-end=\"{4:.0f}\">\n",
      W, H, L, W - 10, t_end);
  double y_max = 1;
  for (const TimelineSample& p : tl) y_max = std::max({y_max, static_cast<double>(p.rss), static_cast<double>(p.heap)});
  y_max = std::max(y_max, static_cast<double>(r.heap_peak)) * 1.05;
  auto X = [&](double t) { return L + (W - L - 10) * t / t_end; };
  auto Y = [&](double v) { return T + (H - T - B) * (1 - v / y_max); };
  out += timeAxes(W, H, L, y_max, t_end, Y);
  out += dateAxis(r.markers, H, X);
  size_t step = std::max<size_t>(1, tl.size() / 1500);
  std::string rss, heap;
  for (size_t i = 0; i < tl.size(); i += step) {
    rss += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(tl[i].time_ns)), Y(static_cast<double>(tl[i].rss)));
    heap += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(tl[i].time_ns)), Y(static_cast<double>(tl[i].heap)));
  }
  out += fmt::format("<polyline id=\"rss-line\" class=\"series\" points=\"{}\" fill=\"none\" stroke=\"#1f77b4\" "
                     "stroke-width=\"1.5\"/>\n",
                     rss);
  out += fmt::format(
      "<polyline id=\"heap-line\" class=\"series\" points=\"{}\" fill=\"none\" stroke=\"#d62728\" "
      "stroke-width=\"1.5\"/>\n",
      heap);
  // The labels placed so far (right end, width, baseline): a label that would cover one goes up a
  // line at a time (down, once at the top). Plateaus of one level end at the same place: a pandas
  // script's three caches of 9.6 MiB were three labels on one spot.
  struct PlacedLabel {
    double right, width, y;
  };
  std::vector<PlacedLabel> labels;
  constexpr double kLabelCharWidth = 8;  // svg .label is 11px: "<module>" measured 64 wide in Chromium
  auto placeLabel = [&](double right, double width, double wanted) {
    constexpr double kLine = 14;  // a label box measured 13.3 high
    const double top = T + 10, bottom = H - B - 2;
    auto clear = [&](double y) {
      return std::none_of(labels.begin(), labels.end(), [&](const PlacedLabel& l) {
        return std::abs(l.y - y) < kLine && right - width < l.right && l.right - l.width < right;
      });
    };
    double y = std::clamp(wanted, top, bottom);
    for (int step = 0; step < 40; ++step) {
      const double up = y - step * kLine, down = y + step * kLine;
      if (up >= top && clear(up)) return labels.push_back({right, width, up}), up;
      if (step && down <= bottom && clear(down)) return labels.push_back({right, width, down}), down;
    }
    return labels.push_back({right, width, y}), y;
  };
  double px = X(static_cast<double>(r.heap_peak_time_ns)), py = Y(static_cast<double>(r.heap_peak));
  // The peak's label is placed first: the findings' labels keep clear of it.
  const std::string peak_label = "peak heap " + humanBytes(r.heap_peak);
  const double peak_label_width = kLabelCharWidth * static_cast<double>(peak_label.size());
  const bool peak_label_left = px > W / 2;
  const double peak_label_x = px + (peak_label_left ? -8 : 8), peak_label_y = std::max<double>(T + 10, py - 8);
  labels.push_back({peak_label_left ? peak_label_x : peak_label_x + peak_label_width, peak_label_width, peak_label_y});
  out += fmt::format(
      "<circle id=\"peak-mark\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"#d62728\"><title>heap peak {} at "
      "{}</title></circle><text id=\"peak-label\" class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\" "
      "text-anchor=\"{}\">{}</text>\n",
      px, py, e(humanBytes(r.heap_peak)), e(humanDuration(r.heap_peak_time_ns)), peak_label_x, peak_label_y,
      peak_label_left ? "end" : "start", e(peak_label));
  if (g.window_end_ns && g.window_end_ns < r.duration_ns)
    out += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#999\" stroke-dasharray=\"4 3\">"
        "<title>findings window ends (teardown after)</title></line>\n",
        X(static_cast<double>(g.window_end_ns)), T, H - B);
  // Simulation dates: thin vertical hover bands.
  std::vector<const Marker*> dates;
  for (const Marker& m : r.markers)
    if (m.kind == 1) dates.push_back(&m);
  size_t every = std::max<size_t>(1, dates.size() / 400);
  for (size_t i = 0; i < dates.size(); i += every) {
    double x0 = X(static_cast<double>(dates[i]->time_ns));
    double x1 = i + every < dates.size() ? X(static_cast<double>(dates[i + every]->time_ns)) : W - 10.0;
    out += fmt::format(
        "<rect class=\"date\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"transparent\">"
        "<title>simulated {} (at {})</title></rect>\n",
        x0, T, std::max(1.0, x1 - x0), H - T - B, e(dates[i]->text), e(humanDuration(dates[i]->time_ns)));
  }
  // Growth findings, each as one group of class "finding" drawn in the site's own bytes: the
  // fitted tail line of an unbounded site, the level of a plateau from when it was reached, the
  // falls of a periodic site as ticks.
  std::set<Trend> drawn;  // the kinds of finding drawn, for the legend
  for (const SiteTrend& t : g.sites) {
    const TrendVerdict& v = t.verdict;
    std::string name = e(siteName(siteFrame(t.frames)));
    std::string body;
    const char* colour = "#ff7f0e";
    if (v.trend == Trend::Unbounded && v.rate_per_s > 0) {
      double end_s = static_cast<double>(g.window_end_ns ? g.window_end_ns : r.duration_ns) / 1e9;
      double from_s = end_s * (1 - TrendThresholds::kTailShare);
      double v1 = static_cast<double>(t.final_bytes), v0 = std::max(0.0, v1 - v.rate_per_s * (end_s - from_s));
      body = fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"3\" "
                         "stroke-dasharray=\"6 3\"/>",
                         X(from_s * 1e9), Y(v0), X(end_s * 1e9), Y(v1), colour);
    } else if (v.trend == Trend::Plateau) {
      colour = "#2ca02c";
      double end_s = static_cast<double>(g.window_end_ns ? g.window_end_ns : r.duration_ns) / 1e9;
      body = fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"3\" "
                         "stroke-dasharray=\"2 3\"/>",
                         X(v.level_reached_s * 1e9), Y(v.level), X(end_s * 1e9), Y(v.level), colour);
    } else if (v.trend == Trend::Periodic) {
      colour = "#9467bd";
      for (double f : v.fall_times)
        body += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"/>",
                            X(f * 1e9), H - B - 12, H - B, colour);
    } else {
      continue;
    }
    std::string detail = v.trend == Trend::Unbounded ? siteGrowthRate(t, t.rate_per_day > 0 ? 2 : 0)
                         : v.trend == Trend::Plateau ? fmt::format("level {}", humanBytes(static_cast<uint64_t>(v.level)))
                                                     : fmt::format("{} cycles", v.cycles);
    // Named where the line ends (periodic ticks: at the first fall), in the line's colour.
    double label_x = v.trend == Trend::Periodic && !v.fall_times.empty() ? X(v.fall_times.front() * 1e9)
                     : X(static_cast<double>(g.window_end_ns ? g.window_end_ns : r.duration_ns));
    double label_y = v.trend == Trend::Unbounded ? Y(static_cast<double>(t.final_bytes)) - 6
                     : v.trend == Trend::Plateau ? Y(v.level) - 6
                                                 : H - B - 16;
    const std::string label = clipText(shortName(siteFrame(t.frames).function), 48);
    body += fmt::format("<text class=\"label finding-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" style=\"fill:{}\">{}</text>",
                        label_x, placeLabel(label_x, kLabelCharWidth * static_cast<double>(label.size()), label_y), colour, e(label));
    out += fmt::format("<g class=\"finding\" data-verdict=\"{}\" data-site=\"{}\"><title>{}: {}, {}</title>{}</g>\n", trendName(v.trend),
                       name, name, trendName(v.trend), e(detail), body);
    drawn.insert(v.trend);
  }
  if (death.kind != Death::Kind::None) {
    double dx = X(static_cast<double>(death.time_ns));
    out += fmt::format("<g id=\"death-mark\"><line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" class=\"mark\" "
                       "stroke-width=\"2\"/><title>{3}</title><text class=\"label\" x=\"{4:.1f}\" y=\"{5}\" "
                       "text-anchor=\"end\">{6}</text></g>\n",
                       dx, T, H - B, e(deathHeadline(s)), dx - 4, T + 24, death.kind == Death::Kind::Killed ? "killed" : "OOM-killed");
  }
  const uint64_t limit = s.limit.bytes;
  if (limit && static_cast<double>(limit) <= y_max)
    out += fmt::format("<g id=\"limit-line\"><line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" class=\"mark\" "
                       "stroke-dasharray=\"8 4\"/><title>memory limit {3}</title><text class=\"label\" x=\"{4}\" y=\"{5:.1f}\">limit {3}"
                       "</text></g>\n",
                       L, W - 10, Y(static_cast<double>(limit)), e(humanBytes(limit)), L + 6, Y(static_cast<double>(limit)) - 4);
  // The legend: a swatch in each series' colour and its name.
  std::vector<std::pair<const char*, const char*>> legend = {{"#1f77b4", "RSS"}, {"#d62728", "heap"}};
  // Only the kinds of finding drawn: a swatch for a line that is not there sends the eye looking for it.
  if (drawn.contains(Trend::Unbounded)) legend.emplace_back("#ff7f0e", "unbounded growth (fitted)");
  if (drawn.contains(Trend::Plateau)) legend.emplace_back("#2ca02c", "plateau");
  if (drawn.contains(Trend::Periodic)) legend.emplace_back("#9467bd", "periodic falls");
  out += "<g class=\"legend\">";
  double lx = L;
  for (const auto& [colour, label] : legend) {
    out += fmt::format("<rect x=\"{:.0f}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/><text class=\"legend-text\" x=\"{:.0f}\" "
                       "y=\"18\">{}</text>",
                       lx, colour, lx + 16, label);
    lx += 16 + 7.0 * std::string_view(label).size() + 18;
  }
  return out + "</g>\n</svg>\n";
}

// The page's look: the window's width, the system's dark mode, a table of contents that stays in
// view, and paper.
std::string pageStyle() {
  return R"CSS(
:root{color-scheme:light dark;--fg:#111;--bg:#fff;--muted:#555;--rule:#ccc;--grid:#e3e3e3;--good:#2a7a2a;--bad:#b3261e}
@media (prefers-color-scheme: dark){:root{--fg:#e6e6e6;--bg:#16181b;--muted:#aaa;--rule:#444;--grid:#33363a;--good:#7fc97f;--bad:#ff8a80}}
body{font-family:sans-serif;margin:0 20px 20px 20px;color:var(--fg);background:var(--bg)}
nav#toc{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--rule);padding:6px 0;font-size:13px}
nav#toc a{margin-right:14px;color:inherit}
h2{margin-top:28px;scroll-margin-top:40px} section,p,li{max-width:110ch}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid var(--rule);padding:3px 8px;font-size:13px;text-align:left}
td.n{text-align:right} code{font-size:12px}
#python-retained td:nth-child(-n+2),#python-growth td:nth-child(-n+3){white-space:nowrap}
.diagnosis li{margin:6px 0} .diagnosis li.problem b{color:var(--bad)} .diagnosis li.healthy b{color:var(--good)} .diagnosis li.open b{color:var(--muted)}
.diagnosis .evidence a{margin-left:8px;font-size:12px}
svg#timeline,svg#run-timeline,svg#baseline-timeline,svg#sites-timeline,svg.flamegraph{width:100%;height:auto;display:block}
.swatch{display:inline-block;width:10px;height:10px}
td.grew{color:var(--bad)} td.shrank{color:var(--good)}
svg .axis{font-size:11px;fill:var(--muted)} svg .label{font-size:11px;fill:var(--fg)} svg .legend-text{font-size:12px;fill:var(--fg)}
svg .grid{stroke:var(--grid)} svg .tick{stroke:var(--muted)} svg .mark{stroke:var(--fg)}
svg .finding-label{font-weight:bold}
.tabs button{margin-right:6px} .tabs button.on{font-weight:bold}
.flame{display:none} .flame.on{display:block}
td.src{font-family:monospace;white-space:pre} #lines .hint{color:var(--muted)} #line-table tr.clicked{background:#fff3c4;color:#111}
@media print{nav#toc,.tabs,#lines .hint{display:none} .flame{display:block;break-inside:avoid} body{margin:0}}
)CSS";
}

// Links to every section the page has, kept in view at the top of the window.
std::string tableOfContents(const Summary& s, bool has_run, bool has_baseline) {
  std::vector<std::pair<const char*, const char*>> links = {{"diagnosis", "Diagnosis"}};
  if (has_baseline) links.push_back({"baseline-section", "Baseline"});
  links.push_back({"run-details", "Run"});
  if (has_run) links.push_back({"run-section", "Processes"});
  links.insert(links.end(), {{"timeline-section", "Memory over time"}, {"flamegraph-section", "Flamegraphs"},
                             {"peak-section", "At the peak"}, {"findings-section", "Growth"}, {"leaks-section", "Leaks"}});
  if (s.lost.available) links.push_back({"heap-scan-section", "Heap scan"});
  if (s.python_objects.available) links.push_back({"python-objects-section", "Python objects"});
  std::string out = "<nav id=\"toc\"><b>tidemark</b> &nbsp; ";
  for (const auto& [anchor, label] : links) out += fmt::format("<a href=\"#{}\">{}</a>", anchor, label);
  return out + "</nav>\n";
}

// A site in a table: its short name, the full one on hover when they differ.
std::string siteCell(const std::vector<Frame>& frames) {
  if (frames.empty()) return "";
  Frame shown = siteFrame(frames);
  std::string full = siteName(shown);
  shown.function = shortName(shown.function);
  std::string brief = siteName(shown);
  return brief == full ? e(full) : fmt::format("<span title=\"{}\">{}</span>", e(full), e(brief));
}

std::string chainText(const std::vector<std::string>& chain) {
  std::string text;
  for (const std::string& c : chain) text += c + " → ";
  return chain.empty() ? "directly from the roots" : text + "it";
}

std::string row(const std::vector<std::string>& cells) {
  std::string out = "<tr>";
  for (const std::string& c : cells) out += "<td>" + c + "</td>";
  return out + "</tr>\n";
}

// What keeps memory alive, how it grew between scans, and the garbage cycles of a Python run.
std::string pythonObjectsHtml(const PythonObjectFindings& g, const PythonGrowth& growth) {
  if (!g.available) return "";
  constexpr size_t kRows = 10;
  std::string out = "<h2 id=\"python-objects-section\">Python objects</h2>\n<p>" +
                    e(fmt::format("Scanned {}: {} objects tracked by the cycle collector, {} of them referred to from outside; "
                                  "{} kept alive (objects and what they own).",
                                  scanWhen(g.reason, g.time_ns), groupedNumber(g.objects), groupedNumber(g.roots), humanBytes(g.alive_bytes))) +
                    "</p>\n<h3>What keeps memory alive</h3>\n<table id=\"python-retained\"><tr><th>retained</th><th>held</th>"
                    "<th>group (type and line)</th><th>held through</th></tr>\n";
  size_t listed = 0;
  for (const RetainedGroup& r : g.retained) {
    if (r.holds_modules) continue;
    if (listed++ == kRows) break;
    out += row({e(humanBytes(r.retained_bytes)), e(humanBytes(r.held_bytes)), e(groupLabel(r.name, r.global, r.objects)), e(chainText(r.chain))});
  }
  out += "</table>\n<p class=\"note\">retained: what would be freed with the group's objects; held: what no other object "
         "nearer holds (the held bytes of all groups add up to what is kept alive). Modules, their globals and sys.modules, "
         "which hold the whole program, are left out (summary --json lists them).</p>\n";
  if (growth.available) {
    out += "<h3>" + e("Grown since the scan " + scanWhen(growth.from_reason, growth.from_ns)) +
           "</h3>\n<table id=\"python-growth\"><tr><th>grown</th><th>objects</th><th>held</th><th>group</th><th>held through</th></tr>\n";
    for (size_t k = 0; k < growth.groups.size() && k < kRows && growth.groups[k].grown() >= kListedGrowthBytes; ++k) {
      const RetainedGrowth& r = growth.groups[k];
      out += row({e("+" + humanBytes(static_cast<uint64_t>(r.grown()))),
                  e(fmt::format("{} → {}", groupedNumber(r.objects_before), groupedNumber(r.objects_after))),
                  e(fmt::format("{} → {}", humanBytes(r.held_before), humanBytes(r.held_after))),
                  e(groupName(r.name, r.global, r.objects_after)), e(chainText(r.chain))});
    }
    out += "</table>\n";
  }
  out += "<h3>Garbage cycles</h3>\n<p>" +
         e(g.garbage_objects ? fmt::format("{} in {} objects only the cycle collector frees: {} in {} cycle{}, {} held by them",
                                           humanBytes(g.garbage_bytes), groupedNumber(g.garbage_objects), humanBytes(g.cycle_bytes),
                                           groupedNumber(g.cycle_count), g.cycle_count == 1 ? "" : "s", humanBytes(g.held_bytes))
                             : std::string("No garbage: every object is reachable.")) +
         "</p>\n";
  if (!g.cycle_groups.empty()) {
    out += "<table id=\"python-cycles\"><tr><th>cycles</th><th>bytes</th><th>shape</th></tr>\n";
    for (const CycleGroup& c : g.cycle_groups) out += row({e(groupedNumber(c.cycles)), e(humanBytes(c.bytes)), e(c.shape)});
    out += "</table>\n";
  }
  return out;
}

}  // namespace

std::string htmlReport(const TraceAnalysis& analysis, const std::vector<ReportFlames>& flames, const std::vector<LineReport>& lines,
                       const ReportSections& sections) {
  const ReplayResult& r = analysis.run();
  const Summary& s = analysis.summary();
  std::string cmd;
  for (const std::string& a : r.argv) cmd += (cmd.empty() ? "" : " ") + a;
  if (cmd.empty()) cmd = r.exe;
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "script-src 'unsafe-inline'; img-src data:\">\n";
  out += "<title>tidemark: " + e(cmd) + "</title>\n";
  out += "<style>" + pageStyle() + flameStyle() + "</style>\n";
  out += "</head><body>\n";
  out += tableOfContents(s, !sections.run.empty(), !sections.baseline.empty());
  out += "<h1>tidemark report</h1>\n" + diagnosisHtml(diagnose(analysis)) + sections.baseline;
  out += "<h2 id=\"run-details\">Run</h2>\n<table id=\"run\">\n";
  out += row({"command", "<code>" + e(cmd) + "</code>"});
  out += row({"process", e(fmt::format("pid {}, ran {}, {}", r.pid, humanDuration(r.duration_ns), describeEnd(r.end)))});
  if (s.python) out += row({"python", e(describePython(*s.python))});
  if (r.sample_bytes)
    out += row({"recording", e(fmt::format("sampled: one point every {} allocated on average; heap figures are estimates, "
                                           "± their 95% interval, and block counts are of sampled blocks",
                                           humanBytes(r.sample_bytes)))});
  out += row({"peak heap", e(fmt::format("{}{} at {}", humanBytes(r.heap_peak),
                                          r.sample_bytes ? " ± " + humanBytes(errorBytes(r.heap_peak_variance)) : "",
                                          humanDuration(r.heap_peak_time_ns)))});
  out += row({"peak RSS", e(fmt::format("{} at {}{}", humanBytes(r.rss_peak), humanDuration(r.rss_peak_time_ns),
                                        r.heap_peak > r.rss_peak ? " (below the heap's peak: pages allocated but never written are not resident)" : ""))});
  if (s.limit.bytes)
    out += row({"memory limit", e(fmt::format("{} ({})", humanBytes(s.limit.bytes), limitSourceText(s.limit.source)))});
  out += row({"calls", e(fmt::format("{} {}allocations, {} frees", groupedNumber(r.allocations), r.sample_bytes ? "sampled " : "",
                                      groupedNumber(r.frees)))});
  out += "</table>\n";

  out += sections.run;
  if (r.stopped.stopped()) out += "<p id=\"incomplete\"><b>" + e(incompleteText(r.stopped)) + "</b></p>\n";
  if (s.death.kind != Death::Kind::None)
    out += "<p id=\"death\"><b>" + e(deathHeadline(s)) + "</b><br>" + e(s.death.evidence) + "</p>\n";
  out += "<h2 id=\"timeline-section\">Memory over time</h2>\n" + timelineSvg(r, s) + sections.range + sections.sites;

  out += "<h2 id=\"flamegraph-section\">Flamegraphs</h2>\n<div class=\"tabs\">"
         "<button id=\"tab-peak\" class=\"on\" data-flame=\"peak\">at the peak</button>"
         "<button id=\"tab-leaked\" data-flame=\"leaked\">leaked</button>"
         "<button id=\"tab-allocated\" data-flame=\"allocated\">allocated</button>"
         "<button id=\"tab-temporary\" data-flame=\"temporary\">temporary</button>"
         "<button id=\"tab-callers\" data-flame=\"callers\">callers of the allocator (at the peak)</button></div>\n";
  out += threadsHtml(s.threads, flames);
  // Each tab holds one flamegraph per thread set; the page draws the chosen set's.
  auto flame = [&](const char* id, std::vector<FlameStack> ReportFlames::*stacks, const char* metric, bool on, bool inverted = false) {
    FlameOptions o;
    o.metric = metric;
    o.inverted = inverted;
    std::string data;
    for (size_t i = 0; i < flames.size(); ++i) {
      o.title = flames[i].thread.empty() ? cmd : flames[i].thread + " of " + cmd;
      data += flameDataHtml(flames[i].*stacks, o, flames.size() > 1 ? std::optional<size_t>(i) : std::nullopt);
    }
    return fmt::format("<div class=\"flame{}\" id=\"flame-{}\">{}</div>\n", on ? " on" : "", id, data);
  };
  out += flame("peak", &ReportFlames::peak, "bytes live at the heap peak", true);
  out += flame("leaked", &ReportFlames::leaked, "bytes leaked at exit", false);
  out += flame("allocated", &ReportFlames::allocated, "bytes allocated", false);
  out += flame("temporary", &ReportFlames::temporary, "bytes freed by the same thread before its next allocation", false);
  out += flame("callers", &ReportFlames::peak, "bytes live at the heap peak, by the allocating function first", false, true);

  // The line view of a clicked frame's function: its lines as data, drawn by the script below.
  // No '<' inside the script element (JSON strings allow "\u003c" for it), so that no text from
  // the trace or a source file can end it or change how the page parses it.
  // Each line also carries its figures as the text output shows them ("shown").
  nlohmann::json views = linesJson(lines);
  for (size_t r = 0; r < lines.size(); ++r)
    for (size_t i = 0; i < lines[r].lines.size(); ++i) {
      LineFigures f = lineFigures(lines[r].lines[i]);
      views["files"][r]["lines"][i]["shown"] = {f.allocated, f.allocations, f.peak, f.end};
    }
  std::string line_data = scriptJson(views);
  out += "<div id=\"lines\"><p class=\"hint\">Click a frame of a flamegraph to see its function line by line: the bytes "
         "allocated from each line (calls made from it included), and how many of them were live at the heap peak and at "
         "the end.</p></div>\n<div id=\"callers\"></div>\n<script type=\"application/json\" id=\"line-data\">" + line_data + "</script>\n";

  out += "<h2 id=\"peak-section\">Top stacks at the peak</h2>\n<table id=\"peak-table\"><tr><th>bytes</th><th>share</th><th>site</th></tr>\n";
  for (const StackGroup& g : s.peak)
    out += row({e(humanBytes(g.peak_bytes)),
                e(fmt::format("{:.1f}%", r.heap_peak ? 100.0 * static_cast<double>(g.peak_bytes) / static_cast<double>(r.heap_peak) : 0.0)),
                siteCell(g.frames)});
  out += "</table>\n";

  out += "<h2 id=\"findings-section\">Growth findings</h2>\n";
  if (!s.growth.available) {
    out += "<p>" + e(s.growth.unavailable_reason) + "</p>\n";
  } else {
    out += "<table id=\"findings\"><tr><th>site</th><th>verdict</th><th>detail</th></tr>\n";
    for (const SiteTrend& t : s.growth.sites) {
      const TrendVerdict& v = t.verdict;
      std::string detail = describeVerdict(t, s.growth.simulated_days);
      out += row({siteCell(t.frames), e(trendName(v.trend)), e(detail)});
    }
    out += "</table>\n";
  }
  if (s.growth.process.available) {
    const ProcessTrend& p = s.growth.process;
    out += "<p id=\"rss-trend\">heap: " + e(describeProcessVerdict(p.heap, p.span_s)) + "; RSS: " +
           e(p.rss_follows_heap ? std::string("follows the heap (pages of memory it had allocated being touched)")
                                : describeProcessVerdict(p.rss, p.span_s));
    if (s.limit.bytes && p.seconds_to_limit > 0)
      out += e(fmt::format("; the limit of {} is reached in {} at this rate", humanBytes(s.limit.bytes),
                           humanDuration(static_cast<uint64_t>(p.seconds_to_limit * 1e9))));
    out += "</p>\n";
  }

  out += "<h2 id=\"leaks-section\">Leaks</h2>\n";
  out += "<p>" + e(fmt::format("{} in {} blocks live at the end ({})", humanBytes(s.leaked_bytes), groupedNumber(s.leaked_blocks),
                               s.ended_cleanly ? "leaked at exit" : "the process did not exit normally")) + "</p>\n";
  out += "<table id=\"leak-table\"><tr><th>bytes</th><th>blocks</th><th>site</th></tr>\n";
  for (const StackGroup& g : s.leaks)
    out += row({e(humanBytes(g.live_bytes)), e(groupedNumber(g.live_blocks)), siteCell(g.frames)});
  out += "</table>\n";
  if (s.lost.available) {
    const LeakGraph& l = s.lost;
    out += "<h2 id=\"heap-scan-section\">Heap scan: lost blocks and leaked cycles</h2>\n<table id=\"cycles\"><tr><th>cycles</th><th>bytes</th><th>shape</th></tr>\n";
    for (const CycleGroup& c : l.cycle_groups) out += row({e(groupedNumber(c.cycles)), e(humanBytes(c.bytes)), e(c.shape)});
    out += "</table>\n";
    out += "<p>" + e(fmt::format("plain leaks {} in {} blocks; reachable cycles (not leaks) {}", humanBytes(l.plain_bytes),
                                 groupedNumber(l.plain_blocks), groupedNumber(l.reachable_cycles))) + "</p>\n";
  }
  out += pythonObjectsHtml(s.python_objects, s.python_growth);
  out += "<script>\n" + flameScript() + flameDrawScript() + "tidemarkDrawFlames();\n" + rangeScript() + "</script>\n";
  out += R"JS(<script>
document.querySelectorAll('.tabs button[data-flame]').forEach(function (b) {
  b.addEventListener('click', function () {
    document.querySelectorAll('.tabs button[data-flame]').forEach(function (x) { x.classList.remove('on'); });
    document.querySelectorAll('.flame').forEach(function (x) { x.classList.remove('on'); });
    b.classList.add('on');
    document.getElementById('flame-' + b.getAttribute('data-flame')).classList.add('on');
  });
});
var lineData = JSON.parse(document.getElementById('line-data').textContent).files;
function showLines(name, detail) {
  var colon = detail.lastIndexOf(':');
  var numbered = colon > 0 && /^[0-9]+$/.test(detail.substring(colon + 1));
  var file = numbered ? detail.substring(0, colon) : detail, clicked = numbered ? Number(detail.substring(colon + 1)) : 0;
  var view = document.getElementById('lines');
  view.textContent = '';
  var found = lineData.filter(function (f) { return f.function === name && f.file === file; })[0];
  var head = document.createElement('h3');
  head.textContent = name + (file ? ' (' + file + ')' : '');
  view.appendChild(head);
  if (!found) {
    var none = document.createElement('p');
    none.textContent = 'No line view for this frame: it has no source line (no debug information, or a library), or its '
      + 'function is not among the ' + lineData.length + ' that allocated most.';
    view.appendChild(none);
    return;
  }
  if (!found.source_path) {
    var missing = document.createElement('p');
    missing.textContent = 'Source not found when the report was made (tidemark report --source-dir DIR): lines without text.';
    view.appendChild(missing);
  }
  var table = document.createElement('table');
  table.id = 'line-table';
  function addRow(cells, tag) {
    var tr = document.createElement('tr');
    cells.forEach(function (c, i) {
      var td = document.createElement(tag);
      td.textContent = c;
      if (i > 0 && i < 5 && tag === 'td') td.className = 'n';
      tr.appendChild(td);
    });
    table.appendChild(tr);
    return tr;
  }
  addRow(['line', 'allocated', 'allocations', 'at peak', 'at end', 'source'], 'th');
  found.lines.forEach(function (l) {
    var tr = addRow([String(l.line)].concat(l.shown, [l.source]), 'td');
    tr.setAttribute('data-line', l.line);
    tr.setAttribute('data-allocated', l.allocated_bytes);
    tr.setAttribute('data-peak', l.peak_bytes);
    tr.lastChild.className = 'src';
    if (l.line === clicked) tr.className = 'clicked';  // the line of the frame that was clicked
  });
  view.appendChild(table);
}
// Who calls the clicked function and what it calls, over every place it appears in that
// flamegraph (heaptrack's caller/callee view): bytes through each caller and into each callee.
function showCallers(svg, name) {
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f')).map(function (g) {
    return { name: g.getAttribute('data-name'), x: Number(g.getAttribute('data-x')), w: Number(g.getAttribute('data-w')),
             d: Number(g.getAttribute('data-depth')) };
  });
  function around(f, depth) {
    return frames.filter(function (o) { return o.d === depth && o.x <= f.x && f.x + f.w <= o.x + o.w; })[0];
  }
  // The outermost appearances only: a recursive function's bytes count once.
  var mine = frames.filter(function (f) {
    if (f.name !== name) return false;
    for (var d = f.d - 1; d >= 0; --d) { var up = around(f, d); if (up && up.name === name) return false; }
    return true;
  });
  var total = 0, callers = {}, callees = {};
  mine.forEach(function (f) {
    total += f.w;
    var up = around(f, f.d - 1);
    if (up) callers[up.name] = (callers[up.name] || 0) + f.w;
    frames.forEach(function (o) {
      if (o.d === f.d + 1 && f.x <= o.x && o.x + o.w <= f.x + f.w) callees[o.name] = (callees[o.name] || 0) + o.w;
    });
  });
  var box = document.getElementById('callers');
  box.textContent = '';
  var table = document.createElement('table');
  table.id = 'callers-table';
  table.setAttribute('data-total', total);
  function add(kind, who, bytes) {
    var tr = document.createElement('tr');
    tr.className = kind;
    tr.setAttribute('data-bytes', bytes);
    [kind, who, String(bytes), (total ? (100 * bytes / total).toFixed(1) : '0') + '%'].forEach(function (t) {
      var td = document.createElement('td'); td.textContent = t; tr.appendChild(td);
    });
    table.appendChild(tr);
  }
  add('function', name, total);
  Object.keys(callers).sort(function (a, b) { return callers[b] - callers[a]; }).forEach(function (k) { add('caller', k, callers[k]); });
  Object.keys(callees).sort(function (a, b) { return callees[b] - callees[a]; }).forEach(function (k) { add('callee', k, callees[k]); });
  var head = document.createElement('h3');
  head.textContent = 'Callers and callees of ' + name + ' (bytes of this flamegraph)';
  box.appendChild(head);
  box.appendChild(table);
}
// Flamegraphs are drawn again when another thread is chosen: one listener for every frame, now and later.
document.addEventListener('click', function (e) {
  var g = e.target instanceof Element ? e.target.closest('svg.flamegraph g.f') : null;
  if (!g) return;
  showLines(g.getAttribute('data-name'), g.getAttribute('data-detail') || '');
  showCallers(g.closest('svg'), g.getAttribute('data-name'));
});
var threadChoice = document.getElementById('flame-thread');
if (threadChoice) threadChoice.addEventListener('change', function () { tidemarkDrawFlames(Number(threadChoice.value)); });
</script>
)JS";
  out += "</body></html>\n";
  return out;
}

}  // namespace tidemark
