"""The cost of calling gradc-compiled code from Python (not a test).

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--reps N]

W1 (f(x,y,z) = (x+y)*z, float32 scalars): ns per call of m["f"] and of
m.value_and_grad("f") from Python, beside PyTorch eager's value and gradient
(when torch is installed) and gradc-bench's in-process figures. W3 (the MLP
of bench/workloads/w3_mlp.gir): ms per value-and-gradient call through
Python against gradc-bench's in-process call of the same compiled code.
Single-threaded (OPENBLAS_NUM_THREADS=1). See docs/performance.md.
"""
import argparse
import os
import re
import statistics
import subprocess
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import gradc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("BUILD", os.path.join(HERE, "..", "build"))


def _bits24(seed, n):
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(seed << 32)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z >> np.uint64(40)


def uniform(seed, shape, scale):
    """float32 in [-scale, scale): the splitmix64 stream of BenchUtil.h."""
    n = int(np.prod(shape))
    u = _bits24(seed, n).astype(np.float64) * 2.0**-23 - 1.0
    return (u.astype(np.float32) * np.float32(scale)).reshape(shape)


def per_call(fn, reps, min_s):
    """Median over reps of the mean seconds per call."""
    fn()
    fn()
    inner = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        if time.perf_counter() - t0 >= min_s:
            break
        inner *= 2
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def in_process(reps):
    """gradc-bench's figures for W1 (ns) and W3 (ms): {id: (fwd, vg)}."""
    exe = os.path.join(BUILD, "bin", "gradc-bench")
    if not os.path.exists(exe):
        return {}
    out = subprocess.run([exe, "--reps", str(reps), "w1", "w3"],
                         capture_output=True, text=True).stdout
    res = {}
    for m in re.finditer(r"^RESULT\|(w\d)\|gradc\|([^|]+)\|([^|]+)\|", out,
                         re.M):
        res[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--rounds", type=int, default=3,
                    help="W3: alternate gradc-bench and Python this often")
    args = ap.parse_args()
    wl = os.path.join(HERE, "workloads")

    m1 = gradc.compile(os.path.join(wl, "w1_scalar.gir"))
    f, vg = m1["f"], m1.value_and_grad("f")
    x, y, z = (uniform(s, (), 1.0)[()] for s in (101, 102, 103))
    xa, ya, za = (np.asarray(v) for v in (x, y, z))

    def nothing(a, b, c):
        return a

    rows = [
        ("w1", "Python call of an empty Python function",
         per_call(lambda: nothing(x, y, z), args.reps, 0.05) * 1e9),
        ("w1", "m['f'](x, y, z), numpy float32 scalars",
         per_call(lambda: f(x, y, z), args.reps, 0.05) * 1e9),
        ("w1", "m['f'](x, y, z), 0-d float32 arrays",
         per_call(lambda: f(xa, ya, za), args.reps, 0.05) * 1e9),
        ("w1", "m['f'](x=.., y=.., z=..), by name",
         per_call(lambda: f(x=x, y=y, z=z), args.reps, 0.05) * 1e9),
        ("w1", "value_and_grad (value + dict of 3 gradients)",
         per_call(lambda: vg(x, y, z), args.reps, 0.05) * 1e9),
    ]
    try:
        import torch
        torch.set_num_threads(1)
        tx, ty, tz = (torch.tensor(v).requires_grad_() for v in (x, y, z))

        def tvg():
            o = (tx + ty) * tz
            return o, torch.autograd.grad(o, (tx, ty, tz))

        def tf():
            with torch.no_grad():
                return (tx + ty) * tz
        rows.append(("w1", "PyTorch eager forward (no_grad)",
                     per_call(tf, args.reps, 0.05) * 1e9))
        rows.append(("w1", "PyTorch eager value and gradient",
                     per_call(tvg, args.reps, 0.05) * 1e9))
    except ImportError:
        print("NOTE: no PyTorch; its W1 figures are left out")

    m3 = gradc.compile(os.path.join(wl, "w3_mlp.gir"))
    vg3 = m3.value_and_grad("f", wrt=["W1", "b1", "W2", "b2"])
    Y = np.zeros((256, 10), np.float32)
    cls = (_bits24(306, 256) % np.uint64(10)).astype(np.int64)
    Y[np.arange(256), cls] = 1
    w3 = [uniform(301, (256, 784), 1.0), uniform(302, (784, 256), 0.06),
          uniform(303, 256, 0.1), uniform(304, (256, 10), 0.1),
          uniform(305, 10, 0.1), Y]
    # What Python adds to a W3 call, measured apart from the compiled code
    # (so that the machine's load does not drown it): checking and binding
    # the six arguments, and allocating the five result arrays.
    bind_us = per_call(lambda: vg3._input_pointers(*w3), args.reps, 0.05) * 1e6
    shapes = [(), (784, 256), (256,), (256, 10), (10,)]
    alloc_us = per_call(lambda: [np.empty(sh, np.float32) for sh in shapes],
                        args.reps, 0.05) * 1e6
    # Alternate the in-process and the Python measurement, so that both see
    # the same machine load; each round gives one ratio.
    ref, rounds = {}, []
    for _ in range(args.rounds):
        ref = in_process(args.reps) or ref
        py_w3 = per_call(lambda: vg3(*w3), args.reps, 0.2) * 1e3
        if "w3" in ref:
            rounds.append((py_w3, ref["w3"][1]))

    print("| workload | what | per call |")
    print("|---|---|--:|")
    for w, what, ns in rows:
        print("| %s | %s | %.0f ns |" % (w, what, ns))
    if "w1" in ref:
        print("| w1 | in-process (gradc-bench): f, value and gradient | "
              "%.1f ns, %.1f ns |" % ref["w1"])
    if not rounds:
        print("| w3 | value_and_grad through Python | %.3f ms |" % py_w3)
        print("NOTE: no %s/bin/gradc-bench; no in-process figures" % BUILD)
        return
    for k, (py, cpp) in enumerate(rounds, 1):
        print("| w3 | round %d: through Python, in-process (gradc-bench), "
              "ratio | %.3f ms, %.3f ms, %.3fx |" % (k, py, cpp, py / cpp))
    print("| w3 | Python's own work: binding the arguments, allocating the "
          "results | %.2f us + %.2f us |" % (bind_us, alloc_us))
    ratios = sorted(py / cpp for py, cpp in rounds)
    print("| w3 | Python / in-process, median of %d rounds | %.3fx |"
          % (len(ratios), statistics.median(ratios)))


if __name__ == "__main__":
    main()
