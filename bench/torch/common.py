"""Shared helpers of the PyTorch workloads: the splitmix64 inputs of
bench/BenchUtil.h (bit-identical float32), timing like gradc-bench, and
RESULT/CHECK lines. Single-threaded unless BENCH_THREADS says otherwise
(bench/run.sh --threads N)."""
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))


def _bits24(seed, n):
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(seed << 32)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z >> np.uint64(40)


def uniform(seed, shape, scale):
    """float32 in [-scale, scale), as in C++."""
    n = int(np.prod(shape))
    u = (_bits24(seed, n).astype(np.float64) * 2.0**-23 - 1.0).astype(np.float32)
    return torch.from_numpy((u * np.float32(scale)).reshape(shape))


def ints(seed, n, mod):
    return torch.from_numpy((_bits24(seed, n) % np.uint64(mod)).astype(np.int64))


def bench(fn, reps=9, min_rep_s=0.02):
    """Median over reps of the mean seconds per call; 2 warm-up calls."""
    fn()
    fn()
    inner = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_rep_s:
            break
        inner = min(inner * 100, max(inner * 2, int(inner * 1.2 * min_rep_s / max(dt, 1e-9))))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def peak_bytes(fn):
    """The peak of the bytes that one call of fn holds allocated beyond what
    was allocated before it (its outputs included): every CPU allocation and
    free that torch.profiler records (profile_memory=True), in order."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        out = fn()
    events = [(e.start_us(), i, e.nbytes())
              for i, e in enumerate(p.profiler.kineto_results.events())
              if e.name() == "[memory]"]
    cur = peak = 0
    for _, _, nbytes in sorted(events):
        cur += nbytes
        peak = max(peak, cur)
    del out
    return peak


def run(w, loss, args, wrt, unit="ms", scale=1e3):
    """Times loss(*args) under no_grad and loss + autograd.grad wrt args[i]
    for i in wrt; checks value and gradients against float64 (rel 1e-4)."""
    leaves = [a.clone().requires_grad_(i in wrt) for i, a in enumerate(args)]
    params = [leaves[i] for i in wrt]

    def fwd():
        with torch.no_grad():
            return loss(*leaves)

    def vg():
        L = loss(*leaves)
        return [L] + list(torch.autograd.grad(L, params))

    f, g = bench(fwd) * scale, bench(vg) * scale
    print(f"RESULT|{w}|torch eager|{f:.6g}|{g:.6g}|{unit}", flush=True)
    print(f"MEM|{w}|torch eager|{peak_bytes(vg)}", flush=True)
    ref64 = [a.double().requires_grad_(i in wrt) for i, a in enumerate(args)]
    L64 = loss(*ref64)
    ref = [L64] + list(torch.autograd.grad(L64, [ref64[i] for i in wrt]))
    got = vg()
    errs = [float((a.double() - b).abs().max() / b.abs().max().clamp_min(1e-300))
            for a, b in zip(got, ref)]
    status = "PASS" if max(errs) < 1e-4 else "FAIL"
    print(f"CHECK|{w}|torch eager vs torch float64|{max(errs):.3e}|{status}|"
          f"value {got[0].item():.9g}", flush=True)
