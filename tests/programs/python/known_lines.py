"""Allocations whose bytes the program can count, made at lines the test knows. Prints, as JSON,
what each line holds once all of it is allocated (the heap's peak): the bytearrays' objects and
buffers (__sizeof__) and the list that keeps them (its item array: its size less an empty list's),
and for the floats the same. argv[1], argv[2]: how many buffers, and of what size."""
import json
import sys


def hold_buffers(count, size):
    kept = []
    for _ in range(count):
        kept.append(bytearray(size))  # BUFFERS
    return kept


def hold_floats(count):
    return [i + 0.5 for i in range(count)]  # FLOATS


def items(a_list):
    return sys.getsizeof(a_list) - sys.getsizeof([])


count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
size = int(sys.argv[2]) if len(sys.argv) > 2 else 250_000
buffers = hold_buffers(count, size)
floats = hold_floats(100_000)
held = {
    "buffers": sum(b.__sizeof__() for b in buffers) + items(buffers),
    "floats": sum(f.__sizeof__() for f in floats) + items(floats),
}
print(json.dumps(held))
