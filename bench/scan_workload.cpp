// Heap-scan benchmark workload: N live blocks at exit (argv[1], default 1,000,000), in chains of
// 16 nodes of 48 bytes (a pointer to the next node, some payload). Half the chains stay reachable
// from a global table, half are dropped with their last node pointing back to the first (leaked
// cycles). Exits normally so the tracker's exit scan runs.
#include <cstdio>
#include <cstdlib>
#include <vector>

struct Node {
  Node* next;
  long payload[5];
};

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  auto* kept = new std::vector<Node*>();
  long chains = n / 16;
  kept->reserve(static_cast<size_t>(chains));
  for (long c = 0; c < chains; ++c) {
    Node* first = new Node{nullptr, {c}};
    Node* at = first;
    for (int k = 1; k < 16; ++k) {
      at->next = new Node{nullptr, {c, k}};
      at = at->next;
    }
    if (c % 2 == 0)
      kept->push_back(first);
    else
      at->next = first;  // a leaked cycle of 16
  }
  printf("chains=%ld blocks=%ld\n", chains, chains * 16);
  return 0;
}
