#include "flamegraph.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "display_text.h"
#include "text_layout.h"
#include "units.h"

namespace tidemark {

std::string escapeXml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

std::string scriptJson(const nlohmann::json& j) {
  std::string out;
  for (char c : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    if (c == '<') out += "\\u003c"; else out += c;
  return out;
}

namespace {

std::string foldName(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == ';' || c == '\n' || c == '\r') c = ':';
  return out;
}

std::vector<FlameStack> oriented(const std::vector<FlameStack>& stacks, bool inverted) {
  std::vector<FlameStack> out;
  for (const FlameStack& s : stacks) {
    if (!s.value) continue;  // a stack only the baseline has: no width to draw (the diff's table lists it)
    out.push_back(s);
    if (inverted) std::reverse(out.back().frames.begin(), out.back().frames.end());
  }
  return out;
}

struct Node {
  FlameFrame frame;
  uint64_t value = 0;
  uint64_t base = 0;  // differential: the baseline's bytes
  std::map<std::string, std::unique_ptr<Node>> children;  // sorted by name: deterministic layout
};

Node buildTree(const std::vector<FlameStack>& stacks) {
  Node root;
  for (const FlameStack& s : stacks) {
    root.value += s.value;
    root.base += s.base;
    Node* at = &root;
    for (const FlameFrame& f : s.frames) {
      std::string key = f.name.str() + '\x1f' + f.detail.str();
      auto& child = at->children[key];
      if (!child) {
        child = std::make_unique<Node>();
        child->frame = f;
      }
      child->value += s.value;
      child->base += s.base;
      at = child.get();
    }
  }
  return root;
}

// A warm colour from a hash of the name (FNV-1a): the same function, the same colour, every run.
std::string colour(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  int r = 205 + static_cast<int>(h % 50);
  int g = 80 + static_cast<int>((h >> 8) % 130);
  int b = static_cast<int>((h >> 16) % 55);
  return fmt::format("rgb({},{},{})", r, g, b);
}

// Growth red, shrinkage blue, deeper with the change relative to the larger of the two: full at a
// quarter or more, so a 10% regression is plainly pink.
std::string deltaColour(uint64_t now, uint64_t base) {
  double larger = static_cast<double>(std::max(now, base));
  double change = larger > 0 ? (static_cast<double>(now) - static_cast<double>(base)) / larger : 0;
  int fade = static_cast<int>(225 * (1 - std::min(1.0, std::abs(change) / 0.25)));
  return change >= 0 ? fmt::format("rgb(255,{},{})", 30 + fade, 30 + fade) : fmt::format("rgb({},{},255)", 30 + fade, 30 + fade);
}

// The line above the frames: the title cut to end, with the metric, before the search box (16 px
// monospace: 9.6 px a character). The metric is never cut.
std::string heading(const FlameOptions& options) {
  std::string metric = " — " + options.metric;
  double room = (options.width - 340 - kFlamePad) / 9.6 - static_cast<double>(columns(metric));
  return clipText(options.title, static_cast<size_t>(std::max(20.0, room))) + metric;
}

}  // namespace

std::string foldedStacks(const std::vector<FlameStack>& stacks, const FlameOptions& options) {
  std::map<std::string, uint64_t> lines;  // the same folded path from several groups adds up
  for (const FlameStack& s : oriented(stacks, options.inverted)) {
    std::string path;
    for (const FlameFrame& f : s.frames) {
      if (!path.empty()) path += ';';
      path += foldName(f.name);
    }
    if (path.empty()) path = "[unknown]";
    lines[path] += s.value;
  }
  std::string out;
  for (const auto& [path, value] : lines) out += fmt::format("{} {}\n", path, value);
  return out;
}

nlohmann::json speedscope(const std::vector<FlameStack>& stacks, const FlameOptions& options) {
  std::map<std::pair<std::string, std::string>, size_t> index;
  nlohmann::json frames = nlohmann::json::array();
  nlohmann::json samples = nlohmann::json::array();
  nlohmann::json weights = nlohmann::json::array();
  uint64_t total = 0;
  for (const FlameStack& s : oriented(stacks, options.inverted)) {
    nlohmann::json sample = nlohmann::json::array();
    for (const FlameFrame& f : s.frames) {
      auto [it, fresh] = index.emplace(std::pair{f.name, f.detail}, frames.size());
      if (fresh) {
        nlohmann::json frame = {{"name", f.name.str()}};
        auto colon = f.detail.rfind(':');
        if (colon != std::string::npos && colon > 0) {
          frame["file"] = f.detail.substr(0, colon);
          try {
            frame["line"] = std::stoi(f.detail.substr(colon + 1));
          } catch (const std::exception&) {
            frame["file"] = f.detail;
          }
        } else if (!f.detail.empty()) {
          frame["file"] = f.detail;
        }
        frames.push_back(frame);
      }
      sample.push_back(it->second);
    }
    samples.push_back(sample);
    weights.push_back(s.value);
    total += s.value;
  }
  return {{"$schema", "https://www.speedscope.app/file-format-schema.json"},
          {"shared", {{"frames", frames}}},
          {"profiles",
           {{{"type", "sampled"},
             {"name", options.title + " (" + options.metric + ")"},
             {"unit", "bytes"},
             {"startValue", 0},
             {"endValue", total},
             {"samples", samples},
             {"weights", weights}}}},
          {"name", options.title},
          {"exporter", "tidemark"}};
}

// Zoom: a clicked frame fills the width, its ancestors stay, everything outside hides. Search: a
// regular expression highlights the frames whose names match. No '<' in the code, so it reads
// the same inside an SVG CDATA section and inside an HTML script element.
std::string flameScript() {
  return R"JS(function tidemarkFlame(svg) {
  var W = parseFloat(svg.getAttribute('data-width')), P = parseFloat(svg.getAttribute('data-pad'));
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
  var details = svg.querySelector('.details');
  function fit(g, x0, w0) {
    var x = parseFloat(g.getAttribute('data-x')), w = parseFloat(g.getAttribute('data-w'));
    var r = g.querySelector('rect'), t = g.querySelector('text');
    if (!(w0 > 0)) { w0 = 1; w = w > 0 ? w : 1; }  // an empty flamegraph: its root alone, full width
    var nx = P + (x - x0) / w0 * W, nw = w / w0 * W;
    r.setAttribute('x', nx.toFixed(2)); r.setAttribute('width', nw.toFixed(2));
    t.setAttribute('x', (nx + 3).toFixed(2));
    var name = g.getAttribute('data-short') || g.getAttribute('data-name'), chars = Math.floor((nw - 6) / 7.2);
    t.textContent = chars >= name.length ? name : (chars > 2 ? name.substring(0, chars - 2) + '..' : '');
  }
  function zoom(target) {
    var x0 = parseFloat(target.getAttribute('data-x')), w0 = parseFloat(target.getAttribute('data-w'));
    var d0 = parseInt(target.getAttribute('data-depth'), 10);
    // Offsets and widths are whole bytes: containment is exact, no rounding can hide a child.
    frames.forEach(function (g) {
      var x = parseFloat(g.getAttribute('data-x')), w = parseFloat(g.getAttribute('data-w'));
      var d = parseInt(g.getAttribute('data-depth'), 10);
      var inside = x >= x0 && x0 + w0 >= x + w && d >= d0;
      var ancestor = d0 > d && x0 >= x && x + w >= x0 + w0;
      if (inside) { g.classList.remove('hidden'); fit(g, x0, w0); }
      else if (ancestor) { g.classList.remove('hidden'); fit(g, x, w); }
      else g.classList.add('hidden');
    });
    svg.setAttribute('data-zoomed', target.getAttribute('data-name'));
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
  });
  svg.querySelector('.reset').addEventListener('click', function () { zoom(frames[0]); });
  var search = svg.querySelector('.search');
  if (search) search.addEventListener('input', function () {
    var re = null;
    try { re = search.value ? new RegExp(search.value) : null; } catch (e) { re = null; }
    frames.forEach(function (g) {
      if (re !== null && re.test(g.getAttribute('data-name'))) g.classList.add('match'); else g.classList.remove('match');
    });
  });
}
)JS";
}

FlameLayout layoutFlame(const std::vector<FlameStack>& stacks, const FlameOptions& options) {
  Node root = buildTree(oriented(stacks, options.inverted));
  root.frame.name = "all";
  root.frame.detail = options.metric;
  const double usable = options.width - 2 * kFlamePad;
  // x and w in bytes (whole numbers: exact in a double up to 2^53), so a zoom's containment
  // test never depends on rounding.
  struct Placed {
    const Node* node;
    uint64_t x, w;
    int depth;
  };
  // Children narrower than a pixel are drawn as one frame per parent with their total.
  std::vector<std::unique_ptr<Node>> merged_nodes;
  std::vector<Placed> placed;
  FlameLayout layout;
  layout.total = root.value;
  const double total = root.value ? static_cast<double>(root.value) : 1.0;
  const double min_value = total / usable;  // one pixel at full width
  std::vector<Placed> todo{{&root, 0, root.value, 0}};
  while (!todo.empty()) {
    Placed p = todo.back();
    todo.pop_back();
    placed.push_back(p);
    layout.max_depth = std::max(layout.max_depth, p.depth);
    uint64_t x = p.x;
    std::vector<Placed> kids;
    Node* narrow = nullptr;
    size_t narrow_count = 0;
    for (const auto& [key, child] : p.node->children) {
      if (static_cast<double>(child->value) >= min_value) {
        kids.push_back({child.get(), x, child->value, p.depth + 1});
        x += child->value;
        continue;
      }
      if (!narrow) narrow = merged_nodes.emplace_back(std::make_unique<Node>()).get();
      narrow->value += child->value;
      narrow->base += child->base;
      ++narrow_count;
    }
    if (narrow && static_cast<double>(narrow->value) * usable / total >= 0.3) {
      narrow->frame.name = fmt::format("[{} frames under a pixel wide]", narrow_count);
      kids.push_back({narrow, x, narrow->value, p.depth + 1});
    }
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) todo.push_back(*it);
  }
  std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    return a.depth != b.depth ? a.depth < b.depth : a.x < b.x;
  });
  for (const Placed& p : placed) {
    const Node& n = *p.node;
    layout.frames.push_back({.name = n.frame.name,
                             .label = shortName(n.frame.name),
                             .detail = n.frame.detail,
                             .colour = options.differential ? deltaColour(n.value, n.base)
                                       : p.depth == 0        ? "rgb(240,240,225)"
                                                             : colour(n.frame.name),
                             .x = p.x,
                             .w = p.w,
                             .base = n.base,
                             .depth = p.depth});
  }
  return layout;
}

std::string flameSvg(const std::vector<FlameStack>& stacks, const FlameOptions& options) {
  const FlameLayout layout = layoutFlame(stacks, options);
  const int width = options.width, row = kFlameRow, top = kFlameTop, pad = kFlamePad;
  const double usable = width - 2 * pad;
  const double total = layout.total ? static_cast<double>(layout.total) : 1.0;
  const int height = top + (layout.max_depth + 1) * row + 30;
  std::string out;
  out += fmt::format(
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<svg version=\"1.1\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" xmlns=\"http://www.w3.org/2000/svg\" "
      "xmlns:xhtml=\"http://www.w3.org/1999/xhtml\" class=\"flamegraph\" data-width=\"{2}\" data-pad=\"{3}\" data-total=\"{4}\">\n",
      width, height, usable, pad, layout.total);
  out += "<style>\n" + flameStyle() + "</style>\n";
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#fdfdf6\"/>\n", width, height);
  out += fmt::format("<text x=\"{}\" y=\"20\" style=\"font-size:16px\"><title>{}</title>{}</text>\n", pad,
                     escapeXml(options.title), escapeXml(heading(options)));
  out += fmt::format(
      "<foreignObject x=\"{}\" y=\"4\" width=\"320\" height=\"26\"><xhtml:input class=\"search\" type=\"search\" "
      "placeholder=\"search (regex)\" style=\"width:300px\"/></foreignObject>\n",
      width - 330);
  out += fmt::format("<text class=\"reset\" x=\"{}\" y=\"44\" style=\"cursor:pointer;fill:#06c\">reset zoom</text>\n", pad);
  out += fmt::format("<text class=\"details\" x=\"{}\" y=\"{}\"> </text>\n", pad, height - 10);
  for (const PlacedFrame& f : layout.frames) {
    double x = pad + static_cast<double>(f.x) / total * usable, w = static_cast<double>(f.w) / total * usable;
    int y = options.inverted ? top + f.depth * row : top + (layout.max_depth - f.depth) * row;
    std::string tip = fmt::format("{} — {} ({} bytes, {:.2f}%)", f.name, humanBytes(f.w), f.w, 100.0 * static_cast<double>(f.w) / total);
    // A frame's detail is where it is (file:line); the root's is what is measured.
    if (!f.detail.empty()) tip += (f.depth == 0 ? " of " : " at ") + f.detail;
    int64_t delta = static_cast<int64_t>(f.w) - static_cast<int64_t>(f.base);
    if (options.differential)
      tip += fmt::format("; baseline {}, {}{}", humanBytes(f.base), delta < 0 ? "-" : "+",
                         humanBytes(static_cast<uint64_t>(delta < 0 ? -delta : delta)));
    size_t chars = static_cast<size_t>(std::max(0.0, (w - 6) / 7.2));
    // Cut at a character boundary: half a UTF-8 character is not XML.
    std::string shown = f.label.size() <= chars ? f.label : (chars > 2 ? std::string(utf8Prefix(f.label, chars - 2)) + ".." : "");
    out += fmt::format(
        "<g class=\"f\" data-x=\"{}\" data-w=\"{}\" data-depth=\"{}\" data-name=\"{}\"{}{} data-detail=\"{}\">"
        "<title>{}</title><rect x=\"{:.2f}\" y=\"{}\" width=\"{:.2f}\" height=\"{}\" fill=\"{}\"/><text x=\"{:.2f}\" y=\"{}\">{}</text></g>\n",
        f.x, f.w, f.depth, escapeXml(f.name), f.label == f.name ? std::string() : " data-short=\"" + escapeXml(f.label) + "\"",
        options.differential ? fmt::format(" data-delta=\"{}\"", delta) : "", escapeXml(f.detail), escapeXml(tip), x, y, w,
        row - 1, f.colour, x + 3, y + row - 5, escapeXml(shown));
  }
  out += "<script type=\"text/ecmascript\"><![CDATA[\n" + flameScript() + "tidemarkFlame(document.documentElement);\n]]></script>\n";
  out += "</svg>\n";
  return out;
}

nlohmann::json flameData(const std::vector<FlameStack>& stacks, const FlameOptions& options) {
  const FlameLayout layout = layoutFlame(stacks, options);
  std::map<std::string, uint32_t> index;
  nlohmann::json strings = nlohmann::json::array(), frames = nlohmann::json::array();
  auto id = [&](const std::string& s) {
    auto [it, fresh] = index.emplace(s, static_cast<uint32_t>(strings.size()));
    if (fresh) strings.push_back(s);
    return it->second;
  };
  for (const PlacedFrame& f : layout.frames) {
    nlohmann::json row = {f.depth, f.x, f.w, id(f.name), id(f.label), id(f.detail), id(f.colour)};
    if (options.differential) row.push_back(static_cast<int64_t>(f.w) - static_cast<int64_t>(f.base));
    frames.push_back(std::move(row));
  }
  return {{"title", heading(options)}, {"total", layout.total}, {"depth", layout.max_depth},
          {"width", options.width}, {"inverted", options.inverted}, {"differential", options.differential},
          {"strings", std::move(strings)}, {"frames", std::move(frames)}};
}

std::string flameDataHtml(const std::vector<FlameStack>& stacks, const FlameOptions& options, std::optional<size_t> set) {
  return "<script type=\"application/json\" class=\"flame-data\"" + (set ? fmt::format(" data-set=\"{}\"", *set) : "") + ">" +
         scriptJson(flameData(stacks, options)) + "</script>";
}

std::string flameStyle() {
  return "svg.flamegraph text { font-family: monospace; font-size: 12px; fill: #000; pointer-events: none; }\n"
         "svg.flamegraph .f rect { stroke: #fff; stroke-width: 0.5; cursor: pointer; }\n"
         "svg.flamegraph .f.match rect { fill: rgb(230,0,230) !important; }\n"
         "svg.flamegraph .f.hidden { display: none; }\n"
         "svg.flamegraph .details { font-size: 12px; }\n"
         "svg.flamegraph text.reset { pointer-events: auto; }\n";
}

// Draws a flamegraph from flameData with the markup flameSvg writes, so that tidemarkFlame (and
// the page's scripts, and a test) treat both alike. tidemarkBytes is humanBytes (units.cpp).
std::string flameDrawScript() {
  // The drawing constants of flameSvg, and the width of FlameOptions.
  return fmt::format("var tidemarkFlameGeometry = {{ pad: {}, row: {}, top: {}, width: {} }};\n", kFlamePad, kFlameRow, kFlameTop,
                     FlameOptions{}.width) +
         R"JS(function tidemarkBytes(v) {
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, a = Math.abs(v);
  while (a >= 1024 && i + 1 !== units.length) { a /= 1024; ++i; }
  return (v < 0 ? '-' : '') + (i === 0 ? String(a) + ' B' : a.toFixed(a >= 10 ? 1 : 2) + ' ' + units[i]);
}
function tidemarkSvgElement(name, attrs, text) {
  var e = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function tidemarkDrawFlame(box, d) {
  var S = d.strings, el = tidemarkSvgElement;
  var G = tidemarkFlameGeometry, W = d.width, pad = G.pad, usable = W - 2 * pad, row = G.row, top = G.top;
  var H = top + (d.depth + 1) * row + 30;
  var total = d.total || 1;
  var svg = el('svg', { 'class': 'flamegraph', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H,
    'data-width': usable, 'data-pad': pad, 'data-total': d.total });
  svg.appendChild(el('rect', { x: 0, y: 0, width: W, height: H, fill: '#fdfdf6' }));
  svg.appendChild(el('text', { x: pad, y: 20, style: 'font-size:16px' }, d.title));
  if (d.search !== false) {
    var fo = el('foreignObject', { x: W - 330, y: 4, width: 320, height: 26 }), input = document.createElement('input');
    input.className = 'search'; input.type = 'search'; input.placeholder = 'search (regex)'; input.style.width = '300px';
    fo.appendChild(input);
    svg.appendChild(fo);
  }
  svg.appendChild(el('text', { 'class': 'reset', x: pad, y: 44, style: 'cursor:pointer;fill:#06c' }, 'reset zoom'));
  svg.appendChild(el('text', { 'class': 'details', x: pad, y: H - 10 }, ' '));
  d.frames.forEach(function (f) {
    var depth = f[0], x = f[1], w = f[2], name = S[f[3]], label = S[f[4]], detail = S[f[5]];
    var g = el('g', { 'class': 'f', 'data-x': x, 'data-w': w, 'data-depth': depth, 'data-name': name });
    if (label !== name) g.setAttribute('data-short', label);
    if (d.differential) g.setAttribute('data-delta', f[7]);
    g.setAttribute('data-detail', detail);
    var tip = name + ' — ' + tidemarkBytes(w) + ' (' + w + ' bytes, ' + (100 * w / total).toFixed(2) + '%)';
    if (detail) tip += (depth === 0 ? ' of ' : ' at ') + detail;
    if (d.differential) tip += '; baseline ' + tidemarkBytes(w - f[7]) + ', ' + (f[7] < 0 ? '' : '+') + tidemarkBytes(f[7]);
    g.appendChild(el('title', {}, tip));
    var y = d.inverted ? top + depth * row : top + (d.depth - depth) * row;
    var px = pad + x / total * usable;
    g.appendChild(el('rect', { x: px.toFixed(2), y: y, width: (w / total * usable).toFixed(2), height: row - 1, fill: S[f[6]] }));
    g.appendChild(el('text', { x: (px + 3).toFixed(2), y: y + row - 5 }, ''));
    svg.appendChild(g);
  });
  box.appendChild(svg);
  tidemarkFlame(svg);
  svg.querySelector('.reset').dispatchEvent(new MouseEvent('click'));  // draws the labels
  return svg;
}
function tidemarkDrawFlames(set) {
  var chosen = String(set === undefined ? 0 : set);
  document.querySelectorAll('script.flame-data').forEach(function (s) {
    var mine = s.getAttribute('data-set');
    if (mine === null ? set !== undefined : mine !== chosen) return;
    var drawn = s.parentNode.querySelector('svg.flamegraph');
    if (drawn) drawn.remove();
    tidemarkDrawFlame(s.parentNode, JSON.parse(s.textContent));
  });
}
)JS";
}

}  // namespace tidemark
