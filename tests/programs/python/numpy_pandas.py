"""A numpy array kept alive only through a view, and pandas DataFrames held by the objects that
own them, for tests/e2e/python_objects_test.cpp. Prints, as JSON, the bytes of each's data."""
import json

import numpy as np
import pandas as pd

import tidemark

ROWS, COLUMNS = 5000, 40


class Holder:
    def __init__(self, view):
        self.view = view


class Portfolio:
    def __init__(self, seed):
        self.prices = pd.DataFrame(np.full((ROWS, COLUMNS), float(seed)))  # FRAME


def held_through_a_view():
    base = np.arange(200_000, dtype=np.float64)  # BASE
    return Holder(base[::2]), base.nbytes  # HOLDER


holder, base_bytes = held_through_a_view()
portfolios = [Portfolio(seed) for seed in range(3)]  # PORTFOLIOS
print(json.dumps({"base": base_bytes, "frame": ROWS * COLUMNS * 8, "graph": tidemark.scan()}))
