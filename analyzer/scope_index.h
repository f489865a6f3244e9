// The functions and inlined calls of one DWARF compile unit, indexed by address once, so that
// finding the inline chain at an address is a binary search instead of libdw's walk over the whole
// CU (dwarf_getscopes), which made symbolizing a large C++ translation unit quadratic.
#pragma once

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdint>
#include <vector>

namespace tidemark {

class ScopeIndex {
 public:
  explicit ScopeIndex(Dwarf_Die* cu);

  // The chain of scopes at pc (CU-relative address), innermost first: inlined subroutines, then the
  // subprogram they were inlined into. Empty when no function of this CU covers pc.
  std::vector<Dwarf_Die> chainAt(uint64_t pc) const;

 private:
  struct Node {
    Dwarf_Die die;
    int parent;  // enclosing node, -1 for a subprogram
  };
  struct Range {
    uint64_t lo, hi;
    int node;
    int depth;
  };
  void walk(Dwarf_Die* die, int parent, int top, int depth);

  std::vector<Node> nodes_;
  std::vector<Range> functions_;             // subprogram ranges, sorted by lo
  std::vector<int> function_top_;            // functions_[i] -> index into inlined_
  std::vector<std::vector<Range>> inlined_;  // per subprogram: its inlined calls' ranges
};

}  // namespace tidemark
