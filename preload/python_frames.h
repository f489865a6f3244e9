// CPython inside the target: its frames in every stack, and its own allocator tracked.
//
// Frames are read, not hooked: at an allocation, the calling thread's thread state leads to the
// interpreter frames it is running (3.11 and 3.12: tstate->cframe->current_frame; 3.13:
// tstate->current_frame), each with its code object, its last instruction and the frame before
// it. Nothing is paid per Python call, nothing can be switched off by the program (no profile
// function), and no Python code ever runs. The layouts are those of CPython 3.11, 3.12 (from
// their headers, checked against the interpreter at run time) and 3.13 (read from the
// _Py_DebugOffsets it publishes at the start of _PyRuntime). docs/python.md has the details.
//
// A frame becomes a stack word (kPythonWord): the code object's id (a CodeObject record, written
// the first time the code is seen, carries its names and line table) and the instruction, so
// lines are resolved offline.
#pragma once

#include <cstdint>

#include "python_runtime.h"

namespace tidemark::preload {

struct Stream;
class StackCache;

namespace python {

// A stack word of an interpreted frame: kPythonWord | entry << 62 | code id << 24 | instruction.
inline constexpr uint64_t kPythonWord = 1ull << 63;
inline constexpr uint64_t kEntryBit = 1ull << 62;
inline constexpr uint64_t kMaxInstruction = (1ull << 24) - 1;
inline bool isPythonWord(uint64_t w) { return w & kPythonWord; }
inline bool entryOf(uint64_t w) { return w & kEntryBit; }
inline uint64_t codeIdOf(uint64_t w) { return (w & ~(kPythonWord | kEntryBit)) >> 24; }
inline uint64_t instructionOf(uint64_t w) { return w & kMaxInstruction; }

// Looks for CPython in the process (dlsym; not from inside a hook) and writes the Interpreter
// record to s when one is found, supported or not. wrap_allocator: whether its allocator may be
// wrapped (TIDEMARK_PYTHON_ALLOCATOR); at_start: called before main, when wrapping is safe before
// the interpreter runs; whole_native_stacks: TIDEMARK_NATIVE_ABOVE_PYTHON (g_eval_loop below).
// Later calls do nothing once one was found.
void detect(Stream& s, bool wrap_allocator, bool at_start, bool whole_native_stacks);
// Whether stacks can carry Python frames (an interpreter was found and its layout is known).
bool framesAvailable();

// The code of the interpreter's eval loop, once frames are available (size 0 before, and when
// TIDEMARK_NATIVE_ABOVE_PYTHON keeps whole native stacks). A native stack ends at its innermost
// frame there: the Python frames it ran stand for it and for every frame above it (their own
// calls of the eval loop included), so the unwinders stop (tracker.cpp) where the stack's native
// part ends and need not walk, check or intern the interpreter's frames outside it.
struct CodeRange {
  uint64_t begin, size;
  bool contains(uint64_t return_address) const { return return_address - 1 - begin < size; }
};
extern CodeRange g_eval_loop;
inline CodeRange evalLoop() { return {g_eval_loop.begin, __atomic_load_n(&g_eval_loop.size, __ATOMIC_RELAXED)}; }
// The calling thread's Python frames as stack words, innermost first; 0 when it runs none (no
// thread state, the interpreter not running yet or finalizing, a frame that does not check out).
// The first call to see the interpreter finalizing makes native stacks whole again (g_eval_loop
// emptied, the stack caches too), so that what runs then (module teardown, __del__ methods) keeps
// its frames up to main: read them before the native stack is taken.
// cache: the thread's (stack_cache.h), whose table of code objects spares most look-ups; may be null.
uint32_t readFrames(Stream& s, StackCache* cache, uint64_t* words, uint32_t max);
// Puts the tracker's wrappers around pymalloc's object and mem domains when detect() could not do
// it at the start (an interpreter loaded later, or PYTHONMALLOC and -X dev replacing them): from a
// thread that holds the GIL of the running interpreter; then, with s, the Interpreter record is
// written again to say so. Cheap when done.
void wrapAllocatorWhenSafe(Stream* s);
// In a forked child: code ids start over with its trace, which is told about the interpreter again.
void resetAfterFork(Stream& s);

}  // namespace python
}  // namespace tidemark::preload

namespace tidemark::preload::python {

// The tracker's wrapper around `wrapped` (hooks.cpp): records each block like malloc's, with the
// Python frames of its stack; what `wrapped` does inside (pymalloc's arenas, malloc for big
// objects) is not recorded again.
Allocator trackingAllocator(Allocator* wrapped);

}  // namespace tidemark::preload::python
