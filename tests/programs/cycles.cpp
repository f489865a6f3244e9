// Known leaks for the heap scan (argv: N2 N3 M K):
//   N2 cycles Order <-> Fill (make_shared, each holding a shared_ptr to the other), dropped;
//   N3 cycles Node -> Edge -> Label -> Node (three make_shared types), dropped;
//   M plain leaks (malloc'd 40-byte buffers whose pointer is dropped);
//   K Order <-> Fill cycles still held by a global (never destroyed): reachable, not leaks.
// Prints nothing. Compare with: valgrind --leak-check=full.
// With a fifth argument "signal": raises SIGUSR2 (the tracker's scan signal in the tests), waits
// for the scan, then dies by SIGKILL, so the trace holds only the scan made while it ran.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace {

struct Fill;
struct Order {
  long id = 0;
  double price = 0;
  std::shared_ptr<Fill> fill;
};
struct Fill {
  long qty = 0;
  std::shared_ptr<Order> order;
};

struct Edge;
struct Label;
struct Node {
  std::shared_ptr<Edge> out;
};
struct Edge {
  double weight = 1;
  std::shared_ptr<Label> label;
};
struct Label {
  char text[24] = {};
  std::shared_ptr<Node> owner;
};

NOINLINE std::shared_ptr<Order> makeOrder(long id) {
  auto o = std::make_shared<Order>();
  o->id = id;
  return o;
}
NOINLINE std::shared_ptr<Fill> makeFill(const std::shared_ptr<Order>& o) {
  auto f = std::make_shared<Fill>();
  f->qty = o->id;
  f->order = o;
  o->fill = f;
  return f;
}
NOINLINE std::shared_ptr<Node> makeNode() { return std::make_shared<Node>(); }
NOINLINE std::shared_ptr<Edge> makeEdge() { return std::make_shared<Edge>(); }
NOINLINE std::shared_ptr<Label> makeLabel() { return std::make_shared<Label>(); }

NOINLINE void* plainLeak() {
  void* p = malloc(40);
  memset(p, 0, 40);
  asm volatile("" ::"r"(p) : "memory");  // not a tail call into calloc
  return p;
}

std::vector<std::shared_ptr<Order>>* g_held = new std::vector<std::shared_ptr<Order>>();

NOINLINE void leakEverything(long n2, long n3, long m, long k) {
  for (long i = 0; i < n2; ++i) {
    auto o = makeOrder(i);
    makeFill(o);
  }
  for (long i = 0; i < n3; ++i) {
    auto node = makeNode();
    auto edge = makeEdge();
    auto label = makeLabel();
    node->out = edge;
    edge->label = label;
    label->owner = node;
  }
  for (long i = 0; i < m; ++i) {
    void* volatile p = plainLeak();
    (void)p;
  }
  g_held->reserve(static_cast<size_t>(k));
  for (long i = 0; i < k; ++i) {
    auto o = makeOrder(i);
    makeFill(o);
    g_held->push_back(o);
  }
}

// Overwrites the stack area the work above used, so no stale slot keeps a block alive.
NOINLINE void scrubStack() {
  volatile char junk[16384];
  memset(const_cast<char*>(junk), 0, sizeof junk);
}

}  // namespace

int main(int argc, char** argv) {
  long n2 = argc > 1 ? atol(argv[1]) : 1000, n3 = argc > 2 ? atol(argv[2]) : 500;
  long m = argc > 3 ? atol(argv[3]) : 300, k = argc > 4 ? atol(argv[4]) : 200;
  leakEverything(n2, n3, m, k);
  scrubStack();
  if (argc > 5 && std::string_view(argv[5]) == "signal") {
    raise(SIGUSR2);
    usleep(500000);
    raise(SIGKILL);
  }
  return 0;
}
