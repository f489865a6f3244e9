"""Rolling statistics of a small price table with pandas: each call's temporaries are freed, and
numpy fills the caches it keeps to the end (its ufuncs' dispatch caches) on first use."""
import numpy as np
import pandas as pd

prices = pd.DataFrame(np.random.default_rng(7).normal(0, 1, (400, 20)).cumsum(axis=0) + 100)
total = 0.0
for day in range(60, 400):
    window = prices.iloc[day - 60:day]
    total += float(((window.iloc[-1] - window.mean()) / window.std()).sum())
print(round(total, 6))
