// Flamegraphs of a trace's memory: the stacks of a metric (bytes at the peak, leaked, allocated,
// temporary) as folded stacks (Brendan Gregg's collapsed format), a standalone interactive SVG,
// or speedscope JSON. Output is deterministic: sorted frames, colours from a hash of the name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frame_text.h"

namespace tidemark {

struct FlameFrame {
  FrameText name;    // function
  FrameText detail;  // "file:line" (or the module), shown on hover
};

struct FlameStack {
  std::vector<FlameFrame> frames;  // root first
  uint64_t value = 0;              // bytes
  uint64_t base = 0;               // a differential flamegraph's baseline bytes of the same stack
};

struct FlameOptions {
  std::string title = "tidemark";
  std::string metric = "peak";  // for the labels
  bool inverted = false;        // leaf first (an icicle of callers)
  int width = 1200;
  // Widths are the new run's bytes, colours the change from the baseline (FlameStack::base):
  // red grew, blue shrank, the deeper the larger the change relative to the frame.
  bool differential = false;
};

// "main;load;parse 4096" lines, sorted; frame names have ';' and newlines replaced.
std::string foldedStacks(const std::vector<FlameStack>& stacks, const FlameOptions& options);

// Drawing constants: side margins, the height of a frame's row, the space above the frames.
inline constexpr int kFlamePad = 10, kFlameRow = 17, kFlameTop = 60;

// A frame as drawn: x and w in bytes (whole numbers, so a zoom's containment test is exact).
struct PlacedFrame {
  std::string name, label, detail, colour;  // label: the short name (shortName) drawn in the frame
  uint64_t x = 0, w = 0;
  uint64_t base = 0;  // differential: the baseline's bytes
  int depth = 0;
};
// The frames of a flamegraph in drawing order (by depth, then offset), the root ("all") first;
// children under a pixel wide at full width merged into one frame per parent.
struct FlameLayout {
  uint64_t total = 0;
  int max_depth = 0;
  std::vector<PlacedFrame> frames;
};
FlameLayout layoutFlame(const std::vector<FlameStack>& stacks, const FlameOptions& options);

// The JavaScript of an interactive flamegraph: defines tidemarkFlame(svgElement).
std::string flameScript();
// The CSS of a flamegraph (every rule scoped to svg.flamegraph).
std::string flameStyle();
// A self-contained SVG (no network): hover for details, click to zoom, a search box.
std::string flameSvg(const std::vector<FlameStack>& stacks, const FlameOptions& options);

// A flamegraph for a page to draw (a report's flamegraphs are data, a fraction of their SVG): the
// layout of flameSvg, each frame [depth, x, w, name, label, detail, colour(, delta)] with numbers
// for its strings, each string kept once.
nlohmann::json flameData(const std::vector<FlameStack>& stacks, const FlameOptions& options);
// flameData in a <script class="flame-data"> element: tidemarkDrawFlames() draws it where it is.
// `set`: one of several flamegraphs of the same place (a thread's), drawn when that set is chosen.
std::string flameDataHtml(const std::vector<FlameStack>& stacks, const FlameOptions& options, std::optional<size_t> set = {});
// The JavaScript that draws them: tidemarkDrawFlames(set) draws the flame-data elements of the
// page that belong to no set or to set (0 when not given), in place of what was drawn there
// before; tidemarkDrawFlame(box, data) draws one (needs flameScript()); tidemarkBytes(v) is humanBytes;
// tidemarkSvgElement(name, attributes, text) makes an SVG element.
std::string flameDrawScript();
// speedscope's file format, one "sampled" profile with bytes as the unit.
nlohmann::json speedscope(const std::vector<FlameStack>& stacks, const FlameOptions& options);

// Escapes text for XML/HTML element content and attribute values.
std::string escapeXml(const std::string& s);
// JSON to put inside an HTML <script> element: every '<' written "\u003c", so that no text from
// the trace or a source file can end the element or change how the page parses it.
std::string scriptJson(const nlohmann::json& j);

}  // namespace tidemark
