// A group of cycles of one shape, as the native heap scan (cycles.h) and the Python object graph
// (python_graph.h) report them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tidemark {

struct CycleGroup {
  std::string shape;               // "Order (engine/order.cpp:42) → Fill (engine/fill.cpp:17) → Order (...)"
  std::vector<std::string> sites;  // the distinct member sites, in the order of the shape
  uint64_t cycles = 0, blocks = 0, bytes = 0;
  // Python garbage: every member made while a module was imported or the interpreter started.
  bool startup = false;
};

}  // namespace tidemark
