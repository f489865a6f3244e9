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

// The rule for return address pc (Unknown if not learned yet).
FrameRule frameRule(uint64_t pc);
// Records what one unw_step showed for pc; a contradiction makes the pc Unusable.
void learnFrameRule(uint64_t pc, FrameRule rule);
// After dlclose: code may be mapped again at the same addresses.
void forgetFrameRules();
void resetFrameRules();

}  // namespace tidemark::preload
