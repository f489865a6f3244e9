#include "range_view.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flamegraph.h"

namespace tidemark {


std::string rangeSectionHtml(const TraceAnalysis& analysis, const std::vector<StackGroup>& groups) {
  const ReplayResult& r = analysis.run();
  std::string out = "<h3 id=\"range-section\">A range of the run</h3>\n";
  if (r.aggregated || !r.has_series || r.series.empty())
    return out + "<p>Ranges need a full event log: an aggregated trace keeps each stack's bytes at its levels, "
                 "not what was allocated between them.</p>\n";

  // The moments: the end of every step-th bin, and the start.
  const std::vector<uint32_t> at = evenBins(std::max(r.series.bins(), r.allocated_series.bins()), kRangePoints);  // after the start
  nlohmann::json times = nlohmann::json::array({0});
  for (uint32_t b : at) times.push_back(std::min<uint64_t>((uint64_t{b} + 1) * r.series.binWidthNs(), r.duration_ns));

  // The groups that allocated or held most, apart; the rest together.
  std::vector<const StackGroup*> order;
  for (const StackGroup& g : groups) order.push_back(&g);
  std::sort(order.begin(), order.end(), [](const StackGroup* a, const StackGroup* b) {
    return std::max(a->allocated_bytes, a->peak_bytes) > std::max(b->allocated_bytes, b->peak_bytes);
  });
  std::vector<std::pair<std::vector<FlameFrame>, std::vector<uint32_t>>> kept;
  std::vector<uint32_t> rest;
  for (size_t i = 0; i < order.size(); ++i) {
    std::vector<uint32_t> ids(order[i]->stacks.begin(), order[i]->stacks.end());
    if (i < kRangeGroups) {
      std::vector<FlameFrame> frames;
      for (auto it = order[i]->frames.rbegin(); it != order[i]->frames.rend(); ++it)
        frames.push_back({it->function, it->file.empty() ? it->module : FrameText(fmt::format("{}:{}", it->file, it->line))});
      kept.emplace_back(std::move(frames), std::move(ids));
    } else {
      rest.insert(rest.end(), ids.begin(), ids.end());
    }
  }
  if (!rest.empty()) kept.push_back({{{"[the other stacks]", fmt::format("{} stack groups", order.size() - kRangeGroups)}}, rest});

  std::map<std::pair<std::string, std::string>, size_t> frame_index;
  nlohmann::json frames = nlohmann::json::array(), data_groups = nlohmann::json::array();
  std::vector<double> live_last, live_max, alloc_last, alloc_max;
  for (const auto& [group_frames, ids] : kept) {
    nlohmann::json f = nlohmann::json::array();
    for (const FlameFrame& frame : group_frames) {
      auto [it, fresh] = frame_index.emplace(std::pair{frame.name, frame.detail}, frames.size());
      if (fresh) frames.push_back({frame.name, frame.detail});
      f.push_back(it->second);
    }
    r.series.sum(ids, live_last, live_max);
    r.allocated_series.sum(ids, alloc_last, alloc_max);
    nlohmann::json live = nlohmann::json::array({0}), alloc = nlohmann::json::array({0});
    for (uint32_t b : at) {
      live.push_back(b < live_last.size() ? static_cast<uint64_t>(live_last[b]) : 0);
      alloc.push_back(b < alloc_last.size() ? static_cast<uint64_t>(alloc_last[b]) : (alloc_last.empty() ? 0 : static_cast<uint64_t>(alloc_last.back())));
    }
    data_groups.push_back({{"f", f}, {"live", live}, {"alloc", alloc}});
  }
  // Simulated dates to pick a range by, at most 400 of them.
  nlohmann::json dates = nlohmann::json::array();
  std::vector<const Marker*> marked;
  for (const Marker& m : r.markers)
    if (m.kind == 1) marked.push_back(&m);
  size_t every = std::max<size_t>(1, (marked.size() + 399) / 400);
  for (size_t i = 0; i < marked.size(); i += every) dates.push_back({marked[i]->text, marked[i]->time_ns});

  nlohmann::json data = {{"t", times}, {"frames", frames}, {"groups", data_groups}, {"dates", dates}};
  out += "<p class=\"hint\">Drag across the timeline above, or pick two simulated dates, to see that stretch of the run: what was "
         "live at its end, what was allocated inside it, and what grew across it (as close as the run's "
         + fmt::format("{}", times.size() - 1) + " moments allow).</p>\n";
  out += "<div id=\"range-controls\">";
  if (!dates.empty()) out += "from <select id=\"range-from\"></select> to <select id=\"range-to\"></select> ";
  out += "<button id=\"range-clear\">whole run</button> <span id=\"range-label\"></span></div>\n";
  out += "<div class=\"tabs\" id=\"range-tabs\"><button class=\"on\" data-view=\"live\">live at its end</button>"
         "<button data-view=\"allocated\">allocated inside it</button><button data-view=\"grown\">grown across it</button></div>\n";
  out += "<div id=\"range-flame\"></div>\n<table id=\"range-table\"></table>\n";
  out += "<script type=\"application/json\" id=\"range-data\">" + scriptJson(data) + "</script>\n";
  return out;
}

// The range view: values per group between two moments, laid out as layoutFlame does and drawn by
// tidemarkDrawFlame (flameDrawScript), and a table of the largest groups.
std::string rangeScript() {
  return R"JS((function () {
  var holder = document.getElementById('range-data');
  if (!holder) return;
  var data = JSON.parse(holder.textContent), svg = document.getElementById('timeline');
  var T = data.t, view = 'live', from = 0, to = T.length - 1;
  var el = tidemarkSvgElement;
  function ms(ns) { return ns >= 1e9 ? (ns / 1e9).toFixed(2) + ' s' : (ns / 1e6).toFixed(0) + ' ms'; }
  function value(g) {
    if (view === 'live') return g.live[to];
    if (view === 'allocated') return g.alloc[to] - g.alloc[from];
    return g.live[to] - g.live[from];
  }
  function colour(name) {
    var h = 2166136261;
    for (var i = 0; i !== name.length; ++i) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
    return 'rgb(' + (205 + h % 50) + ',' + (80 + (h >>> 8) % 130) + ',' + ((h >>> 16) % 55) + ')';
  }
  function draw() {
    var root = { name: 'all', detail: '', v: 0, kids: {} };
    data.groups.forEach(function (g) {
      var v = value(g);
      if (!(v > 0)) return;
      root.v += v;
      var at = root;
      g.f.forEach(function (i) {
        var key = data.frames[i][0] + '\u001f' + data.frames[i][1];
        if (!at.kids[key]) at.kids[key] = { name: data.frames[i][0], detail: data.frames[i][1], v: 0, kids: {} };
        at = at.kids[key];
        at.v += v;
      });
    });
    var G = tidemarkFlameGeometry, usable = G.width - 2 * G.pad, placed = [], maxDepth = 0;
    var total = root.v || 1, minValue = total / usable;
    (function place(node, x, depth) {
      placed.push({ node: node, x: x, depth: depth });
      maxDepth = Math.max(maxDepth, depth);
      var keys = Object.keys(node.kids).sort(), narrow = null, count = 0;
      keys.forEach(function (k) {
        var kid = node.kids[k];
        if (kid.v >= minValue) { place(kid, x, depth + 1); x += kid.v; return; }
        if (!narrow) narrow = { name: '', detail: '', v: 0, kids: {} };
        narrow.v += kid.v; ++count;
      });
      if (narrow && narrow.v * usable / total >= 0.3) {
        narrow.name = '[' + count + ' frames under a pixel wide]';
        placed.push({ node: narrow, x: x, depth: depth + 1 });
        maxDepth = Math.max(maxDepth, depth + 1);
      }
    })(root, 0, 0);
    var strings = [], index = {};
    function id(text) {
      if (!(text in index)) { index[text] = strings.length; strings.push(text); }
      return index[text];
    }
    var frames = placed.map(function (p) {
      var n = p.node;
      return [p.depth, p.x, n.v, id(n.name), id(n.name), id(n.detail), id(p.depth ? colour(n.name) : 'rgb(240,240,225)')];
    });
    var box = document.getElementById('range-flame');
    box.textContent = '';
    var out = tidemarkDrawFlame(box, { title: label() + ' — ' + tidemarkBytes(root.v), total: root.v, depth: maxDepth, width: G.width,
                                      strings: strings, frames: frames, search: false });
    out.setAttribute('data-view', view);
    out.setAttribute('data-from', T[from]);
    out.setAttribute('data-to', T[to]);
    // The table: every group's value, largest change first (growth can be negative).
    var rows = data.groups.map(function (g) { return { g: g, v: value(g) }; }).filter(function (r) { return r.v !== 0; });
    rows.sort(function (a, b) { return Math.abs(b.v) - Math.abs(a.v); });
    var table = document.getElementById('range-table');
    table.textContent = '';
    var head = document.createElement('tr');
    ['bytes', 'site (the stack\'s innermost frame)'].forEach(function (t) { var th = document.createElement('th'); th.textContent = t; head.appendChild(th); });
    table.appendChild(head);
    rows.slice(0, 15).forEach(function (r) {
      var tr = document.createElement('tr'), leaf = data.frames[r.g.f[r.g.f.length - 1]];
      tr.setAttribute('data-bytes', r.v);
      [tidemarkBytes(r.v), leaf[0] + (leaf[1] ? ' (' + leaf[1] + ')' : '')].forEach(function (t, i) {
        var td = document.createElement('td'); td.textContent = t; if (!i) td.className = 'n'; tr.appendChild(td);
      });
      table.appendChild(tr);
    });
  }
  function label() {
    var what = view === 'live' ? 'live at ' + ms(T[to]) : view === 'allocated' ? 'allocated from ' + ms(T[from]) + ' to ' + ms(T[to])
             : 'grown from ' + ms(T[from]) + ' to ' + ms(T[to]);
    return what;
  }
  function nearest(ns) {
    var best = 0;
    for (var k = 0; k !== T.length; ++k) if (Math.abs(T[k] - ns) < Math.abs(T[best] - ns)) best = k;
    return best;
  }
  function select(ns0, ns1) {
    from = nearest(Math.min(ns0, ns1));
    to = nearest(Math.max(ns0, ns1));
    if (to === from) to = Math.min(T.length - 1, from + 1);
    document.getElementById('range-label').textContent = ms(T[from]) + ' to ' + ms(T[to]);
    var band = document.getElementById('range-band');
    if (band && from === 0 && to === T.length - 1) band.setAttribute('width', 0);  // the whole run: nothing to mark
    if (band && !(from === 0 && to === T.length - 1)) {
      var L = parseFloat(svg.getAttribute('data-left')), R = parseFloat(svg.getAttribute('data-right')), end = parseFloat(svg.getAttribute('data-t-end'));
      band.setAttribute('x', L + (R - L) * T[from] / end);
      band.setAttribute('width', Math.max(1, (R - L) * (T[to] - T[from]) / end));
    }
    draw();
  }
  window.tidemarkRange = { select: select, moments: T };
  // Drag on the timeline.
  if (svg) {
    var band = el('rect', { id: 'range-band', x: 0, y: 0, width: 0, height: svg.viewBox.baseVal.height, fill: '#1f77b4', 'fill-opacity': 0.12 });
    svg.insertBefore(band, svg.firstChild);
    var start = null;
    function timeAt(e) {
      var p = svg.createSVGPoint();
      p.x = e.clientX; p.y = e.clientY;
      var x = p.matrixTransform(svg.getScreenCTM().inverse()).x;
      var L = parseFloat(svg.getAttribute('data-left')), R = parseFloat(svg.getAttribute('data-right'));
      return Math.max(0, Math.min(1, (x - L) / (R - L))) * parseFloat(svg.getAttribute('data-t-end'));
    }
    svg.addEventListener('mousedown', function (e) { start = timeAt(e); e.preventDefault(); });
    svg.addEventListener('mousemove', function (e) { if (start !== null) select(start, timeAt(e)); });
    window.addEventListener('mouseup', function (e) { if (start !== null) { select(start, timeAt(e)); start = null; } });
  }
  var fromBox = document.getElementById('range-from'), toBox = document.getElementById('range-to');
  if (fromBox) {
    data.dates.forEach(function (d, i) {
      [fromBox, toBox].forEach(function (box) { var o = document.createElement('option'); o.value = d[1]; o.textContent = d[0]; box.appendChild(o); });
    });
    toBox.selectedIndex = data.dates.length - 1;
    function byDates() { select(Number(fromBox.value), Number(toBox.value)); }
    fromBox.addEventListener('change', byDates);
    toBox.addEventListener('change', byDates);
  }
  document.getElementById('range-clear').addEventListener('click', function () { select(0, T[T.length - 1]); });
  document.querySelectorAll('#range-tabs button').forEach(function (b) {
    b.addEventListener('click', function () {
      document.querySelectorAll('#range-tabs button').forEach(function (x) { x.classList.remove('on'); });
      b.classList.add('on');
      view = b.getAttribute('data-view');
      draw();
    });
  });
  select(0, T[T.length - 1]);
})();
)JS";
}

}  // namespace tidemark
