// The dominator tree (analyzer/dominators.h) against the definition (what the root no longer
// reaches without a vertex) and Boost.Graph's Lengauer–Tarjan on random graphs, and on a chain
// long enough that a recursive search would overflow the stack.
#include <gtest/gtest.h>

#include <random>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dominator_tree.hpp>

#include "dominators.h"

using tidemark::DominatorTree;

namespace {

using Edges = std::vector<std::pair<uint32_t, uint32_t>>;

std::vector<uint32_t> boostDominators(uint32_t n, uint32_t root, const Edges& edges) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;
  using Vertex = boost::graph_traits<Graph>::vertex_descriptor;
  Graph g(edges.begin(), edges.end(), n);
  const Vertex none = boost::graph_traits<Graph>::null_vertex();
  std::vector<Vertex> idom(n, none);
  boost::lengauer_tarjan_dominator_tree(g, root, boost::make_iterator_property_map(idom.begin(), boost::get(boost::vertex_index, g)));
  std::vector<uint32_t> out(n);
  for (uint32_t v = 0; v < n; ++v) out[v] = idom[v] == none ? DominatorTree::kNone : static_cast<uint32_t>(idom[v]);
  return out;
}

// By the definition: d dominates v when the root reaches v but no longer does without d; the
// immediate dominator is the strict dominator that the others dominate (the one with most).
std::vector<uint32_t> definedDominators(uint32_t n, uint32_t root, const Edges& edges) {
  auto reached = [&](uint32_t removed) {
    std::vector<uint8_t> seen(n, 0);
    if (root == removed) return seen;
    std::vector<uint32_t> stack{root};
    seen[root] = 1;
    while (!stack.empty()) {
      uint32_t v = stack.back();
      stack.pop_back();
      for (const auto& [from, to] : edges)
        if (from == v && to != removed && !seen[to]) seen[to] = 1, stack.push_back(to);
    }
    return seen;
  };
  const std::vector<uint8_t> all = reached(n);
  std::vector<std::vector<uint32_t>> strict(n);
  for (uint32_t d = 0; d < n; ++d) {
    if (!all[d]) continue;
    const std::vector<uint8_t> without = reached(d);
    for (uint32_t v = 0; v < n; ++v)
      if (v != d && all[v] && !without[v]) strict[v].push_back(d);
  }
  std::vector<uint32_t> idom(n, DominatorTree::kNone);
  for (uint32_t v = 0; v < n; ++v)
    for (uint32_t d : strict[v])
      if (idom[v] == DominatorTree::kNone || strict[d].size() > strict[idom[v]].size()) idom[v] = d;
  return idom;
}

}  // namespace

TEST(Dominators, AgreeWithTheDefinitionOnRandomGraphs) {
  std::mt19937 random(20261130);
  for (int round = 0; round < 300; ++round) {
    const uint32_t n = 1 + random() % 120;
    const uint32_t edge_count = random() % (4 * n + 1);
    Edges edges;
    for (uint32_t k = 0; k < edge_count; ++k) edges.emplace_back(random() % n, random() % n);
    const uint32_t root = random() % n;
    const DominatorTree tree = tidemark::dominatorTree(n, root, edges);
    ASSERT_EQ(tree.idom, definedDominators(n, root, edges)) << "round " << round;
    // The preorder holds every reached vertex once, after its dominator.
    std::vector<int> position(n, -1);
    for (size_t k = 0; k < tree.preorder.size(); ++k) position[tree.preorder[k]] = static_cast<int>(k);
    ASSERT_EQ(tree.preorder.front(), root);
    for (uint32_t v = 0; v < n; ++v) {
      if (v == root) continue;
      EXPECT_EQ(position[v] >= 0, tree.idom[v] != DominatorTree::kNone);
      if (tree.idom[v] != DominatorTree::kNone) {
        EXPECT_LT(position[tree.idom[v]], position[v]);
      }
    }
  }
}

// Boost's Lengauer–Tarjan takes an unreached vertex's edges into the reached ones as the root's
// (both have depth-first number 0): the two agree on graphs where the root reaches everything.
TEST(Dominators, AgreeWithBoostsLengauerTarjanWhereTheRootReachesEverything) {
  std::mt19937 random(30112026);
  for (int round = 0; round < 300; ++round) {
    const uint32_t n = 1 + random() % 120;
    Edges edges;
    for (uint32_t v = 1; v < n; ++v) edges.emplace_back(random() % v, v);  // a tree from 0
    const uint32_t extra = random() % (3 * n + 1);
    for (uint32_t k = 0; k < extra; ++k) edges.emplace_back(random() % n, random() % n);
    ASSERT_EQ(tidemark::dominatorTree(n, 0, edges).idom, boostDominators(n, 0, edges)) << "round " << round;
  }
}

TEST(Dominators, AChainOfAMillionVertices) {
  constexpr uint32_t n = 1'000'000;
  Edges edges;
  for (uint32_t v = 0; v + 1 < n; ++v) edges.emplace_back(v, v + 1);
  edges.emplace_back(n - 1, 1);  // back to the second: a cycle below the root
  const DominatorTree tree = tidemark::dominatorTree(n, 0, edges);
  ASSERT_EQ(tree.preorder.size(), n);
  EXPECT_EQ(tree.idom[0], DominatorTree::kNone);
  for (uint32_t v = 1; v < n; ++v) ASSERT_EQ(tree.idom[v], v - 1);
}
