"""A module whose body makes an object it keeps for the life of the process (import_leftovers.py)."""
BUFFER = bytearray(1_000_000)  # IMPORTED
