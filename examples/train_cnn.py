#!/usr/bin/python3
"""Trains examples/cnn.gir on scikit-learn's 8x8 digits with gradc.

The gradient @cnn.grad is derived by `gradc grad`, emitted as C++ (`gradc emit
--target cpp`), compiled into a shared library and called through the C ABI
(ctypes) by a plain Adam loop. Needs numpy and scikit-learn (Debian:
python3-numpy, python3-sklearn).

    examples/train_cnn.py [--gradc build/bin/gradc] [--epochs 30] [--seed 0]
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))


def build(gradc, tmp):
    """@cnn.grad and @predict as a shared library."""
    grad = subprocess.run([gradc, "grad", os.path.join(HERE, "cnn.gir"),
                           "--func", "cnn", "--wrt", ",".join(SHAPES)],
                          check=True, capture_output=True, text=True).stdout
    src = os.path.join(tmp, "cnn.gir")
    with open(src, "w") as f:
        f.write(grad)
    cpp, hdr = os.path.join(tmp, "cnn.cpp"), os.path.join(tmp, "cnn.h")
    subprocess.run([gradc, "emit", src, "--target", "cpp", "-o", cpp,
                    "--header", hdr], check=True)
    lib = os.path.join(tmp, "libcnn.so")
    subprocess.run(["c++", "-std=c++17", "-O2", "-march=native", "-shared",
                    "-fPIC", "-I", tmp, cpp, "-o", lib], check=True)
    return ctypes.CDLL(lib)


SHAPES = {"w1": (8, 1, 3, 3), "b1": (8,), "w2": (16, 8, 3, 3), "b2": (16,),
          "W3": (64, 32), "b3": (32,), "W4": (32, 10), "b4": (10,)}


def ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", default=os.path.join(HERE, "..", "build", "bin",
                                                    "gradc"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64).reshape(-1, 1)
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n_test = len(x) // 5
    xt, yt, xs, ys = x[:n_test], y[:n_test], x[n_test:], y[n_test:]

    params = {}
    for k, s in SHAPES.items():
        fan_in = int(np.prod(s[1:])) if len(s) > 1 else 1
        params[k] = (rng.standard_normal(s) * np.sqrt(2.0 / fan_in)
                     if len(s) > 1 else np.zeros(s)).astype(np.float32)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}

    with tempfile.TemporaryDirectory() as tmp:
        lib = build(a.gradc, tmp)
        names = list(SHAPES)
        one = np.ones((), np.float32)
        step = 0
        for epoch in range(a.epochs):
            perm = rng.permutation(len(xs))
            total = 0.0
            for i in range(0, len(xs), a.batch):
                idx = perm[i:i + a.batch]
                xb = np.ascontiguousarray(xs[idx])
                yb = np.ascontiguousarray(ys[idx])
                loss = np.zeros((), np.float32)
                grads = {k: np.zeros_like(params[k]) for k in names}
                rc = lib.gradc_cnn_grad(
                    ptr(xb), ptr(yb), *[ptr(params[k]) for k in names],
                    ptr(one), ctypes.c_int64(len(idx)), ptr(loss),
                    *[ptr(grads[k]) for k in names])
                if rc != 0:
                    sys.exit("gradc_cnn_grad returned %d" % rc)
                total += float(loss) * len(idx)
                step += 1
                for k in names:  # Adam
                    m[k] = 0.9 * m[k] + 0.1 * grads[k]
                    v2[k] = 0.999 * v2[k] + 0.001 * grads[k] ** 2
                    mh = m[k] / (1 - 0.9 ** step)
                    vh = v2[k] / (1 - 0.999 ** step)
                    params[k] -= (a.lr * mh / (np.sqrt(vh) + 1e-8)).astype(
                        np.float32)
            pred = np.zeros(len(xt), np.int64)
            rc = lib.gradc_predict(ptr(np.ascontiguousarray(xt)),
                                   *[ptr(params[k]) for k in names],
                                   ctypes.c_int64(len(xt)), ptr(pred))
            acc = float(np.mean(pred == yt[:, 0]))
            print("epoch %2d  train loss %.4f  test accuracy %.4f" %
                  (epoch + 1, total / len(xs), acc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
