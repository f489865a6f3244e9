// How to step out of a frame, per return address: learned once per pc from libunwind's DWARF
// unwinder (unw_step), then applied by the tracker's own unwinder, which costs a table look-up and
// two loads per frame and reports which stack words it read (the stack cache validates with those).
//
// A rule is one of:
//   Fixed: CFA = sp + size; the caller's rbp is saved at CFA + rbp_offset, or not touched.
//   FramePointer: CFA = rbp + 16 and the caller's rbp is at [rbp] (push rbp; mov rsp, rbp). Sizes
//     that change at run time (alloca, VLAs) are only possible in such frames.
//   Outermost: the unwind ends here (_start, clone).
//   Unusable: seen twice with different rules, or a signal frame: stacks through it are unwound
//     by libunwind every time.
// A rule can only be learned wrong if a pc first shows a coincidence (a general-purpose rbp that
// equals CFA - 16); the first different observation marks it Unusable, and TIDEMARK_VERIFY_STACKS
// compares every stack with libunwind's.
#pragma once

#include <cstdint>

namespace tidemark::preload {

enum class FrameKind : uint8_t { Unknown = 0, Fixed = 1, FramePointer = 2, Outermost = 3, Unusable = 4 };

struct FrameRule {
  FrameKind kind;
  bool saves_rbp;      // Fixed: the caller's rbp is at CFA + rbp_offset
  int16_t rbp_offset;
  uint32_t size;       // Fixed: CFA - sp
};

// Open addressing on the pc; a slot's pc is written last (release), so readers never lock. 2^17
// slots (3 MiB of address space, touched as used) hold the return addresses of a large program;
// when it is full, new pcs stay Unknown and their stacks go through libunwind.
struct FrameRuleSlot {
  uint64_t pc;
  FrameRule rule;
  uint32_t generation;  // rules from before the last dlclose are not used
};
inline constexpr uint64_t kFrameRuleSlots = 1 << 17;
extern FrameRuleSlot* g_frame_rule_slots;
extern uint32_t g_frame_rule_generation;
inline uint64_t frameRuleHome(uint64_t pc) { return (pc * 0x9e3779b97f4a7c15ull) >> 47; }

// The rule for return address pc (Unknown if not learned yet). Inline: read on every allocation.
inline FrameRule frameRule(uint64_t pc) {
  const FrameRuleSlot* slots = __atomic_load_n(&g_frame_rule_slots, __ATOMIC_ACQUIRE);
  if (!slots) return {};
  for (uint64_t i = frameRuleHome(pc);; i = (i + 1) & (kFrameRuleSlots - 1)) {
    uint64_t p = __atomic_load_n(&slots[i].pc, __ATOMIC_ACQUIRE);
    if (p == pc) {
      if (__atomic_load_n(&slots[i].generation, __ATOMIC_ACQUIRE) != __atomic_load_n(&g_frame_rule_generation, __ATOMIC_ACQUIRE))
        return {};
      FrameRule rule = slots[i].rule;
      // A rule turned Unusable after publication: the kind byte is re-read last.
      rule.kind = static_cast<FrameKind>(__atomic_load_n(reinterpret_cast<const uint8_t*>(&slots[i].rule.kind), __ATOMIC_ACQUIRE));
      return rule;
    }
    if (p == 0) return {};
  }
}
// Records what one unw_step showed for pc; a contradiction makes the pc Unusable.
void learnFrameRule(uint64_t pc, FrameRule rule);
// After dlclose: code may be mapped again at the same addresses.
void forgetFrameRules();

}  // namespace tidemark::preload
