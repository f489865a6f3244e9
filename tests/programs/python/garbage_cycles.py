"""Garbage cycles of known shapes, for the object-graph tests (tests/e2e/python_objects_test.cpp).

    garbage_cycles.py N IDS_FILE [exit]

makes N Order <-> Fill cycles, one bound-method cycle and one exception -> traceback -> frame
cycle, all garbage, besides live cycles a module global keeps. Then, without `exit`: asks the
tracker for a scan (tidemark.scan()), lets the collector find the garbage with gc.DEBUG_SAVEALL,
writes the ids of what it saved to IDS_FILE (one per line) and leaves with os._exit, so that the
scan it asked for is the trace's last. With `exit`: leaves the garbage to the exit scan.
"""
import gc
import os
import sys

import tidemark


class Order:
    def __init__(self):
        self.fill = Fill(self)  # FILL


class Fill:
    def __init__(self, order):
        self.order = order


class Account:
    def __init__(self):
        self.on_change = self.recalculate  # METHOD

    def recalculate(self):
        return 0


def failing():
    try:
        raise ValueError("kept by its own traceback")  # RAISE
    except ValueError as caught:
        error = caught
    return None


gc.disable()
count = int(sys.argv[1])
KEPT = [Order() for _ in range(3)]  # live cycles: not garbage
for _ in range(count):
    Order()  # ORDER
Account()
failing()

if len(sys.argv) > 3 and sys.argv[3] == "exit":
    print("left", count, "cycles, kept", len(KEPT), "at", ",".join(type(o.fill).__name__ for o in KEPT))
    sys.exit(0)

print("graph recorded:", tidemark.scan(), flush=True)
gc.set_debug(gc.DEBUG_SAVEALL)
gc.collect()
with open(sys.argv[2], "w") as out:
    out.write("\n".join(str(id(o)) for o in gc.garbage))
    out.write("\n")
sys.stdout.flush()
os._exit(0)
