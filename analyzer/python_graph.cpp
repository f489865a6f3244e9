#include "python_graph.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/dominator_tree.hpp>
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

}  // namespace

int64_t blockOf(const ScanGraph& scan, uint64_t address) {
  auto it = std::upper_bound(scan.addr.begin(), scan.addr.end(), address);
  if (it == scan.addr.begin()) return -1;
  size_t k = static_cast<size_t>(it - scan.addr.begin()) - 1;
  return address - scan.addr[k] < std::max<uint64_t>(scan.size[k], 1) ? static_cast<int64_t>(k) : -1;
}

namespace {

// The references between tracked objects, and whether each is an instance's to its class.
struct ObjectEdges {
  Edges all, without_class;
};

ObjectEdges objectEdges(const PythonObjectGraph& py) {
  auto indexOf = [&](uint64_t address) -> int64_t {
    auto it = std::lower_bound(py.addr.begin(), py.addr.end(), address);
    return it != py.addr.end() && *it == address ? it - py.addr.begin() : -1;
  };
  auto typeAddress = [&](size_t i) -> uint64_t {
    auto it = py.types.find(py.type[i]);
    return it == py.types.end() ? 0 : it->second.address;
  };
  ObjectEdges out;
  std::vector<uint8_t> class_seen(py.addr.size(), 0);
  for (const auto& [source, target] : py.references) {
    int64_t j = indexOf(target);
    if (j < 0) continue;
    bool is_class = (py.flags[source] & format::kPythonClassEdge) && !class_seen[source] && target == typeAddress(source);
    if (is_class) class_seen[source] = 1;
    out.all.emplace_back(source, static_cast<uint32_t>(j));
    if (!is_class) out.without_class.emplace_back(source, static_cast<uint32_t>(j));
  }
  return out;
}

CollectorView viewOf(const PythonObjectGraph& py, Edges& all) {
  const size_t n = py.addr.size();
  CollectorView view;
  // Each reference from an object the collector would examine (not one frozen in the permanent
  // generation) is subtracted from its target's count; what is left comes from outside.
  std::vector<int64_t> outside(n);
  for (size_t i = 0; i < n; ++i) outside[i] = static_cast<int64_t>(std::min<uint64_t>(py.refcount[i], INT64_MAX));
  for (const auto& [source, target] : all)
    if (!(py.flags[source] & format::kPythonPermanent)) --outside[target];
  view.root.assign(n, 0);
  std::vector<Vertex> roots;
  for (size_t i = 0; i < n; ++i)
    if (outside[i] > 0 || (py.flags[i] & (format::kPythonImmortal | format::kPythonPermanent))) {
      view.root[i] = 1;
      roots.push_back(i);
    }
  view.roots = roots.size();
  CsrGraph g = graphOf(all, n);
  std::vector<boost::default_color_type> color(n, boost::white_color);
  auto color_map = boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, g));
  boost::queue<Vertex> queue;
  if (!roots.empty())
    boost::breadth_first_search(g, roots.begin(), roots.end(), queue, boost::default_bfs_visitor(), color_map);
  view.alive.resize(n);
  for (size_t i = 0; i < n; ++i) view.alive[i] = color[i] != boost::white_color;
  return view;
}

}  // namespace

namespace {

// The names modules give objects (format::PythonName): "module M" and "globals of M" for a
// module and its dict, and "M.key" for what its global `key` holds.
class GlobalNames {
 public:
  explicit GlobalNames(const PythonObjectGraph& py) {
    std::unordered_map<uint64_t, std::string> module_of_dict;
    for (const auto& n : py.names)
      if (n.kind == static_cast<uint8_t>(format::PythonNameKind::Module)) {
        module_of_dict.emplace(n.address, n.name);
        modules_.emplace(n.address, "globals of " + n.name);
        modules_.emplace(n.holder, "module " + n.name);
      }
    for (const auto& n : py.names)
      if (n.kind == static_cast<uint8_t>(format::PythonNameKind::Global)) {
        auto module = module_of_dict.find(n.holder);
        globals_.emplace(n.address, Global{n.holder, (module == module_of_dict.end() ? "?" : module->second) + "." + n.name});
      }
  }
  // The name of the object at `address`: a module's, its dict's, or the global that holds it (from
  // `holder` when that is one of its holders); "" when it has none.
  std::string nameOf(uint64_t address, uint64_t holder = 0) const {
    if (auto module = modules_.find(address); module != modules_.end()) return module->second;
    auto [first, last] = globals_.equal_range(address);
    if (first == last) return "";
    for (auto it = first; it != last; ++it)
      if (it->second.holder == holder) return it->second.name;
    return first->second.name;
  }
  // How a chain names the object at `address`: by its name and type, else `fallback`; `previous`
  // is the object before it in the chain.
  std::string label(uint64_t address, const std::string& type, const std::string& fallback, uint64_t previous) const {
    if (modules_.count(address)) return modules_.at(address);
    std::string name = nameOf(address, previous);
    return name.empty() ? fallback : name + " (" + type + ")";
  }

 private:
  struct Global {
    uint64_t holder;
    std::string name;
  };
  std::unordered_map<uint64_t, std::string> modules_;  // modules and their dicts
  std::unordered_multimap<uint64_t, Global> globals_;
};

// Lengauer–Tarjan needs in-edges, which Boost's CSR graph does not give it.
using BidirectionalGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;
using BlockVertex = boost::graph_traits<BidirectionalGraph>::vertex_descriptor;

// What keeps memory alive. The graph is one of blocks: an object's block refers to the blocks of
// the objects its type reports (precise) and, by the conservative scan, to the blocks that hold no
// tracked object (its buffers: a list's items, a dict's table, an array's data); a block that holds
// no tracked object and that no object points to refers to whatever the scan found in it. A
// virtual root refers to the blocks of the collector's roots and to the blocks native roots point
// to that no object does. The immediate dominators (Lengauer–Tarjan) give each block what would
// be freed with it.
void findRetained(const ScanGraph& scan, const CollectorView& view, const std::vector<std::string>& names,
                  const std::vector<int64_t>& object_block, PythonObjectFindings& out) {
  const PythonObjectGraph& py = scan.python;
  const GlobalNames global_names(py);
  auto typeName = [&](size_t i) {
    auto type = py.types.find(py.type[i]);
    return type == py.types.end() ? std::string{"?"} : type->second.name;
  };
  const size_t nb = scan.addr.size(), root = nb;
  std::vector<int64_t> block_object(nb, -1);  // the tracked object a block holds
  for (size_t i = 0; i < object_block.size(); ++i)
    if (object_block[i] >= 0) block_object[static_cast<size_t>(object_block[i])] = static_cast<int64_t>(i);
  // Edges from objects' blocks: the references their types report, and the scan's words that
  // lead to blocks holding no tracked object (their buffers).
  Edges edges;
  // An object outside every block (a static type, a static module's state) refers from the root.
  for (const auto& [source, target] : py.references) {
    int64_t from = object_block[source] >= 0 ? object_block[source] : static_cast<int64_t>(root);
    int64_t to = blockOf(scan, target);
    if (to >= 0 && from != to && view.alive[source])
      edges.emplace_back(static_cast<uint32_t>(from), static_cast<uint32_t>(to));
  }
  for (const auto& [from, to] : scan.edges)
    if (from != to && block_object[from] >= 0 && block_object[to] < 0) edges.emplace_back(from, to);
  // A block an object points to belongs to the objects that do: other words that lead into it (a
  // stale one on a stack, or in a free list's leftover) do not take a list's items from the list.
  // Words of other blocks never lead into an object: its references are all counted (a root has
  // references from outside, and the virtual root refers to it).
  std::vector<uint8_t> owned(nb, 0);
  for (const auto& [from, to] : edges)
    if (from != root) owned[to] = 1;
  for (const auto& [from, to] : scan.edges)
    if (from != to && block_object[from] < 0 && block_object[to] < 0 && !owned[to]) edges.emplace_back(from, to);
  for (size_t i = 0; i < py.addr.size(); ++i)
    if (view.root[i] && object_block[i] >= 0) edges.emplace_back(static_cast<uint32_t>(root), static_cast<uint32_t>(object_block[i]));
  for (size_t b = 0; b < nb; ++b)
    if (scan.root_kind[b] && block_object[b] < 0 && !owned[b]) edges.emplace_back(static_cast<uint32_t>(root), static_cast<uint32_t>(b));
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  BidirectionalGraph g(edges.begin(), edges.end(), nb + 1);

  const auto index = boost::get(boost::vertex_index, g);
  std::vector<size_t> dfnum(nb + 1, 0);
  std::vector<BlockVertex> parent(nb + 1, boost::graph_traits<BidirectionalGraph>::null_vertex());
  std::vector<BlockVertex> by_dfnum(nb + 1, boost::graph_traits<BidirectionalGraph>::null_vertex());
  std::vector<BlockVertex> idom(nb + 1, boost::graph_traits<BidirectionalGraph>::null_vertex());
  boost::lengauer_tarjan_dominator_tree(g, root, index, boost::make_iterator_property_map(dfnum.begin(), index),
                                        boost::make_iterator_property_map(parent.begin(), index), by_dfnum,
                                        boost::make_iterator_property_map(idom.begin(), index));
  const auto none = boost::graph_traits<BidirectionalGraph>::null_vertex();

  // Retained bytes: each block's own, added to its dominator's, deepest first (a dominator is
  // discovered before what it dominates).
  std::vector<uint64_t> retained(nb + 1, 0);
  std::vector<BlockVertex> order;  // reachable blocks in discovery order
  for (BlockVertex v : by_dfnum)
    if (v != none && (v == root || idom[v] != none)) order.push_back(v);
  for (BlockVertex v : order)
    if (v != root) retained[v] = scan.size[v];
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (*it != root) retained[idom[*it]] += retained[*it];
  out.alive_bytes = retained[root];
  // Per group (name): members not inside another member of the same group. Walks the dominator
  // tree depth first, counting how many members of each group are open above.
  std::map<std::string, uint32_t> group_of_name;
  std::vector<RetainedGroup> groups;
  std::vector<int64_t> block_group(nb, -1);
  for (size_t i = 0; i < py.addr.size(); ++i) {
    if (!view.alive[i] || object_block[i] < 0) continue;
    auto [it, added] = group_of_name.emplace(names[i], static_cast<uint32_t>(groups.size()));
    if (added) groups.emplace_back().name = names[i];
    RetainedGroup& group = groups[it->second];
    ++group.objects;
    group.own_bytes += scan.size[static_cast<size_t>(object_block[i])];
    block_group[static_cast<size_t>(object_block[i])] = it->second;
  }
  // Held bytes: each block goes to the group of the nearest object that dominates it (itself, for
  // an object's block), so that the groups' held bytes add up to what the objects keep alive.
  std::vector<int64_t> holder_group(nb + 1, -1);
  for (BlockVertex v : order) {
    if (v == root) continue;
    holder_group[v] = block_group[v] >= 0 ? block_group[v] : holder_group[idom[v]];
    if (holder_group[v] >= 0) groups[static_cast<size_t>(holder_group[v])].held_bytes += scan.size[v];
  }
  std::vector<std::vector<BlockVertex>> children(nb + 1);
  for (BlockVertex v : order)
    if (v != root) children[idom[v]].push_back(v);
  std::vector<uint32_t> open(groups.size(), 0);
  std::vector<BlockVertex> largest(groups.size(), none);
  std::vector<std::pair<BlockVertex, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [v, leaving] = stack.back();
    stack.pop_back();
    int64_t group = v == root ? -1 : block_group[v];
    if (leaving) {
      --open[static_cast<size_t>(group)];
      continue;
    }
    if (group >= 0) {
      auto k = static_cast<size_t>(group);
      if (!open[k]) groups[k].retained_bytes += retained[v];
      if (largest[k] == none || retained[v] > retained[largest[k]]) largest[k] = v;
      ++open[k];
      stack.push_back({v, true});
    }
    for (BlockVertex c : children[v]) stack.push_back({c, false});
  }

  std::vector<size_t> ranked(groups.size());
  for (size_t k = 0; k < ranked.size(); ++k) ranked[k] = k;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](size_t a, size_t b) { return groups[a].retained_bytes > groups[b].retained_bytes; });
  if (ranked.size() > kListedGroups) ranked.resize(kListedGroups);
  for (size_t k : ranked) {
    if (largest[k] == none) continue;  // none of its blocks is reached from a root
    RetainedGroup& group = groups[k];
    // The chain: the objects that dominate its largest member, from the root down.
    std::vector<size_t> chain;
    for (BlockVertex v = idom[largest[k]]; v != root && v != none; v = idom[v])
      if (block_object[v] >= 0) chain.push_back(static_cast<size_t>(block_object[v]));
    std::reverse(chain.begin(), chain.end());
    uint64_t previous = 0;
    for (size_t i : chain) {
      group.chain.push_back(global_names.label(py.addr[i], typeName(i), names[i], previous));
      previous = py.addr[i];
    }
    group.global = global_names.nameOf(py.addr[static_cast<size_t>(block_object[largest[k]])], previous);
    out.retained.push_back(std::move(group));
  }
}

// Built-in types whose objects the interpreter reuses from free lists without allocating: the
// block's allocating line is then that of an earlier object. A list is named by the line that
// allocated its items, a dict by its table's when the table is larger than the free lists' (the
// smallest, 160 bytes at most); a tuple or a deque by its type alone.
struct FreeListType {
  const char* name;
  bool named_by_buffer;
  uint64_t fresh_buffer;  // a buffer at least this large never comes from a free list
};
constexpr FreeListType kFreeListTypes[] = {{"list", true, 0}, {"dict", true, 161}, {"tuple", false, 0}, {"collections.deque", false, 0}};

const FreeListType* freeListType(const ScanGraph& scan, const PythonObjectGraph::Type& type) {
  if (blockOf(scan, type.address) >= 0) return nullptr;  // a class of the program's, not the built-in one
  for (const FreeListType& t : kFreeListTypes)
    if (type.name == t.name) return &t;
  return nullptr;
}

// Every object's name: its type and the line that allocated it ("dict (universe.py:12)").
std::vector<std::string> objectNames(const ScanGraph& scan, const std::vector<int64_t>& object_block,
                                     const std::function<std::string(StackId)>& where) {
  const PythonObjectGraph& py = scan.python;
  const size_t n = py.addr.size();
  // The largest block each object's block points to that holds no object (its buffer).
  std::vector<uint8_t> holds_object(scan.addr.size(), 0);
  for (int64_t b : object_block)
    if (b >= 0) holds_object[static_cast<size_t>(b)] = 1;
  std::vector<int64_t> buffer(scan.addr.size(), -1);
  for (const auto& [from, to] : scan.edges)
    if (holds_object[from] && !holds_object[to] && (buffer[from] < 0 || scan.size[to] > scan.size[static_cast<size_t>(buffer[from])]))
      buffer[from] = to;
  std::vector<std::string> names(n);
  for (size_t i = 0; i < n; ++i) {
    auto type = py.types.find(py.type[i]);
    if (type == py.types.end()) {
      names[i] = "?";
      continue;
    }
    int64_t named_by = object_block[i];
    if (const FreeListType* reused = named_by >= 0 ? freeListType(scan, type->second) : nullptr) {
      named_by = reused->named_by_buffer ? buffer[static_cast<size_t>(named_by)] : -1;
      if (named_by >= 0 && scan.size[static_cast<size_t>(named_by)] < reused->fresh_buffer) named_by = -1;
    }
    std::string line = named_by >= 0 ? where(scan.stack[static_cast<size_t>(named_by)]) : "";
    names[i] = line.empty() ? type->second.name : type->second.name + " (" + line + ")";
  }
  return names;
}

}  // namespace

std::vector<RetainedGrowth> retainedGrowth(const std::vector<RetainedGroup>& before, const std::vector<RetainedGroup>& after) {
  std::unordered_map<std::string, const RetainedGroup*> earlier;
  for (const RetainedGroup& g : before) earlier.emplace(g.name, &g);
  std::vector<RetainedGrowth> grown;
  for (const RetainedGroup& g : after) {
    auto it = earlier.find(g.name);
    RetainedGrowth change;
    change.name = g.name;
    change.global = g.global;
    change.chain = g.chain;
    change.objects_after = g.objects;
    change.held_after = g.held_bytes;
    change.retained_after = g.retained_bytes;
    if (it != earlier.end()) {
      change.objects_before = it->second->objects;
      change.held_before = it->second->held_bytes;
      change.retained_before = it->second->retained_bytes;
    }
    if (change.grown() > 0) grown.push_back(std::move(change));
  }
  std::stable_sort(grown.begin(), grown.end(), [](const RetainedGrowth& a, const RetainedGrowth& b) { return a.grown() > b.grown(); });
  return grown;
}

CollectorView collectorView(const PythonObjectGraph& py) {
  ObjectEdges edges = objectEdges(py);
  return viewOf(py, edges.all);
}

PythonObjectFindings analyzePythonObjects(const ScanGraph& scan, const std::function<std::string(StackId)>& where) {
  PythonObjectFindings out;
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

  ObjectEdges edges = objectEdges(py);
  const CollectorView view = viewOf(py, edges.all);
  out.roots = view.roots;
  Edges& shape_edges = edges.without_class;

  std::vector<int64_t> object_block(n);
  for (size_t i = 0; i < n; ++i) object_block[i] = blockOf(scan, py.addr[i]);
  std::vector<std::string> object_names = objectNames(scan, object_block, where);
  findRetained(scan, view, object_names, object_block, out);

  // The garbage, numbered apart, with its own graph of references (instance→class aside).
  std::vector<uint32_t> garbage;  // garbage index -> object index
  std::vector<int64_t> garbage_index(n, -1);
  std::vector<uint64_t> bytes;
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    if (view.alive[i]) continue;
    garbage_index[i] = static_cast<int64_t>(garbage.size());
    garbage.push_back(static_cast<uint32_t>(i));
    out.garbage.push_back(py.addr[i]);
    bytes.push_back(object_block[i] >= 0 ? scan.size[static_cast<size_t>(object_block[i])] : 0);
    names.push_back(object_names[i]);
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
