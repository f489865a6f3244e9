#include "frame_rules.h"

#include "spinlock.h"
#include "sys.h"

namespace tidemark::preload {

namespace {

// Open addressing on the pc; a slot's pc is written last (release), so readers never lock. 2^17
// slots (2 MiB of address space, touched as used) hold the return addresses of a large program;
// when it is full, new pcs stay Unknown and their stacks go through libunwind.
struct Slot {
  uint64_t pc;
  FrameRule rule;
  uint32_t generation;  // rules from before the last dlclose are not used
};
uint32_t g_generation = 1;
constexpr uint64_t kSlots = 1 << 17;
Slot* g_slots = nullptr;
uint64_t g_used = 0;
SpinLock g_lock;

inline uint64_t hashPc(uint64_t pc) { return (pc * 0x9e3779b97f4a7c15ull) >> 47; }

bool sameRule(const FrameRule& a, const FrameRule& b) {
  if (a.kind != b.kind) return false;
  if (a.kind != FrameKind::Fixed) return true;
  return a.size == b.size && a.saves_rbp == b.saves_rbp && (!a.saves_rbp || a.rbp_offset == b.rbp_offset);
}

}  // namespace

FrameRule frameRule(uint64_t pc) {
  const Slot* slots = __atomic_load_n(&g_slots, __ATOMIC_ACQUIRE);
  if (!slots) return {};
  for (uint64_t i = hashPc(pc);; i = (i + 1) & (kSlots - 1)) {
    uint64_t p = __atomic_load_n(&slots[i].pc, __ATOMIC_ACQUIRE);
    if (p == pc) {
      if (__atomic_load_n(&slots[i].generation, __ATOMIC_ACQUIRE) != __atomic_load_n(&g_generation, __ATOMIC_ACQUIRE))
        return {};
      FrameRule rule = slots[i].rule;
      // A rule turned Unusable after publication: the kind byte is re-read last.
      rule.kind = static_cast<FrameKind>(__atomic_load_n(reinterpret_cast<const uint8_t*>(&slots[i].rule.kind), __ATOMIC_ACQUIRE));
      return rule;
    }
    if (p == 0) return {};
  }
}

void learnFrameRule(uint64_t pc, FrameRule rule) {
  if (pc == 0) return;
  LockGuard guard(g_lock);
  if (!g_slots) {
    auto* mem = static_cast<Slot*>(sys::mapAnonymous(kSlots * sizeof(Slot)));
    if (!mem) return;
    __atomic_store_n(&g_slots, mem, __ATOMIC_RELEASE);
  }
  uint64_t i = hashPc(pc);
  for (;; i = (i + 1) & (kSlots - 1)) {
    Slot& s = g_slots[i];
    if (s.pc == pc) {
      if (s.generation != g_generation) {
        // Code at this address may have changed (dlclose): learn it again. Readers compare the
        // generation, written last.
        s.rule = rule;
        __atomic_store_n(&s.generation, g_generation, __ATOMIC_RELEASE);
        return;
      }
      if (s.rule.kind != FrameKind::Unusable && !sameRule(s.rule, rule))
        __atomic_store_n(reinterpret_cast<uint8_t*>(&s.rule.kind), static_cast<uint8_t>(FrameKind::Unusable), __ATOMIC_RELEASE);
      return;
    }
    if (s.pc == 0) break;
  }
  if (g_used * 4 >= kSlots * 3) return;  // full enough: leave it Unknown
  g_slots[i].rule = rule;
  g_slots[i].generation = g_generation;
  ++g_used;
  __atomic_store_n(&g_slots[i].pc, pc, __ATOMIC_RELEASE);
}

void forgetFrameRules() { __atomic_add_fetch(&g_generation, 1, __ATOMIC_RELEASE); }

void resetFrameRules() {
  // After fork the child's code is the parent's: the rules stay valid. Only the lock is reset.
  g_lock.reset();
}

}  // namespace tidemark::preload
