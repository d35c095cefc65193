"""Shared helpers of the PyTorch workloads: the splitmix64 inputs of
bench/BenchUtil.h (bit-identical float32), timing like gradc-bench, and
RESULT/CHECK lines. Single-threaded unless BENCH_THREADS says otherwise
(bench/run.sh --threads N), or TORCH_THREADS=all: then torch runs on every
CPU (torch.set_num_threads(os.cpu_count()); its default here would be 1, one
per physical core; bench/run.sh unsets OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS for that run) and the rows are named
"torch eager (N threads)"."""
import os
import statistics
import sys
import time

ALL_THREADS = os.environ.get("TORCH_THREADS") == "all"
if not ALL_THREADS:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(os.cpu_count() if ALL_THREADS
                      else int(os.environ.get("BENCH_THREADS", "1")))
IMPL = ("torch eager" if not ALL_THREADS
        else f"torch eager ({torch.get_num_threads()} threads)")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    impl = IMPL
    params = [leaves[i] for i in wrt]

    def fwd():
        with torch.no_grad():
            return loss(*leaves)

    def vg():
        L = loss(*leaves)
        return [L] + list(torch.autograd.grad(L, params))

    f, g = bench(fwd) * scale, bench(vg) * scale
    print(f"RESULT|{w}|{impl}|{f:.6g}|{g:.6g}|{unit}", flush=True)
    if not ALL_THREADS:
        print(f"MEM|{w}|{impl}|{peak_bytes(vg)}", flush=True)
    ref = reference64(loss, args, wrt)
    check(w, impl, vg(), ref)
    return ref


def reference64(loss, args, wrt):
    """loss and its gradients wrt args[i], i in wrt, in float64 (integer
    arguments stay integers)."""
    ref64 = [a.double().requires_grad_(i in wrt) if a.is_floating_point() else a
             for i, a in enumerate(args)]
    L64 = loss(*ref64)
    return [L64] + list(torch.autograd.grad(L64, [ref64[i] for i in wrt]))


def check(w, impl, got, ref, tol=1e-4):
    """A CHECK line: max |got - ref| / max |ref| over the value and every
    gradient (inf-norm relative error), below tol."""
    got = [torch.as_tensor(np.asarray(a.detach() if torch.is_tensor(a) else a))
           for a in got]
    errs = [float((a.double().reshape(b.shape) - b.detach()).abs().max()
                  / b.detach().abs().max().clamp_min(1e-300))
            for a, b in zip(got, ref)]
    bad = len(got) != len(ref)
    status = "PASS" if not bad and max(errs) < tol else "FAIL"
    print(f"CHECK|{w}|{impl} vs torch float64|{max(errs):.3e}|{status}|"
          f"value {float(got[0]):.9g}", flush=True)


def check_gradc(w, gir, loss, args, wrt, arrays, names):
    """Runs bench/workloads/<gir> through the gradc Python module (the JIT,
    one call of value_and_grad wrt names) on `arrays` (args as the .gir
    takes them) and checks it against torch float64 of loss(*args), as
    `check`. Skipped with a NOTE when gradc's
    module is not importable (PYTHONPATH=build/python)."""
    if ALL_THREADS:
        return
    sys.path.insert(0, os.path.join(os.environ.get("GRADC_BUILD", os.path.join(ROOT, "build")),
                                    "python"))
    try:
        import gradc
    except ImportError as e:
        print(f"NOTE|{w}|gradc's Python module not found ({e}): gradc not checked here")
        return
    m = gradc.compile(os.path.join(ROOT, "bench", "workloads", gir))
    L, grads = m.value_and_grad("f", wrt=names)(*arrays)
    ref = reference64(loss, args, wrt)
    check(w, "gradc", [L] + [grads[n] for n in names], ref)


def check_dump(w, ref):
    """Checks the value and gradients a hand-written C++ baseline wrote
    (gradc-bench --dump $BENCH_CPP_DUMP: raw float32 in ref's order and
    shapes) against torch float64, as `check`. Nothing without
    $BENCH_CPP_DUMP; a NOTE if the file is missing."""
    folder = os.environ.get("BENCH_CPP_DUMP")
    if not folder or ALL_THREADS:
        return
    path = os.path.join(folder, f"{w}_cpp.f32")
    if not os.path.exists(path):
        print(f"NOTE|{w}|{path} not found: the hand-written C++ not checked here")
        return
    flat = np.fromfile(path, dtype=np.float32)
    got, at = [], 0
    for r in ref:
        n = r.numel()
        got.append(flat[at:at + n].reshape(tuple(r.shape)))
        at += n
    if at != flat.size:
        got.append(flat[at:])  # a length mismatch fails the check
    check(w, "c++", got, ref)  # the bench/baselines row of gradc-bench
