"""Allocations made by Python code that C code calls back (sorted's key function), so that the
stack has native frames between two Python calls. Prints, as JSON, what the key function's line
holds at the end: the bytearrays' objects and buffers and the list that keeps them (its item
array: its size less an empty list's)."""
import json
import sys

HELD = []


def key(x):
    HELD.append(bytearray(100_000))  # CALLBACK
    return -x


order = sorted(range(50), key=key)
held = sum(b.__sizeof__() for b in HELD) + sys.getsizeof(HELD) - sys.getsizeof([])
print(json.dumps({"callback": held, "first": order[0]}))
