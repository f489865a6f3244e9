// The report's time axis: a label at the chart's right edge ends at its tick (centred there, the
// browser cut it: a pandas run's "5.00 s" ran to x=1104.6 of a 1100-wide chart).
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "html_report.h"

using namespace tidemark;

TEST(TimeAxis, TheLabelAtTheRightEdgeEndsAtItsTick) {
  // A run of exactly 5 s on a 1100-wide chart: a tick every half second, the last at the edge.
  const std::string svg = timeAxes(1100, 330, 70, 100 << 20, 5e9, [](double v) { return v; });
  std::map<std::string, std::string> anchor;  // label -> text-anchor
  const std::regex tick("class=\"axis time-tick\" text-anchor=\"(\\w+)\">([^<]+)<");
  for (std::sregex_iterator it(svg.begin(), svg.end(), tick), end; it != end; ++it) anchor[(*it)[2]] = (*it)[1];
  ASSERT_EQ(anchor.size(), 11u) << svg;
  for (const auto& [label, side] : anchor) EXPECT_EQ(side, label == "5.00 s" ? "end" : "middle") << label;
}
