#include "scope_index.h"

#include <algorithm>
#include <numeric>

namespace tidemark {

ScopeIndex::ScopeIndex(Dwarf_Die* cu) {
  walk(cu, -1, -1, 0);
  std::vector<size_t> order(functions_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return functions_[a].lo < functions_[b].lo; });
  std::vector<Range> sorted;
  std::vector<int> tops;
  for (size_t i : order) {
    sorted.push_back(functions_[i]);
    tops.push_back(function_top_[i]);
  }
  functions_ = std::move(sorted);
  function_top_ = std::move(tops);
}

void ScopeIndex::walk(Dwarf_Die* die, int parent, int top, int depth) {
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
      std::vector<std::pair<uint64_t, uint64_t>> ranges;
      Dwarf_Addr base = 0, lo = 0, hi = 0;
      for (ptrdiff_t off = 0; (off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0;)
        if (hi > lo) ranges.emplace_back(lo, hi);
      if (ranges.empty()) continue;  // an abstract instance or a declaration: no code of its own
      bool is_function = tag == DW_TAG_subprogram || top < 0;
      int node = static_cast<int>(nodes_.size());
      nodes_.push_back({child, is_function ? -1 : parent});
      int child_top = top;
      if (is_function) {
        child_top = static_cast<int>(inlined_.size());
        inlined_.emplace_back();
        for (auto [a, b] : ranges) {
          functions_.push_back({a, b, node, 0});
          function_top_.push_back(child_top);
        }
      } else {
        for (auto [a, b] : ranges) inlined_[top].push_back({a, b, node, depth + 1});
      }
      walk(&child, node, child_top, is_function ? 0 : depth + 1);
    } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
               tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
      walk(&child, parent, top, depth);
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

std::vector<Dwarf_Die> ScopeIndex::chainAt(uint64_t pc) const {
  std::vector<Dwarf_Die> chain;
  auto it = std::upper_bound(functions_.begin(), functions_.end(), pc,
                             [](uint64_t v, const Range& r) { return v < r.lo; });
  if (it == functions_.begin()) return chain;
  --it;
  if (pc >= it->hi) return chain;
  int innermost = it->node;
  int best_depth = 0;
  for (const Range& r : inlined_[function_top_[it - functions_.begin()]])
    if (pc >= r.lo && pc < r.hi && r.depth > best_depth) {
      innermost = r.node;
      best_depth = r.depth;
    }
  for (int n = innermost; n >= 0; n = nodes_[n].parent) chain.push_back(nodes_[n].die);
  return chain;
}

}  // namespace tidemark
