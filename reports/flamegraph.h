// Flamegraphs of a trace's memory: the stacks of a metric (bytes at the peak, leaked, allocated,
// temporary) as folded stacks (Brendan Gregg's collapsed format), a standalone interactive SVG,
// or speedscope JSON. Output is deterministic: sorted frames, colours from a hash of the name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tidemark {

struct FlameFrame {
  std::string name;    // function
  std::string detail;  // "file:line" (or the module), shown on hover
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
  bool embed_script = true;  // false inside HTML: the page runs flameScript() itself
  // Widths are the new run's bytes, colours the change from the baseline (FlameStack::base):
  // red grew, blue shrank, the deeper the larger the change relative to the frame.
  bool differential = false;
};

// "main;load;parse 4096" lines, sorted; frame names have ';' and newlines replaced.
std::string foldedStacks(const std::vector<FlameStack>& stacks, const FlameOptions& options);
// The JavaScript of an interactive flamegraph: defines tidemarkFlame(svgElement).
std::string flameScript();
// A self-contained SVG (no network): hover for details, click to zoom, a search box.
std::string flameSvg(const std::vector<FlameStack>& stacks, const FlameOptions& options);
// The SVG without its XML declaration, for inlining into HTML (whose parser wants plain elements:
// the search box becomes a plain input, and the page runs flameScript() itself).
std::string inlineSvg(const std::vector<FlameStack>& stacks, FlameOptions options);
// speedscope's file format, one "sampled" profile with bytes as the unit.
nlohmann::json speedscope(const std::vector<FlameStack>& stacks, const FlameOptions& options);

// Escapes text for XML/HTML element content and attribute values.
std::string escapeXml(const std::string& s);
// JSON to put inside an HTML <script> element: every '<' written "\u003c", so that no text from
// the trace or a source file can end the element or change how the page parses it.
std::string scriptJson(const nlohmann::json& j);

}  // namespace tidemark
