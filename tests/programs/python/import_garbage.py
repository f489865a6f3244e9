"""Garbage cycles an import leaves beside the program's own, for the diagnosis's test
(tests/e2e/python_objects_test.cpp).

    import_garbage.py N

With the collector off, imports made_on_import (its body makes 30 garbage cycles), then makes N
Pair <-> Pair cycles of its own and drops them; the scan at exit finds them all.
"""
import gc
import os
import sys

gc.disable()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import made_on_import  # noqa: E402,F401


class Pair:
    def __init__(self):
        self.other = None


def pair():
    a = Pair()  # PAIR
    b = Pair()
    a.other = b
    b.other = a


for _ in range(int(sys.argv[1])):
    pair()
