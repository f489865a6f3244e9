#include "python_retained.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "dominators.h"
#include "tidemark/trace_format.h"

namespace tidemark {

namespace {

using Edges = std::vector<std::pair<uint32_t, uint32_t>>;

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
  // Whether the object at `address` is a module, a module's globals dict or sys.modules: what holds
  // the whole program, not a structure of its own.
  bool isModuleHolder(uint64_t address) const {
    if (modules_.count(address)) return true;
    auto [first, last] = globals_.equal_range(address);
    for (auto it = first; it != last; ++it)
      if (it->second.name == "sys.modules") return true;
    return false;
  }
  // How a chain names the object at `address`: by its name and type, else `fallback`; `previous`
  // is the object before it in the chain.
  std::string label(uint64_t address, const std::string& type, const std::string& fallback, uint64_t previous) const {
    std::string name = nameOf(address, previous);
    if (name.empty()) return fallback;
    return modules_.count(address) ? name : name + " (" + type + ")";
  }

 private:
  struct Global {
    uint64_t holder;
    std::string name;
  };
  std::unordered_map<uint64_t, std::string> modules_;  // modules and their dicts
  std::unordered_multimap<uint64_t, Global> globals_;
};

// A chain longer than this many objects shows its first and last ones.
constexpr size_t kChainHead = 4, kChainTail = 7;
// A chain's walk up the dominator tree stops after this many blocks (a linked list's).
constexpr size_t kChainWalk = 100000;

}  // namespace

// What keeps memory alive. The graph is one of blocks: an object's block refers to the blocks of
// the objects its type reports (precise) and, by the conservative scan, to the blocks that hold no
// tracked object (its buffers: a list's items, a dict's table, an array's data); a block that holds
// no tracked object and that no object points to refers to whatever the scan found in it. A
// virtual root refers to the blocks of the collector's roots and to the blocks native roots point
// to that no object does. The immediate dominators give each block what would be freed with it.
RetainedSizes findRetained(const ScanGraph& scan, const CollectorView& view, const ObjectGroups& groups, const GraphBlocks& blocks) {
  RetainedSizes out;
  const PythonObjectGraph& py = scan.python;
  const GlobalNames global_names(py);
  const auto nb = static_cast<uint32_t>(scan.addr.size()), root = nb;
  std::vector<int32_t> block_object(nb, -1);  // the tracked object a block holds
  for (size_t i = 0; i < blocks.of_object.size(); ++i)
    if (blocks.of_object[i] >= 0) block_object[static_cast<size_t>(blocks.of_object[i])] = static_cast<int32_t>(i);

  // Edges from objects' blocks: the references their types report, and the scan's words that
  // lead to blocks holding no tracked object (their buffers). An object outside every block (a
  // static type, a static module's state) refers from the root.
  Edges edges;
  edges.reserve(py.references.size() + scan.edges.size() / 2);
  for (size_t k = 0; k < py.references.size(); ++k) {
    const uint32_t source = py.references[k].first;
    const int64_t to = blocks.of_target[k];
    const int64_t from = blocks.of_object[source] >= 0 ? blocks.of_object[source] : static_cast<int64_t>(root);
    if (to >= 0 && from != to && view.alive[source]) edges.emplace_back(static_cast<uint32_t>(from), static_cast<uint32_t>(to));
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
    if (view.root[i] && blocks.of_object[i] >= 0) edges.emplace_back(root, static_cast<uint32_t>(blocks.of_object[i]));
  for (uint32_t b = 0; b < nb; ++b)
    if (scan.root_kind[b] && block_object[b] < 0 && !owned[b]) edges.emplace_back(root, b);
  owned = {};
  const DominatorTree tree = dominatorTree(nb + 1, root, edges);
  edges = {};
  const std::vector<uint32_t>& idom = tree.idom;
  constexpr uint32_t none = DominatorTree::kNone;

  // Retained bytes: each block's own, added to its dominator's, deepest first (a dominator comes
  // before what it dominates in the preorder).
  std::vector<uint64_t> retained(nb + 1, 0);
  for (uint32_t v : tree.preorder)
    if (v != root) retained[v] = scan.size[v];
  for (auto it = tree.preorder.rbegin(); it != tree.preorder.rend(); ++it)
    if (*it != root) retained[idom[*it]] += retained[*it];
  out.alive_bytes = retained[root];

  std::vector<RetainedGroup> stats(groups.names.size());
  std::vector<int32_t> block_group(nb + 1, -1);
  for (size_t i = 0; i < py.addr.size(); ++i) {
    if (!view.alive[i] || blocks.of_object[i] < 0) continue;
    const auto b = static_cast<size_t>(blocks.of_object[i]);
    RetainedGroup& group = stats[groups.of_object[i]];
    ++group.objects;
    group.own_bytes += scan.size[b];
    block_group[b] = static_cast<int32_t>(groups.of_object[i]);
  }
  // Held bytes: each block goes to the group of the nearest object that dominates it (itself, for
  // an object's block), so that the groups' held bytes add up to what the objects keep alive.
  {
    std::vector<int32_t> holder(nb + 1, -1);
    for (uint32_t v : tree.preorder) {
      if (v == root) continue;
      holder[v] = block_group[v] >= 0 ? block_group[v] : holder[idom[v]];
      if (holder[v] >= 0) stats[static_cast<size_t>(holder[v])].held_bytes += scan.size[v];
    }
  }
  // Per group, its members not inside another member of the same group: a walk of the dominator
  // tree, depth first, counting how many members of each group are open above.
  std::vector<uint32_t> first_child(nb + 2, 0), children(tree.preorder.empty() ? 0 : tree.preorder.size() - 1);
  for (uint32_t v : tree.preorder)
    if (v != root) ++first_child[idom[v] + 1];
  for (uint32_t v = 0; v <= nb; ++v) first_child[v + 1] += first_child[v];
  {
    std::vector<uint32_t> next(first_child.begin(), first_child.end() - 1);
    for (uint32_t v : tree.preorder)
      if (v != root) children[next[idom[v]]++] = v;
  }
  std::vector<uint32_t> open(stats.size(), 0), largest(stats.size(), none);
  std::vector<std::pair<uint32_t, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [v, leaving] = stack.back();
    stack.pop_back();
    const int32_t group = block_group[v];
    if (leaving) {
      --open[static_cast<size_t>(group)];
      continue;
    }
    if (group >= 0) {
      const auto k = static_cast<size_t>(group);
      if (!open[k]) stats[k].retained_bytes += retained[v];
      if (largest[k] == none || retained[v] > retained[largest[k]]) largest[k] = v;
      ++open[k];
      stack.push_back({v, true});
    }
    for (uint32_t c = first_child[v]; c < first_child[v + 1]; ++c) stack.push_back({children[c], false});
  }

  std::vector<size_t> ranked;
  for (size_t k = 0; k < stats.size(); ++k)
    if (largest[k] != none) ranked.push_back(k);  // (a group none of whose blocks a root reaches has no size)
  std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) { return stats[a].retained_bytes > stats[b].retained_bytes; });
  if (ranked.size() > kListedGroups) ranked.resize(kListedGroups);
  auto typeName = [&](size_t i) {
    auto type = py.types.find(py.type[i]);
    return type == py.types.end() ? std::string{"?"} : type->second.name;
  };
  for (size_t k : ranked) {
    RetainedGroup& group = stats[k];
    group.name = groups.names[k];
    // The chain: the objects that dominate its largest member, from the root down.
    std::vector<size_t> chain;
    size_t walked = 0;
    for (uint32_t v = idom[largest[k]]; v != root && v != none && walked < kChainWalk; v = idom[v], ++walked)
      if (block_object[v] >= 0) chain.push_back(static_cast<size_t>(block_object[v]));
    std::reverse(chain.begin(), chain.end());
    uint64_t previous = 0;
    for (size_t c = 0; c < chain.size(); ++c) {
      const size_t i = chain[c];
      if (chain.size() > kChainHead + kChainTail && c == kChainHead)
        group.chain.push_back(fmt::format("… {} more …", chain.size() - kChainHead - kChainTail));
      if (chain.size() <= kChainHead + kChainTail || c < kChainHead || c >= chain.size() - kChainTail)
        group.chain.push_back(global_names.label(py.addr[i], typeName(i), groups.names[groups.of_object[i]], previous));
      previous = py.addr[i];
    }
    if (walked == kChainWalk) group.chain.insert(group.chain.begin(), "…");
    const uint64_t address = py.addr[static_cast<size_t>(block_object[largest[k]])];
    group.global = global_names.nameOf(address, previous);
    group.holds_modules = global_names.isModuleHolder(address);
    out.groups.push_back(std::move(group));
  }
  return out;
}

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

}  // namespace tidemark
