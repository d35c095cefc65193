#!/usr/bin/env python3
"""Benchmark: the adjoint pass is linear in the size of the graph.

Generates functions of n ops (a chain of elementwise ops, matmuls and reductions
with fan-out: every op reads the previous value and one from a few steps back),
then times `gradc grad` (parse, verify, adjoint, simplify, print) against
`gradc parse` (parse, verify, print) of the same file, in the same run: medians of
7 runs each. Also times a 2^40-path fan-out ladder.

Usage: bench/ad_scaling.py [path/to/gradc]
"""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

GRADC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "build", "bin", "gradc")


def chain(n, seed=1):
    rng = random.Random(seed)
    lines = ["func @f(%x: f64[N,8], %W: f64[8,8], %b: f64[8]) -> f64 {",
             "  %v0 = tanh %x"]
    for k in range(1, n):
        a, b = f"%v{k - 1}", f"%v{max(0, k - rng.randint(1, 5))}"
        op = rng.choice(["add", "mul", "sub", "max", "tanh", "sigmoid", "matmul",
                         "bias", "softmax"])
        if op in ("tanh", "sigmoid", "softmax"):
            lines.append(f"  %v{k} = {op} {a}")
        elif op == "matmul":
            lines.append(f"  %v{k} = matmul {a}, %W")
        elif op == "bias":
            lines.append(f"  %v{k} = add {a}, %b")
        else:
            lines.append(f"  %v{k} = {op} {a}, {b}")
    lines += [f"  %L = sum %v{n - 1}", "  return %L", "}"]
    return "\n".join(lines) + "\n"


def ladder(n):
    lines = ["func @f(%x: f64) -> f64 {", "  %x0 = add %x, %x"]
    lines += [f"  %x{k + 1} = add %x{k}, %x{k}" for k in range(n)]
    lines += [f"  return %x{n}", "}"]
    return "\n".join(lines) + "\n"


def median_time(args, reps=7):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    print(f"{'workload':<22}{'ops':>8}{'parse ms':>10}{'grad ms':>10}"
          f"{'grad/parse':>12}{'adjoint ops':>13}")
    with tempfile.TemporaryDirectory() as d:
        cases = [(f"chain {n}", chain(n)) for n in (1000, 3000, 10000, 30000)]
        cases.append(("ladder 2^40 paths", ladder(40)))
        for name, text in cases:
            path = os.path.join(d, "f.gir")
            with open(path, "w") as f:
                f.write(text)
            ops = text.count(" = ")
            tp = median_time([GRADC, "parse", path])
            tg = median_time([GRADC, "grad", path, "--func", "f"])
            out = subprocess.run([GRADC, "grad", path, "--func", "f"],
                                 check=True, capture_output=True, text=True).stdout
            grad_ops = out.split("func @f.grad")[1].count(" = ")
            print(f"{name:<22}{ops:>8}{tp * 1e3:>10.1f}{tg * 1e3:>10.1f}"
                  f"{tg / tp:>12.2f}{grad_ops:>13}")


if __name__ == "__main__":
    main()
