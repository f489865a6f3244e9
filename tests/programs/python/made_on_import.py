"""Imported by import_garbage.py: its body makes 30 Node <-> Node cycles and drops them, as a
module's set-up code can (tests/e2e/python_objects_test.cpp)."""


class Node:
    def __init__(self):
        self.other = None


def _link():
    a = Node()  # NODE
    b = Node()
    a.other = b
    b.other = a


for _ in range(30):
    _link()
