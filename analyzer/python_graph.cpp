#include "python_graph.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <unordered_map>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/strong_components.hpp>

#include "cycle_shape.h"
#include "python_retained.h"
#include "tidemark/address_sort.h"
#include "tidemark/trace_format.h"

namespace tidemark {

namespace {

using Vertex = boost::graph_traits<CsrGraph>::vertex_descriptor;
using Edges = std::vector<std::pair<uint32_t, uint32_t>>;

CsrGraph graphOf(const Edges& edges, size_t n) {
  return CsrGraph(boost::edges_are_unsorted_multi_pass, edges.begin(), edges.end(), n);
}

// The live block an address lies in (its start or inside), or -1.
int64_t blockOf(const ScanGraph& scan, uint64_t address) {
  auto it = std::upper_bound(scan.addr.begin(), scan.addr.end(), address);
  if (it == scan.addr.begin()) return -1;
  size_t k = static_cast<size_t>(it - scan.addr.begin()) - 1;
  return address - scan.addr[k] < std::max<uint64_t>(scan.size[k], 1) ? static_cast<int64_t>(k) : -1;
}

// The blocks of a scan met in address order: at(address) is the live block an address lies in
// (its start or inside), or -1, for addresses that never decrease (blocks never overlap).
class BlockCursor {
 public:
  explicit BlockCursor(const ScanGraph& scan) : scan_(scan) {}
  int64_t at(uint64_t address) {
    while (next_ < scan_.addr.size() && scan_.addr[next_] + std::max<uint64_t>(scan_.size[next_], 1) <= address) ++next_;
    return next_ < scan_.addr.size() && scan_.addr[next_] <= address ? static_cast<int64_t>(next_) : -1;
  }

 private:
  const ScanGraph& scan_;
  size_t next_ = 0;
};

// Where each reference leads: the object (-1: one the collector does not track) and the block
// (-1: outside every block). The targets in address order, joined in one pass with the objects
// and the blocks (both in address order, blocks never overlapping).
struct ReferenceTargets {
  std::vector<int32_t> object;
  std::vector<int64_t> block;
};

ReferenceTargets referenceTargets(const ScanGraph& scan) {
  const PythonObjectGraph& py = scan.python;
  struct Target {
    uint64_t addr;
    uint32_t reference;
  };
  const size_t m = py.references.size();
  auto order = std::make_unique_for_overwrite<Target[]>(m);
  {
    auto scratch = std::make_unique_for_overwrite<Target[]>(m);
    for (size_t k = 0; k < m; ++k) order[k] = {py.references[k].second, static_cast<uint32_t>(k)};
    sortByAddress(order.get(), scratch.get(), m);
  }
  ReferenceTargets out{std::vector<int32_t>(m, -1), std::vector<int64_t>(m)};
  BlockCursor blocks(scan);
  size_t i = 0;
  for (size_t k = 0; k < m; ++k) {
    const Target& t = order[k];
    while (i < py.addr.size() && py.addr[i] < t.addr) ++i;
    if (i < py.addr.size() && py.addr[i] == t.addr) out.object[t.reference] = static_cast<int32_t>(i);
    out.block[t.reference] = blocks.at(t.addr);
  }
  return out;
}

// The references between tracked objects, and whether each is an instance's to its class.
struct ObjectEdges {
  Edges all, without_class;
};

ObjectEdges objectEdges(const PythonObjectGraph& py, const std::vector<int32_t>& target_object) {
  auto typeAddress = [&](size_t i) -> uint64_t {
    auto it = py.types.find(py.type[i]);
    return it == py.types.end() ? 0 : it->second.address;
  };
  ObjectEdges out;
  std::vector<uint8_t> class_seen(py.addr.size(), 0);
  for (size_t k = 0; k < py.references.size(); ++k) {
    const auto& [source, target] = py.references[k];
    const int32_t j = target_object[k];
    if (j < 0) continue;
    bool is_class = (py.flags[source] & format::kPythonClassEdge) && !class_seen[source] && target == typeAddress(source);
    if (is_class) class_seen[source] = 1;
    out.all.emplace_back(source, static_cast<uint32_t>(j));
    if (!is_class) out.without_class.emplace_back(source, static_cast<uint32_t>(j));
  }
  return out;
}

CollectorView viewOf(const PythonObjectGraph& py, const Edges& all) {
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

// The blocks of the objects (both in address order: one pass) and of the references' targets.
GraphBlocks graphBlocks(const ScanGraph& scan, ReferenceTargets&& targets) {
  const PythonObjectGraph& py = scan.python;
  GraphBlocks out;
  out.of_object.reserve(py.addr.size());
  BlockCursor blocks(scan);
  for (uint64_t address : py.addr) out.of_object.push_back(blocks.at(address));
  out.of_target = std::move(targets.block);
  return out;
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

// Every object's group: its type and the line that allocated it ("dict (universe.py:12)").
ObjectGroups objectGroups(const ScanGraph& scan, const std::vector<int64_t>& object_block,
                          const std::function<std::string(StackId)>& where) {
  const PythonObjectGraph& py = scan.python;
  const size_t n = py.addr.size();
  // Free-list types, by type id (replay keeps ids below format::kMaxPythonTypeId).
  uint64_t type_ids = 0;
  for (const auto& [id, type] : py.types) type_ids = std::max(type_ids, id + 1);
  std::vector<const FreeListType*> reused(type_ids, nullptr);
  for (const auto& [id, type] : py.types) reused[id] = freeListType(scan, type);
  auto reusedType = [&](uint32_t id) { return id < reused.size() ? reused[id] : nullptr; };
  // Per block: 1 for the block of an object named by its buffer, 2 for another object's. The
  // largest block each of the first points to that holds no object is its buffer.
  std::vector<uint8_t> kind(scan.addr.size(), 0);
  for (size_t i = 0; i < n; ++i)
    if (object_block[i] >= 0) {
      const FreeListType* t = reusedType(py.type[i]);
      kind[static_cast<size_t>(object_block[i])] = t && t->named_by_buffer ? 1 : 2;
    }
  std::vector<int32_t> buffer(scan.addr.size(), -1);
  for (const auto& [from, to] : scan.edges)
    if (kind[from] == 1 && kind[to] == 0 && (buffer[from] < 0 || scan.size[to] > scan.size[static_cast<size_t>(buffer[from])]))
      buffer[from] = static_cast<int32_t>(to);
  // Lines by stack (many stacks end on one line), numbered from 1 (0: none).
  std::unordered_map<StackId, uint32_t> line_of_stack;
  std::unordered_map<std::string, uint32_t> line_ids;
  std::vector<std::string> lines{""};
  auto lineOf = [&](StackId stack) {
    auto [it, added] = line_of_stack.try_emplace(stack, 0);
    if (added) {
      std::string line = where(stack);
      if (!line.empty()) {
        auto [id, new_line] = line_ids.emplace(line, static_cast<uint32_t>(lines.size()));
        if (new_line) lines.push_back(std::move(line));
        it->second = id->second;
      }
    }
    return it->second;
  };
  ObjectGroups out;
  out.of_object.resize(n);
  std::unordered_map<uint64_t, uint32_t> group_of_key;  // type id and line
  for (size_t i = 0; i < n; ++i) {
    int64_t named_by = object_block[i];
    if (const FreeListType* t = named_by >= 0 ? reusedType(py.type[i]) : nullptr) {
      named_by = t->named_by_buffer ? buffer[static_cast<size_t>(named_by)] : -1;
      if (named_by >= 0 && scan.size[static_cast<size_t>(named_by)] < t->fresh_buffer) named_by = -1;
    }
    const uint32_t line = named_by >= 0 ? lineOf(scan.stack[static_cast<size_t>(named_by)]) : 0;
    auto [it, added] = group_of_key.try_emplace(uint64_t{py.type[i]} << 32 | line, static_cast<uint32_t>(out.names.size()));
    if (added) {
      auto type = py.types.find(py.type[i]);
      std::string name = type == py.types.end() ? "?" : type->second.name;
      out.names.push_back(line ? name + " (" + lines[line] + ")" : name);
    }
    out.of_object[i] = it->second;
  }
  return out;
}

}  // namespace

PythonObjectFindings analyzePythonObjects(const ScanGraph& scan, const std::function<std::string(StackId)>& where,
                                          const std::function<bool(StackId)>& held_for_life) {
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
  const auto started = std::chrono::steady_clock::now();
  out.available = true;
  out.time_ns = scan.time_ns;
  out.reason = scan.reason;
  const size_t n = py.addr.size();
  out.objects = n;

  ReferenceTargets targets = referenceTargets(scan);
  ObjectEdges edges = objectEdges(py, targets.object);
  const CollectorView view = viewOf(py, edges.all);
  out.roots = view.roots;
  Edges& shape_edges = edges.without_class;
  const GraphBlocks blocks = graphBlocks(scan, std::move(targets));
  const ObjectGroups object_groups = objectGroups(scan, blocks.of_object, where);
  RetainedSizes sizes = findRetained(scan, view, object_groups, blocks);
  out.alive_bytes = sizes.alive_bytes;
  out.retained = std::move(sizes.groups);

  // The garbage, numbered apart, with its own graph of references (instance→class aside).
  std::vector<uint32_t> garbage;  // garbage index -> object index
  std::vector<int64_t> garbage_index(n, -1);
  std::vector<uint64_t> bytes;
  std::vector<std::string> names;
  std::vector<uint8_t> startup;
  for (size_t i = 0; i < n; ++i) {
    if (view.alive[i]) continue;
    garbage_index[i] = static_cast<int64_t>(garbage.size());
    garbage.push_back(static_cast<uint32_t>(i));
    out.garbage.push_back(py.addr[i]);
    const int64_t block = blocks.of_object[i];
    bytes.push_back(block >= 0 ? scan.size[static_cast<size_t>(block)] : 0);
    names.push_back(object_groups.names[object_groups.of_object[i]]);
    startup.push_back(block >= 0 && held_for_life(scan.stack[static_cast<size_t>(block)]));
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
  std::sort(garbage_edges.begin(), garbage_edges.end());
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

  std::map<std::string, CycleGroup> groups, startup_groups;
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
    const bool made_at_startup = std::all_of(cycle.begin(), cycle.end(), [&](uint32_t k) { return startup[k] != 0; });
    if (made_at_startup) {
      ++out.startup_cycle_count;
      out.startup_cycle_objects += cycle.size();
      out.startup_cycle_bytes += cycle_bytes;
    }
    std::vector<std::string> cycle_names;
    for (uint32_t k : cycle) cycle_names.push_back(names[k]);
    countCycle(made_at_startup ? startup_groups : groups, cycleShape(gg, cycle, cycle_names, visited), cycle.size(), cycle_bytes);
  }
  out.cycle_groups = largestFirst(std::move(groups));
  std::vector<CycleGroup> modules = largestFirst(std::move(startup_groups));
  for (CycleGroup& g : modules) g.startup = true;
  // The program's first, then the modules': each by bytes.
  out.cycle_groups.insert(out.cycle_groups.end(), modules.begin(), modules.end());
  out.analysis_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace tidemark
