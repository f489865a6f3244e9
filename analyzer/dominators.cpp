#include "dominators.h"

namespace tidemark {

namespace {

// A graph's edges by vertex (compressed rows): the neighbours of v are at[first[v] .. first[v + 1]).
struct Rows {
  std::vector<uint32_t> first, at;
  Rows(uint32_t n, const std::vector<std::pair<uint32_t, uint32_t>>& edges, bool reversed) : first(n + 1, 0), at(edges.size()) {
    for (const auto& [from, to] : edges) ++first[(reversed ? to : from) + 1];
    for (uint32_t v = 0; v < n; ++v) first[v + 1] += first[v];
    std::vector<uint32_t> next(first.begin(), first.end() - 1);
    for (const auto& [from, to] : edges) at[next[reversed ? to : from]++] = reversed ? from : to;
  }
};

}  // namespace

DominatorTree dominatorTree(uint32_t n, uint32_t root, const std::vector<std::pair<uint32_t, uint32_t>>& edges) {
  DominatorTree tree;
  tree.idom.assign(n, DominatorTree::kNone);
  if (root >= n) return tree;
  const Rows out(n, edges, false);

  // Depth-first search from the root: vertices numbered 1, 2, ... in preorder (0: not reached),
  // each with its parent's number.
  std::vector<uint32_t> number(n, 0), vertex{0}, parent{0};
  {
    std::vector<std::pair<uint32_t, uint32_t>> stack{{root, out.first[root]}};  // vertex, next edge
    number[root] = 1;
    vertex.push_back(root);
    parent.push_back(0);
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      if (next == out.first[v + 1]) {
        stack.pop_back();
        continue;
      }
      const uint32_t w = out.at[next++];
      if (number[w]) continue;
      number[w] = static_cast<uint32_t>(vertex.size());
      vertex.push_back(w);
      parent.push_back(number[v]);
      stack.push_back({w, out.first[w]});
    }
  }
  const auto reached = static_cast<uint32_t>(vertex.size() - 1);

  // Semidominators, by number, from the last vertex of the preorder to the second. The forest of
  // processed vertices (ancestor, 0 at a tree's root) is compressed on each evaluation: label[v]
  // is then the vertex of least semidominator on the path from v up to below its tree's root.
  const Rows in(n, edges, true);
  std::vector<uint32_t> semi(reached + 1), label(reached + 1), ancestor(reached + 1, 0), path;
  for (uint32_t i = 0; i <= reached; ++i) semi[i] = label[i] = i;
  auto eval = [&](uint32_t v) {
    if (!ancestor[v]) return v;
    for (uint32_t x = v; ancestor[ancestor[x]]; x = ancestor[x]) path.push_back(x);
    while (!path.empty()) {
      const uint32_t y = path.back(), a = ancestor[y];
      path.pop_back();
      if (semi[label[a]] < semi[label[y]]) label[y] = label[a];
      ancestor[y] = ancestor[a];
    }
    return label[v];
  };
  for (uint32_t w = reached; w >= 2; --w) {
    const uint32_t v = vertex[w];
    for (uint32_t e = in.first[v]; e < in.first[v + 1]; ++e) {
      const uint32_t u = number[in.at[e]];
      if (!u) continue;
      const uint32_t least = semi[eval(u)];
      if (least < semi[w]) semi[w] = least;
    }
    ancestor[w] = parent[w];
  }

  // Each immediate dominator: the nearest ancestor of the parent whose number is at most the
  // semidominator's (their common ancestor), walking up the dominators found before.
  std::vector<uint32_t> idom(reached + 1, 0);
  for (uint32_t w = 2; w <= reached; ++w) {
    uint32_t d = parent[w];
    while (d > semi[w]) d = idom[d];
    idom[w] = d;
  }
  tree.preorder.assign(vertex.begin() + 1, vertex.end());
  for (uint32_t w = 2; w <= reached; ++w) tree.idom[vertex[w]] = vertex[idom[w]];
  return tree;
}

}  // namespace tidemark
