"""What an import makes and what the program makes later, both live when the process ends: the
module's body keeps a bytearray (imported_buffer.py), the program's code keeps another, and
os._exit ends the process without the interpreter's finalization, so both are live at exit. Prints
their sizes (__sizeof__: object and buffer) as JSON."""
import json
import os
import sys

sys.dont_write_bytecode = True  # the source tree stays as it is
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imported_buffer  # noqa: E402


def keep(size):
    return bytearray(size)  # KEPT


kept = keep(3_000_000)
print(json.dumps({"imported": imported_buffer.BUFFER.__sizeof__(), "kept": kept.__sizeof__()}))
sys.stdout.flush()
os._exit(0)
