"""A pure-Python event-driven backtest for the overhead benchmark: a heap of timestamped events,
bar objects for 50 assets, orders and fills as small objects, a position book in dicts. Many small
objects, all through pymalloc. argv[1]: the number of bars per asset. Prints a checksum."""
import heapq
import sys


class Bar:
    __slots__ = ("time", "asset", "price")

    def __init__(self, time, asset, price):
        self.time, self.asset, self.price = time, asset, price


class Order:
    def __init__(self, asset, quantity, price):
        self.asset, self.quantity, self.price = asset, quantity, price


bars = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000
assets = [f"A{i:02d}" for i in range(50)]
events = []
seed = 12345
for a, asset in enumerate(assets):
    price = 100.0 + a
    for t in range(bars):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        price *= 1 + ((seed % 2001) - 1000) / 100_000
        heapq.heappush(events, (t, a, Bar(t, asset, price)))

book, history, fills, cash = {}, {asset: [] for asset in assets}, [], 0.0
while events:
    _, _, bar = heapq.heappop(events)
    window = history[bar.asset]
    window.append(bar.price)
    if len(window) > 20:
        del window[0]
        mean = sum(window) / len(window)
        order = Order(bar.asset, 1 if bar.price < mean else -1, bar.price)
        book[order.asset] = book.get(order.asset, 0) + order.quantity
        cash -= order.quantity * order.price
        fills.append((bar.time, order.asset, order.quantity, round(order.price, 4)))
        if len(fills) > 1000:
            fills = fills[-100:]
print(len(book), round(cash, 2))
