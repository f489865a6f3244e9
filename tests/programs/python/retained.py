"""Structures of known sizes, held from module globals, for the retained-size test
(tests/e2e/python_objects_test.cpp). Prints, as JSON, the bytes each would free if it went: its
objects' sys.getsizeof (which counts the collector's header and what a list or dict owns), each
object counted once even where two entries share it."""
import json
import sys

import tidemark


def floats(n, start):
    return [start + i * 0.5 for i in range(n)]  # distinct float objects


class Table(dict):
    """A dict of its own type: a plain dict may come from the interpreter's free list, and keep the
    line of the allocation that first made it."""


def build_table():
    table = Table()  # TABLE
    for k in range(200):
        table["series-%d" % k] = floats(400, k)
    shared = floats(30, 1000.0)
    table["view-%d" % 1] = shared  # keys made at run time: a constant of the code is the code's too
    table["view-%d" % 2] = shared  # the same list: counted once
    return table


TABLE = build_table()


def retained_bytes(table):
    seen = set()
    total = sys.getsizeof(table)
    for key, values in table.items():
        total += sys.getsizeof(key)
        if id(values) in seen:
            continue
        seen.add(id(values))
        total += sys.getsizeof(values) + sum(sys.getsizeof(v) for v in values)
    return total


print(json.dumps({"table": retained_bytes(TABLE), "graph": tidemark.scan()}))
