// The conservative heap scan: which live blocks point to which, and which are pointed to from
// the roots (thread stacks, writable segments of loaded modules, TLS, the program's own anonymous
// mappings). Runs at exit, after main returned and the static destructors ran, and on the scan
// signal (TIDEMARK_SCAN_SIGNAL). Its graph goes into the trace; the analyzer finds what is lost and
// which lost blocks form cycles. Method: docs/cycles.md.
#pragma once

#include "tracker.h"

namespace tidemark::preload {

// Whether live blocks are being tracked in process (aggregated mode, or TIDEMARK_SCAN=1).
bool scanEnabled();
// Scans and writes the graph. `reason` is a format::ScanReason.
void scanHeap(ThreadState& t, uint8_t reason);

}  // namespace tidemark::preload
