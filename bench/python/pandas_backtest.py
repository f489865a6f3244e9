"""A pandas backtest for the overhead benchmark: 500 assets x 2,500 days of prices, rolling means and
volatilities over 20 and 60 days, a daily loop that ranks the signal, sets positions and books the
day's P&L. argv[1], argv[2]: assets and days. Deterministic; prints the total P&L."""
import sys

import numpy as np
import pandas as pd

assets = int(sys.argv[1]) if len(sys.argv) > 1 else 500
days = int(sys.argv[2]) if len(sys.argv) > 2 else 2_500
rng = np.random.default_rng(7)
dates = pd.bdate_range("2014-01-01", periods=days)
returns = pd.DataFrame(rng.normal(0.0002, 0.01, (days, assets)), index=dates,
                       columns=[f"A{i:03d}" for i in range(assets)])
prices = 100 * (1 + returns).cumprod()
fast = prices.rolling(20).mean()
slow = prices.rolling(60).mean()
vol = returns.rolling(60).std()
signal = ((fast - slow) / slow / vol).fillna(0.0)

pnl = []
positions = pd.Series(0.0, index=returns.columns)
for day in range(60, days - 1):
    today = signal.iloc[day]
    ranks = today.rank(pct=True)
    positions = (ranks - 0.5).where(ranks.sub(0.5).abs() > 0.3, 0.0) / assets
    pnl.append(float((positions * returns.iloc[day + 1]).sum()))
book = pd.Series(pnl, index=dates[61:days])
print(f"{book.sum():.6f}")
