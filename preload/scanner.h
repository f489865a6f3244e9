// The conservative heap scan: which live blocks point to which, and which are pointed to from
// the roots (thread stacks, writable segments of loaded modules, TLS, the program's own anonymous
// mappings). Runs at exit, after main returned and the static destructors ran, and on the scan
// signal (TIDEMARK_SCAN_SIGNAL). Its graph goes into the trace; the analyzer finds what is lost and
// which lost blocks form cycles. Method: docs/cycles.md.
#pragma once

#include <cstdint>

#include "trace_writer.h"

namespace tidemark::preload {

// Scans and writes the graph into `stream`. `reason` is a format::ScanReason. Needs the live
// blocks tracked in process (the aggregator's table: aggregate mode, or TIDEMARK_SCAN=1).
// `also`, when given, writes more of the scan (the Python object graph) while every allocating
// thread waits, after the blocks' graph and before the scan's end. `left_over`, when given, tells
// the blocks whose words are leftovers rather than references (an object waiting in an
// interpreter's free list, which keeps whatever it held): their words lead only to other such
// blocks (a free list's links).
using LeftOver = bool (*)(const uint8_t* block, uint64_t size);
void scanHeap(Stream& stream, uint8_t reason, void (*also)(Stream&) = nullptr, LeftOver left_over = nullptr);

}  // namespace tidemark::preload
