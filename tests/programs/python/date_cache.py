"""A backtest-shaped loop whose cache, keyed by simulated date, is never evicted: each day adds a
100,000-byte bytearray (a buffer from malloc on every CPython) and marks the date for tidemark.
argv[1]: the number of days (default 120). Prints whether the tracker is there, then "done"."""
import datetime
import sys

import tidemark

days = int(sys.argv[1]) if len(sys.argv) > 1 else 120
print("tracker" if tidemark.active() else "no tracker")
history = {}
day = datetime.date(2024, 1, 1)
for _ in range(days):
    tidemark.mark_date(day)
    with tidemark.phase("before_trading_start"):
        history[day] = bytearray(100_000)  # the leak: one day of history, kept forever
        window = [bytes(2_000) for _ in range(50)]  # a day's temporary work, freed
    day += datetime.timedelta(days=1)
print("done")
