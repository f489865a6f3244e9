#include "python_graph.h"

#include <algorithm>
#include <map>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/strong_components.hpp>

#include "cycle_shape.h"
#include "tidemark/trace_format.h"

namespace tidemark {

namespace {

using Vertex = boost::graph_traits<CsrGraph>::vertex_descriptor;
using Edges = std::vector<std::pair<uint32_t, uint32_t>>;

CsrGraph graphOf(Edges& edges, size_t n) {
  if (!std::is_sorted(edges.begin(), edges.end())) std::sort(edges.begin(), edges.end());
  return CsrGraph(boost::edges_are_sorted, edges.begin(), edges.end(), n);
}

// The live block an object lies in (its header, and in 3.12+ the words before it, are the
// block's start), or -1 (a static object, or one the trace did not see allocated).
int64_t blockOf(const ScanGraph& scan, uint64_t address) {
  auto it = std::upper_bound(scan.addr.begin(), scan.addr.end(), address);
  if (it == scan.addr.begin()) return -1;
  size_t k = static_cast<size_t>(it - scan.addr.begin()) - 1;
  return address - scan.addr[k] < std::max<uint64_t>(scan.size[k], 1) ? static_cast<int64_t>(k) : -1;
}

}  // namespace

PythonGarbage findPythonGarbage(const ScanGraph& scan, const std::function<std::string(StackId)>& where) {
  PythonGarbage out;
  const PythonObjectGraph& py = scan.python;
  if (!scan.present || !py.present) {
    out.unavailable_reason = "no Python object graph in this trace (run a Python program with --scan)";
    return out;
  }
  if (!scan.complete) {
    out.unavailable_reason = "the scan was cut short (the process died while scanning)";
    return out;
  }
  if (!py.problem.empty()) {
    out.unavailable_reason = "the tracker could not read the object graph: " + py.problem;
    return out;
  }
  out.available = true;
  out.time_ns = scan.time_ns;
  out.reason = scan.reason;
  const size_t n = py.addr.size();
  out.objects = n;

  auto indexOf = [&](uint64_t address) -> int64_t {
    auto it = std::lower_bound(py.addr.begin(), py.addr.end(), address);
    return it != py.addr.end() && *it == address ? it - py.addr.begin() : -1;
  };
  auto typeAddress = [&](size_t i) -> uint64_t {
    auto it = py.types.find(py.type[i]);
    return it == py.types.end() ? 0 : it->second.address;
  };

  // References between tracked objects. Each one from an object the collector would examine
  // (not one frozen in the permanent generation) is subtracted from its target's count.
  std::vector<int64_t> outside(n);
  for (size_t i = 0; i < n; ++i) outside[i] = static_cast<int64_t>(std::min<uint64_t>(py.refcount[i], INT64_MAX));
  Edges all, shape_edges;
  std::vector<uint8_t> class_seen(n, 0);
  for (const auto& [source, target] : py.references) {
    int64_t j = indexOf(target);
    if (j < 0) continue;
    bool is_class = (py.flags[source] & format::kPythonClassEdge) && !class_seen[source] && target == typeAddress(source);
    if (is_class) class_seen[source] = 1;
    if (!(py.flags[source] & format::kPythonPermanent)) --outside[static_cast<size_t>(j)];
    all.emplace_back(source, static_cast<uint32_t>(j));
    if (!is_class) shape_edges.emplace_back(source, static_cast<uint32_t>(j));
  }

  // Alive: what the roots reach.
  std::vector<Vertex> roots;
  for (size_t i = 0; i < n; ++i)
    if (outside[i] > 0 || (py.flags[i] & (format::kPythonImmortal | format::kPythonPermanent))) roots.push_back(i);
  out.roots = roots.size();
  CsrGraph g = graphOf(all, n);
  std::vector<boost::default_color_type> color(n, boost::white_color);
  auto color_map = boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, g));
  boost::queue<Vertex> queue;
  if (!roots.empty())
    boost::breadth_first_search(g, roots.begin(), roots.end(), queue, boost::default_bfs_visitor(), color_map);

  // The garbage, numbered apart, with its own graph of references (instance→class aside).
  std::vector<uint32_t> garbage;  // garbage index -> object index
  std::vector<int64_t> garbage_index(n, -1);
  std::vector<uint64_t> bytes;
  std::vector<std::string> names;
  std::map<int64_t, std::string> name_of_block_site;
  for (size_t i = 0; i < n; ++i) {
    if (color[i] != boost::white_color) continue;
    garbage_index[i] = static_cast<int64_t>(garbage.size());
    garbage.push_back(static_cast<uint32_t>(i));
    out.garbage.push_back(py.addr[i]);
    int64_t block = blockOf(scan, py.addr[i]);
    bytes.push_back(block >= 0 ? scan.size[static_cast<size_t>(block)] : 0);
    auto type = py.types.find(py.type[i]);
    std::string name = type == py.types.end() ? "?" : type->second.name;
    std::string line = block >= 0 ? where(scan.stack[static_cast<size_t>(block)]) : "";
    names.push_back(line.empty() ? name : name + " (" + line + ")");
  }
  out.garbage_objects = garbage.size();
  for (uint64_t b : bytes) out.garbage_bytes += b;

  Edges garbage_edges;
  std::vector<uint8_t> self_loop(garbage.size(), 0);
  for (const auto& [source, target] : shape_edges) {
    int64_t s = garbage_index[source], t = garbage_index[target];
    if (s < 0 || t < 0) continue;
    if (s == t)
      self_loop[static_cast<size_t>(s)] = 1;
    else
      garbage_edges.emplace_back(static_cast<uint32_t>(s), static_cast<uint32_t>(t));
  }
  garbage_edges.erase(std::unique(garbage_edges.begin(), garbage_edges.end()), garbage_edges.end());
  const size_t m = garbage.size();
  CsrGraph gg = graphOf(garbage_edges, m);
  std::vector<uint32_t> component(m);
  auto component_map = boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, gg));
  size_t components = m ? boost::strong_components(gg, component_map) : 0;
  std::vector<std::vector<uint32_t>> members(components);
  std::vector<uint8_t> has_self(components, 0);
  for (size_t k = 0; k < m; ++k) {
    members[component[k]].push_back(static_cast<uint32_t>(k));
    has_self[component[k]] |= self_loop[k];
  }

  std::map<std::string, CycleGroup> groups;
  std::vector<uint8_t> visited(m, 0);
  for (size_t c = 0; c < components; ++c) {
    const std::vector<uint32_t>& cycle = members[c];
    uint64_t cycle_bytes = 0;
    for (uint32_t k : cycle) cycle_bytes += bytes[k];
    if (cycle.size() < 2 && !has_self[c]) {
      ++out.held_objects;
      out.held_bytes += cycle_bytes;
      continue;
    }
    ++out.cycle_count;
    out.cycle_objects += cycle.size();
    out.cycle_bytes += cycle_bytes;
    std::vector<std::string> cycle_names;
    for (uint32_t k : cycle) cycle_names.push_back(names[k]);
    countCycle(groups, cycleShape(gg, cycle, cycle_names, visited), cycle.size(), cycle_bytes);
  }
  out.cycle_groups = largestFirst(std::move(groups));
  return out;
}

}  // namespace tidemark
