// The interpreter's object graph, written into a heap scan: every object CPython's cycle
// collector tracks (read from its generation lists), its type, its reference count, and the
// references its type reports to the collector (tp_traverse), so that the analyzer can apply the
// collector's own rule (an object referred to from outside the tracked objects is a root) without
// collecting anything. C only: no Python code runs, nothing is allocated through the hooked
// allocator (scratch arrays are mapped and unmapped), no reference count changes.
//
// Only from the thread holding the GIL, at a point where the interpreter's objects are whole: a
// pending call (the scan signal), tidemark.scan(), or the first allocation of the finalizing
// thread after the program's atexit handlers ran (exit). docs/python.md, "Object graphs".
#pragma once

#include <cstdint>

namespace tidemark::preload {

struct Stream;

namespace python {

// Writes the PythonGraph record and, when the collector's state checks out, the graph's
// PythonType, PythonReferences and PythonObjects records (else PythonGraph says why not).
void writeObjectGraph(Stream& s);

// Whether a block of the heap is a tuple, list or dict waiting in the interpreter's free list (no
// reference left, the block kept for the next one): what it still holds are leftovers. For
// scanHeap (scanner.h) while the graph is written.
bool leftInFreeList(const uint8_t* block, uint64_t size);

// Whether the graph can be asked for at all (a supported interpreter, running).
bool objectGraphPossible();
// Whether the calling thread may write the graph now (it holds the GIL; the program called it).
bool objectGraphFromHere();

// Whether the exit graph is due now: the interpreter has begun to finalize, the calling thread
// holds its GIL, and it was not taken before (true once).
bool exitGraphDue();
// Whether the exit graph was taken (the tracker's own exit scan is then not made: the
// interpreter's objects are gone by then).
bool exitGraphTaken();

// Asks the interpreter to call fn(nullptr) on its main thread at its next safe point (Py_AddPendingCall:
// from any thread, no GIL needed). False when it cannot.
bool callAtSafePoint(int (*fn)(void*));

}  // namespace python
}  // namespace tidemark::preload
