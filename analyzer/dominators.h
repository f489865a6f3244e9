// The dominator tree of a graph from one root: a vertex's immediate dominator is the last vertex
// every path from the root to it goes through. Semi-NCA (Georgiadis): Lengauer–Tarjan's
// semidominators over a depth-first search, then each immediate dominator as the nearest common
// ancestor of the vertex's parent and its semidominator in the search tree. Iterative, over flat
// arrays of 32-bit numbers: a graph of 10 M vertices takes about 50 bytes per vertex and 16 per
// edge (Boost's lengauer_tarjan_dominator_tree keeps a std::deque per vertex, over 500 bytes
// each). Method and measurements: docs/python.md, "Retained sizes".
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace tidemark {

struct DominatorTree {
  static constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> idom;      // per vertex: its immediate dominator; kNone for the root and what it does not reach
  std::vector<uint32_t> preorder;  // the vertices the root reaches, each after its dominators (the root first)
};

// `edges` are (from, to) pairs in any order, duplicates allowed, every vertex below n.
DominatorTree dominatorTree(uint32_t n, uint32_t root, const std::vector<std::pair<uint32_t, uint32_t>>& edges);

}  // namespace tidemark
