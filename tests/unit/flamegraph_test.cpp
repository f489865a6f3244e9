// The flamegraph renderers on fixed stacks: golden files for the folded text and the SVG
// (TIDEMARK_BLESS=1 rewrites them), and names crafted to break out of the markup.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "flamegraph.h"

using namespace tidemark;

namespace {

std::vector<FlameStack> fixedStacks() {
  return {
      {{{"main", "app.cpp:10"}, {"loadBars", "data.cpp:42"}, {"decodeColumn", "cache.cpp:60"}}, 8 << 20},
      {{{"main", "app.cpp:10"}, {"loadBars", "data.cpp:42"}, {"HistoryFrame::HistoryFrame", "frame.h:15"}}, 1 << 20},
      {{{"main", "app.cpp:10"}, {"runPipeline", "pipeline.cpp:7"}}, 3 << 20},
      {{{"main", "app.cpp:10"}, {"std::vector<Order, std::allocator<Order>>::push_back", "vector:1280"}}, 4096},
      {{{"main", "app.cpp:10"}, {"a;b", "odd.cpp:1"}}, 100},
      {{{"main", "app.cpp:10"}, {"runPipeline", "pipeline.cpp:7"}}, 1 << 20},  // merges with the one above
  };
}

std::string golden(const std::string& name, const std::string& actual) {
  std::string path = std::string(TM_GOLDEN_DIR) + "/" + name;
  if (const char* bless = std::getenv("TIDEMARK_BLESS"); bless && *bless == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    return actual;
  }
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "missing golden file " << path << " (TIDEMARK_BLESS=1 writes it)";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(Flamegraph, FoldedStacksAreRootFirstSortedAndMerged) {
  FlameOptions o;
  std::string folded = foldedStacks(fixedStacks(), o);
  EXPECT_EQ(folded,
            "main;a:b 100\n"
            "main;loadBars;HistoryFrame::HistoryFrame 1048576\n"
            "main;loadBars;decodeColumn 8388608\n"
            "main;runPipeline 4194304\n"
            "main;std::vector<Order, std::allocator<Order>>::push_back 4096\n");
  EXPECT_EQ(folded, golden("flame.folded", folded));
}

TEST(Flamegraph, InvertedPutsTheLeafAtTheRoot) {
  FlameOptions o;
  o.inverted = true;
  std::string folded = foldedStacks(fixedStacks(), o);
  EXPECT_NE(folded.find("decodeColumn;loadBars;main 8388608\n"), std::string::npos) << folded;
}

TEST(Flamegraph, SvgMatchesItsGoldenFile) {
  FlameOptions o;
  o.title = "golden";
  std::string svg = flameSvg(fixedStacks(), o);
  EXPECT_EQ(svg, golden("flame.svg", svg));
  // One group per frame of the tree: all, main, loadBars, decodeColumn, HistoryFrame, runPipeline,
  // push_back; "a;b" (100 bytes of 13 MiB) is narrower than a third of a pixel and not drawn.
  size_t frames = 0;
  for (size_t at = svg.find("<g class=\"f\""); at != std::string::npos; at = svg.find("<g class=\"f\"", at + 1)) ++frames;
  EXPECT_EQ(frames, 7u);
}

TEST(Flamegraph, NamesFromATraceCannotInjectMarkupOrScript) {
  std::vector<FlameStack> evil{{{{"main", "x.cpp:1"},
                                 {"</title></g><script>alert(1)</script><g>", "\"><script>alert(2)</script>"},
                                 {"operator<<(std::ostream&, Foo const&)", "a&b.cpp:3"},
                                 {"]]></script><script>alert(3)</script>", "y"}},
                                4096}};
  FlameOptions o;
  o.title = "<script>alert(4)</script>";
  std::string svg = flameSvg(evil, o);
  // The only script element is tidemark's own.
  size_t scripts = 0;
  for (size_t at = svg.find("<script"); at != std::string::npos; at = svg.find("<script", at + 1)) ++scripts;
  EXPECT_EQ(scripts, 1u);
  EXPECT_EQ(svg.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;/title&gt;&lt;/g&gt;&lt;script&gt;alert(1)"), std::string::npos);
  EXPECT_NE(svg.find("operator&lt;&lt;(std::ostream&amp;, Foo const&amp;)"), std::string::npos);
  EXPECT_EQ(svg.find("]]></script><script>alert(3)"), std::string::npos);
  EXPECT_EQ(escapeXml("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  // A report's flamegraph is data in a script element: no '<' from the trace inside it, so nothing
  // can end the element; the names come back whole when the page parses the JSON.
  std::string data = flameDataHtml(evil, o);
  EXPECT_EQ(data.find("<", 1), data.rfind("</script>"));
  std::string json = data.substr(data.find('>') + 1, data.rfind("</script>") - data.find('>') - 1);
  auto parsed = nlohmann::json::parse(json);
  const auto& strings = parsed["strings"];
  EXPECT_NE(std::find(strings.begin(), strings.end(), "]]></script><script>alert(3)</script>"), strings.end());
  EXPECT_EQ(parsed["title"], "<script>alert(4)</script> — peak");
}

// The data a report's flamegraph is drawn from is flameSvg's layout: the same frames, offsets,
// widths and colours, with each string once.
TEST(Flamegraph, PageDataIsTheSvgsLayout) {
  FlameOptions o;
  nlohmann::json data = flameData(fixedStacks(), o);
  FlameLayout layout = layoutFlame(fixedStacks(), o);
  ASSERT_EQ(data["frames"].size(), layout.frames.size());
  EXPECT_EQ(data["total"], layout.total);
  EXPECT_EQ(data["depth"], layout.max_depth);
  const auto& strings = data["strings"];
  for (size_t i = 0; i < layout.frames.size(); ++i) {
    const auto& row = data["frames"][i];
    const PlacedFrame& f = layout.frames[i];
    EXPECT_EQ(row[0], f.depth);
    EXPECT_EQ(row[1], f.x);
    EXPECT_EQ(row[2], f.w);
    EXPECT_EQ(strings[row[3].get<size_t>()], f.name);
    EXPECT_EQ(strings[row[4].get<size_t>()], f.label);
    EXPECT_EQ(strings[row[5].get<size_t>()], f.detail);
    EXPECT_EQ(strings[row[6].get<size_t>()], f.colour);
    // The SVG draws the same frame at the same offset.
    EXPECT_NE(flameSvg(fixedStacks(), o).find(fmt::format("data-x=\"{}\" data-w=\"{}\" data-depth=\"{}\"", f.x, f.w, f.depth)),
              std::string::npos);
  }
  std::set<std::string> unique(strings.begin(), strings.end());
  EXPECT_EQ(unique.size(), strings.size());
}

TEST(Flamegraph, SpeedscopeHasBytesAsTheUnitAndSharedFrames) {
  FlameOptions o;
  auto j = speedscope(fixedStacks(), o);
  const auto& profile = j["profiles"][0];
  EXPECT_EQ(profile["unit"], "bytes");
  EXPECT_EQ(profile["type"], "sampled");
  EXPECT_EQ(profile["endValue"], (8u << 20) + (1u << 20) + (3u << 20) + 4096u + 100u + (1u << 20));
  EXPECT_EQ(profile["samples"].size(), profile["weights"].size());
  // "main" is one shared frame, with its file and line.
  EXPECT_EQ(j["shared"]["frames"][0]["name"], "main");
  EXPECT_EQ(j["shared"]["frames"][0]["file"], "app.cpp");
  EXPECT_EQ(j["shared"]["frames"][0]["line"], 10);
}
