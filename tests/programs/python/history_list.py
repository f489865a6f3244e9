"""A list that gains a 20,000-byte entry every step and is never trimmed, the way a backtest's
history of daily positions often is. The program holds all of it until its code ends; only the
interpreter's finalization frees it, which is teardown, not the program letting it go. No markers:
the verdict is judged in wall time. Prints how many entries it kept."""
import time

history = []
for step in range(400):
    history.append(bytearray(20_000))  # HISTORY
    time.sleep(0.004)
print(len(history))
