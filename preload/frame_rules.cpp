#include "frame_rules.h"

#include "spinlock.h"
#include "sys.h"

namespace tidemark::preload {

FrameRuleSlot* g_frame_rule_slots = nullptr;
uint32_t g_frame_rule_generation = 1;

namespace {

uint64_t g_used = 0;
SpinLock g_lock;

bool sameRule(const FrameRule& a, const FrameRule& b) {
  if (a.kind != b.kind) return false;
  if (a.kind != FrameKind::Fixed) return true;
  return a.size == b.size && a.saves_rbp == b.saves_rbp && (!a.saves_rbp || a.rbp_offset == b.rbp_offset);
}

}  // namespace

void learnFrameRule(uint64_t pc, FrameRule rule) {
  if (pc == 0) return;
  LockGuard guard(g_lock);
  if (!g_frame_rule_slots) {
    auto* mem = static_cast<FrameRuleSlot*>(sys::mapAnonymous(kFrameRuleSlots * sizeof(FrameRuleSlot)));
    if (!mem) return;
    __atomic_store_n(&g_frame_rule_slots, mem, __ATOMIC_RELEASE);
  }
  uint64_t i = frameRuleHome(pc);
  for (;; i = (i + 1) & (kFrameRuleSlots - 1)) {
    FrameRuleSlot& s = g_frame_rule_slots[i];
    if (s.pc == pc) {
      if (s.generation != g_frame_rule_generation) {
        // Code at this address may have changed (dlclose): learn it again. Readers compare the
        // generation, written last.
        s.rule = rule;
        __atomic_store_n(&s.generation, g_frame_rule_generation, __ATOMIC_RELEASE);
        return;
      }
      if (s.rule.kind != FrameKind::Unusable && !sameRule(s.rule, rule))
        __atomic_store_n(reinterpret_cast<uint8_t*>(&s.rule.kind), static_cast<uint8_t>(FrameKind::Unusable), __ATOMIC_RELEASE);
      return;
    }
    if (s.pc == 0) break;
  }
  if (g_used * 4 >= kFrameRuleSlots * 3) return;  // full enough: leave it Unknown
  g_frame_rule_slots[i].rule = rule;
  g_frame_rule_slots[i].generation = g_frame_rule_generation;
  ++g_used;
  __atomic_store_n(&g_frame_rule_slots[i].pc, pc, __ATOMIC_RELEASE);
}

void forgetFrameRules() { __atomic_add_fetch(&g_frame_rule_generation, 1, __ATOMIC_RELEASE); }


}  // namespace tidemark::preload
