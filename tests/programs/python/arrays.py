"""numpy's and pandas' data buffers (malloc'd by their C code) belong to the Python lines that made
them: an array of 1,000,000 float64 (8,000,000 bytes of data) and a DataFrame over 250,000 x 4
float64 (8,000,000 bytes). Prints the two sizes."""
import numpy as np
import pandas as pd

array = np.ones(1_000_000)  # ARRAY
frame = pd.DataFrame(np.random.default_rng(1).random((250_000, 4)), columns=list("abcd"))  # FRAME
print(array.nbytes, frame.values.nbytes)
