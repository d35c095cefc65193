#!/usr/bin/python3
"""W8 unrolled (bench/workloads/w8_lstm.gir) against W8 through `scan`
(w8_lstm_scan.gir) on the JIT, through the Python module, single-threaded:
the two compiled functions are called in turns (25 pairs of 5 calls each) and
the median of the per-pair ratios scan / unrolled is printed, for the value
and for the value and gradient. Interleaving keeps the ratio steady on a
machine shared with other jobs, where separate timings move by 1.5x.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/scan_pairs.py
(the Python module from $GRADC_BUILD/python, default build/python)."""
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.environ.get("GRADC_BUILD", os.path.join(ROOT, "build")), "python"))
import gradc  # noqa: E402

rng = np.random.default_rng(1)
X = rng.uniform(-1, 1, (32, 16, 64)).astype(np.float32)
P = [rng.uniform(-.0625, .0625, s).astype(np.float32)
     for s in [(64, 1024), (256, 1024), (1024,), (256, 64), (64,)]]
y = rng.integers(0, 64, (512, 1)).astype(np.int64)
names = ["Wih", "Whh", "b", "Wout", "bout"]
args = [X, *P, y]
fs = {}
for k, path in [("unrolled", "w8_lstm.gir"), ("scan", "w8_lstm_scan.gir")]:
    m = gradc.compile(os.path.join(ROOT, "bench", "workloads", path))
    fs[k] = (m.function("f"), m.value_and_grad("f", wrt=names))


def ms(f, n=5):
    t0 = time.perf_counter()
    for _ in range(n):
        f(*args)
    return (time.perf_counter() - t0) / n * 1e3


for f in fs.values():
    f[0](*args)
    f[1](*args)
value, grad = [], []
for _ in range(25):
    value.append(ms(fs["scan"][0]) / ms(fs["unrolled"][0]))
    grad.append(ms(fs["scan"][1]) / ms(fs["unrolled"][1]))
for what, r in [("value", value), ("value+grad", grad)]:
    print("scan/unrolled %s: median %.2f (min %.2f, max %.2f)" %
          (what, statistics.median(r), min(r), max(r)))
