"""A Python process with millions of live objects the cycle collector tracks, for
bench/python_graph_bench.sh: `objects` of them (a third instances of a class, a third their
attribute dicts' lists, a third dicts), then one tidemark.scan(). Prints, as JSON, how many objects
the collector tracks and how long the program was paused for the scan (the call's wall time)."""
import gc
import json
import sys
import time

import tidemark


class Position:
    __slots__ = ("symbol", "fills", "meta")

    def __init__(self, symbol, k):
        self.symbol = symbol
        self.fills = [k * 0.5, k * 0.25]
        self.meta = {"k": self.fills}


n = int(sys.argv[1]) // 3 if len(sys.argv) > 1 else 1_000_000
book = [Position("S%d" % (k % 500), k) for k in range(n)]
tracked = len(gc.get_objects())
start = time.perf_counter()
recorded = tidemark.scan()
pause = time.perf_counter() - start
print(json.dumps({"tracked": tracked, "pause_s": pause, "graph": recorded}))
