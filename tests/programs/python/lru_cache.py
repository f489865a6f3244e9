"""A cache that grows every simulated day, held from a module global through functools.lru_cache,
for tests/e2e/python_objects_test.cpp, and a second cache whose entries are live reference cycles
(an order and its fill). Scans twice (after `first` days and after `days`), and prints, as JSON,
what the cached lists hold at each scan by the program's own count (sys.getsizeof of each list
and of its floats) and whether each scan recorded the graph."""
import functools
import json
import sys

import tidemark

PRICES = 1000


@functools.lru_cache(maxsize=None)  # CACHE
def load_universe(day):
    return [day + i * 0.25 for i in range(PRICES)]  # UNIVERSE


class Order:
    def __init__(self, day):
        self.book = [day + i * 0.5 for i in range(300)]
        self.fill = Fill(self)  # FILL


class Fill:
    def __init__(self, order):
        self.order = order  # a cycle, alive as long as the cache holds the order


@functools.lru_cache(maxsize=None)
def load_orders(day):
    return Order(day)  # ORDER


def cached_bytes(days):
    # A call for a day already cached returns the cached list itself.
    return sum(sys.getsizeof(load_universe(d)) + PRICES * sys.getsizeof(0.5) for d in range(days))


first, days = int(sys.argv[1]), int(sys.argv[2])
for day in range(first):
    load_universe(day)
    load_orders(day)
report = {"first": cached_bytes(first), "first_graph": tidemark.scan()}
for day in range(first, days):
    load_universe(day)
    load_orders(day)
report["last"] = cached_bytes(days)
report["last_graph"] = tidemark.scan()
print(json.dumps(report))
