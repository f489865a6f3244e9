#include "fork_gate.h"

#include <sched.h>

#include "sys.h"

namespace tidemark::preload {

namespace {

uint32_t g_in_sections = 0;        // threads inside a section
bool g_gate_closed = false;        // a fork handler is waiting: new sections wait too
bool g_under_way_at_fork = false;  // set before the fork, read in the child
__thread uint32_t t_section_depth __attribute__((tls_model("initial-exec")));

// A wait's next turn: the core given up at once for the first hundred, then 100 us asleep, so that
// a long wait (up to kForkWaitNs) does not hold a core.
void backOff(uint32_t& turns) {
  if (++turns < 100)
    sched_yield();
  else
    sys::nap(100'000);
}

}  // namespace

void enterForkGatedSection() {
  if (t_section_depth++ > 0) return;
  for (uint32_t turns = 0;; backOff(turns)) {
    if (!__atomic_load_n(&g_gate_closed, __ATOMIC_SEQ_CST)) {
      __atomic_add_fetch(&g_in_sections, 1, __ATOMIC_SEQ_CST);
      // Dekker's order: the fork handler closes the gate, then reads the count; a section counts
      // itself, then reads the gate. One of the two sees the other.
      if (!__atomic_load_n(&g_gate_closed, __ATOMIC_SEQ_CST)) return;
      __atomic_sub_fetch(&g_in_sections, 1, __ATOMIC_SEQ_CST);
    }
  }
}

void leaveForkGatedSection() {
  if (--t_section_depth > 0) return;
  __atomic_sub_fetch(&g_in_sections, 1, __ATOMIC_SEQ_CST);
}

void closeForkGate() {
  __atomic_store_n(&g_gate_closed, true, __ATOMIC_SEQ_CST);
  // The forking thread's own section (a fork from a walk's callback) is in the child whatever we do.
  const uint32_t own = t_section_depth > 0 ? 1 : 0;
  const uint64_t deadline = sys::monotonicNs() + kForkWaitNs;
  for (uint32_t turns = 0; __atomic_load_n(&g_in_sections, __ATOMIC_SEQ_CST) > own && sys::monotonicNs() < deadline;)
    backOff(turns);
  g_under_way_at_fork = __atomic_load_n(&g_in_sections, __ATOMIC_SEQ_CST) > 0;
  // Past the wait, the fork goes ahead with a section under way: holding the others back gains nothing.
  if (g_under_way_at_fork) __atomic_store_n(&g_gate_closed, false, __ATOMIC_SEQ_CST);
}

void openForkGateInParent() { __atomic_store_n(&g_gate_closed, false, __ATOMIC_SEQ_CST); }

void openForkGateInChild() {
  // The child has one thread: only its own section, if it forked from one, is under way.
  __atomic_store_n(&g_in_sections, t_section_depth > 0 ? 1u : 0u, __ATOMIC_SEQ_CST);
  __atomic_store_n(&g_gate_closed, false, __ATOMIC_SEQ_CST);
}

bool sectionWasUnderWayAtFork() { return g_under_way_at_fork; }

}  // namespace tidemark::preload
