"""Train a two-layer classifier on scikit-learn's 8x8 digits with gradc's
value_and_grad and plain numpy SGD.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/digits_numpy.py

Prints the loss of each epoch with a progress bar, then the test accuracy.
"""
import argparse
import os
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import gradc

HERE = os.path.dirname(os.path.abspath(__file__))


def progress(epoch, epochs, i, n, loss, width=30):
    """One line per epoch, redrawn as it goes on a terminal."""
    tty = sys.stdout.isatty()
    if i < n and not tty:
        return
    done = width * i // n
    sys.stdout.write("%sepoch %2d/%d [%s%s] %4d/%d  loss %.4f" % (
        "\r" if tty else "", epoch, epochs, "=" * done, " " * (width - done), i, n, loss))
    sys.stdout.write("\n" if i == n else "")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)  # pixels in [0, 1]
    y = digits.target
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25,
                                          random_state=args.seed, stratify=y)
    Ytr = np.eye(10, dtype=np.float32)[ytr]

    m = gradc.compile(os.path.join(HERE, "mlp.gir"))
    # value and gradient of the loss with respect to the weights (not X, Y)
    step = m.value_and_grad("loss", wrt=["W1", "b1", "W2", "b2"])
    logits = m["logits"]

    rng = np.random.default_rng(args.seed)
    params = {
        "W1": (rng.normal(size=(64, 64)) * np.sqrt(2 / 64)).astype(np.float32),
        "b1": np.zeros(64, np.float32),
        "W2": (rng.normal(size=(64, 10)) * np.sqrt(1 / 64)).astype(np.float32),
        "b2": np.zeros(10, np.float32),
    }
    n = len(Xtr)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, args.batch):
            idx = order[i:i + args.batch]
            # Fancy indexing gives fresh C-contiguous float32 arrays, which
            # gradc reads in place.
            loss, grads = step(Xtr[idx], Y=Ytr[idx], **params)
            for k, g in grads.items():
                params[k] -= args.lr * g
            total += loss * len(idx)
            progress(epoch, args.epochs, min(i + args.batch, n), n,
                     total / min(i + args.batch, n))
    train_s = time.perf_counter() - t0
    pred = logits(Xte, **params).argmax(axis=1)
    acc = np.mean(pred == yte)
    print("test accuracy %.2f%% (%d of %d); training took %.2f s"
          % (100 * acc, np.sum(pred == yte), len(yte), train_s))
    return 0 if acc > 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
