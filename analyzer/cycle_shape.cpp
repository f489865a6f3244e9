#include "cycle_shape.h"

#include <algorithm>

namespace tidemark {

using Vertex = boost::graph_traits<CsrGraph>::vertex_descriptor;

std::vector<std::string> cycleShape(const CsrGraph& g, const std::vector<uint32_t>& members,
                                    const std::vector<std::string>& names, std::vector<uint8_t>& visited) {
  size_t start = static_cast<size_t>(std::min_element(names.begin(), names.end()) - names.begin());
  std::map<uint32_t, size_t> position;
  for (size_t k = 0; k < members.size(); ++k) position[members[k]] = k;
  std::vector<std::string> walk{names[start]};
  uint32_t at = members[start];
  visited[at] = 1;
  for (;;) {
    int64_t best = -1;
    for (auto [e, end] = boost::out_edges(static_cast<Vertex>(at), g); e != end; ++e) {
      uint32_t to = static_cast<uint32_t>(boost::target(*e, g));
      auto it = position.find(to);
      if (it == position.end() || visited[to]) continue;
      if (best < 0 || names[it->second] < names[static_cast<size_t>(best)]) best = static_cast<int64_t>(it->second);
    }
    if (best < 0) break;
    at = members[static_cast<size_t>(best)];
    visited[at] = 1;
    if (names[static_cast<size_t>(best)] != walk.back()) walk.push_back(names[static_cast<size_t>(best)]);
  }
  if (walk.size() > 1 && walk.back() == walk.front()) walk.pop_back();
  return walk;
}

void countCycle(std::map<std::string, CycleGroup>& groups, std::vector<std::string> shape, uint64_t members, uint64_t bytes) {
  std::string text;
  for (const std::string& s : shape) text += s + " → ";
  text += shape.front();
  CycleGroup& group = groups[text];
  if (group.shape.empty()) {
    group.shape = std::move(text);
    group.sites = std::move(shape);
  }
  ++group.cycles;
  group.blocks += members;
  group.bytes += bytes;
}

std::vector<CycleGroup> largestFirst(std::map<std::string, CycleGroup>&& groups) {
  std::vector<CycleGroup> out;
  for (auto& [text, group] : groups) out.push_back(std::move(group));
  std::stable_sort(out.begin(), out.end(), [](const CycleGroup& a, const CycleGroup& b) { return a.bytes > b.bytes; });
  return out;
}

}  // namespace tidemark
