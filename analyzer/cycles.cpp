#include "cycles.h"

#include "cycle_shape.h"

#include <algorithm>
#include <map>
#include <queue>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/strong_components.hpp>

namespace tidemark {

namespace {

using Graph = CsrGraph;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

}  // namespace

LeakGraph analyzeLeakGraph(const ScanGraph& scan, const std::function<std::string(StackId)>& site,
                           const std::function<bool(StackId)>& held_for_life) {
  LeakGraph out;
  if (!scan.present) {
    out.unavailable_reason = "no heap scan in this trace (run with --scan, or in aggregate mode)";
    return out;
  }
  if (!scan.complete) {
    out.unavailable_reason = "the heap scan was cut short (the process died while scanning)";
    return out;
  }
  out.available = true;
  out.scan_seconds = static_cast<double>(scan.duration_ns) / 1e9;
  out.reason = scan.reason;
  out.time_ns = scan.time_ns;
  out.words = scan.words;
  out.root_bytes = scan.root_bytes;
  const size_t n = scan.addr.size();
  out.blocks = n;

  // Edges, deduplicated and without self-loops (kept apart: a block pointing to itself is a cycle).
  std::vector<std::pair<uint32_t, uint32_t>> edges = scan.edges;
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  std::vector<uint8_t> self_loop(n, 0);
  std::erase_if(edges, [&](const auto& e) {
    if (e.first != e.second) return false;
    self_loop[e.first] = 1;
    return true;
  });
  Graph g(boost::edges_are_sorted, edges.begin(), edges.end(), n);

  // Reachable: breadth-first from every block a root points to.
  std::vector<Vertex> roots;
  for (size_t i = 0; i < n; ++i)
    if (scan.root_kind[i]) roots.push_back(i);
  std::vector<boost::default_color_type> color(n, boost::white_color);
  auto color_map = boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, g));
  boost::queue<Vertex> queue;
  if (!roots.empty())
    boost::breadth_first_search(g, roots.begin(), roots.end(), queue, boost::default_bfs_visitor(), color_map);
  std::vector<uint8_t> lost(n);
  for (size_t i = 0; i < n; ++i) {
    lost[i] = color[i] == boost::white_color;
    if (!lost[i]) {
      ++out.reachable_blocks;
      out.reachable_bytes += scan.size[i];
    }
  }

  // Strongly connected components of the whole graph: a component with one lost member is lost
  // whole (its members reach each other).
  std::vector<uint32_t> component(n);
  auto component_map = boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, g));
  size_t components = n ? boost::strong_components(g, component_map) : 0;
  std::vector<uint32_t> members(components, 0);
  std::vector<uint8_t> has_self(components, 0);
  for (size_t i = 0; i < n; ++i) {
    ++members[component[i]];
    has_self[component[i]] |= self_loop[i];
  }
  auto isCycle = [&](uint32_t c) { return members[c] >= 2 || has_self[c]; };

  // A lost component is a "source" when no other lost block points into it.
  std::vector<uint8_t> pointed_into(components, 0);
  for (const auto& [from, to] : edges)
    if (lost[from] && component[from] != component[to]) pointed_into[component[to]] = 1;
  // Its leader is its lowest-address member (blocks are numbered in address order).
  std::vector<int64_t> leader(components, -1);
  for (size_t i = 0; i < n; ++i)
    if (lost[i] && leader[component[i]] < 0) leader[component[i]] = static_cast<int64_t>(i);

  for (size_t i = 0; i < n; ++i)
    if (!lost[i] && isCycle(component[i]) && leader[component[i]] < 0) leader[component[i]] = -2 - static_cast<int64_t>(i);
  for (size_t c = 0; c < components; ++c)
    if (leader[c] <= -2) ++out.reachable_cycles;

  std::map<std::string, LostSite> plain;
  std::vector<std::vector<uint32_t>> cycle_members;
  std::vector<int64_t> cycle_index(components, -1);
  for (size_t i = 0; i < n; ++i) {
    if (!lost[i]) continue;
    uint32_t c = component[i];
    uint64_t bytes = scan.size[i];
    bool definite = !pointed_into[c] && leader[c] == static_cast<int64_t>(i);
    (definite ? out.definite_blocks : out.indirect_blocks) += 1;
    (definite ? out.definite_bytes : out.indirect_bytes) += bytes;
    if (!held_for_life(scan.stack[i])) {
      ++out.program_lost_blocks;
      out.program_lost_bytes += bytes;
    }
    if (isCycle(c)) {
      ++out.cycle_blocks;
      out.cycle_bytes += bytes;
      if (cycle_index[c] < 0) {
        cycle_index[c] = static_cast<int64_t>(cycle_members.size());
        cycle_members.emplace_back();
      }
      cycle_members[static_cast<size_t>(cycle_index[c])].push_back(static_cast<uint32_t>(i));
    } else if (!pointed_into[c]) {
      ++out.plain_blocks;
      out.plain_bytes += bytes;
      LostSite& s = plain[site(scan.stack[i])];
      ++s.blocks;
      s.bytes += bytes;
    } else {
      ++out.held_blocks;
      out.held_bytes += bytes;
    }
  }
  out.cycle_count = cycle_members.size();

  // Shapes: the distinct member sites in the order of a walk round the cycle.
  std::map<std::string, CycleGroup> groups;
  std::vector<uint8_t> visited(n, 0);
  for (const auto& cycle : cycle_members) {
    std::vector<std::string> names;
    names.reserve(cycle.size());
    for (uint32_t m : cycle) names.push_back(site(scan.stack[m]));
    uint64_t bytes = 0;
    for (uint32_t m : cycle) bytes += scan.size[m];
    countCycle(groups, cycleShape(g, cycle, names, visited), cycle.size(), bytes);
  }
  out.cycle_groups = largestFirst(std::move(groups));
  for (auto& [k, s] : plain) {
    s.site = k;
    out.plain_sites.push_back(s);
  }
  std::stable_sort(out.plain_sites.begin(), out.plain_sites.end(),
                   [](const LostSite& a, const LostSite& b) { return a.bytes > b.bytes; });
  return out;
}

}  // namespace tidemark
