#!/usr/bin/env python3
"""Checks the benchmark workloads on small sizes (Python standard library only).

Each bench/workloads/*.gir is copied with its dimensions shrunk (the graph is
unchanged), then
  1. `gradc check` compares @f.grad and @f.jvp with central differences;
  2. `gradc run --grad` on random inputs must give the same value and
     gradients with --backend jit (float32 code) and --backend interp.
Usage: bench/check_workloads.py [path/to/gradc]
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRADC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/bin/gradc")

# file under bench/workloads -> (gradient arguments, {full size: small size})
W2 = ("w,b", {4096: 6, 512: 5})
WORKLOADS = {
    "w1_scalar.gir": ("x,y,z", {}),
    "w2_logreg.gir": W2,
    "w2_variants/literal/w2_logreg.gir": W2,
    "w2_variants/logsumexp/w2_logreg.gir": W2,
    "w3_mlp.gir": ("W1,b1,W2,b2", {256: 4, 784: 5, 10: 3}),
    "w4_elementwise.gir": ("x", {4194304: 7}),
    "w5_deep.gir": (",".join(f"W{k},b{k}" for k in range(8)), {32: 3, 64: 4}),
}


def shrink(text, sizes):
    for big, small in sizes.items():
        text = re.sub(rf"\b{big}\b", str(small), text)
    return text


def random_value(dims, rng, name):
    if not dims:
        return round(rng.uniform(-1, 1), 4)
    if name == "y":  # logreg labels
        return [float(rng.randint(0, 1)) for _ in range(dims[0])]
    return [random_value(dims[1:], rng, name) for _ in range(dims[0])]


def run(args):
    p = subprocess.run([GRADC] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: gradc {' '.join(args)}\n{p.stderr}")
    return p.stdout


def close(a, b, tol):
    if isinstance(a, list):
        return all(close(x, y, tol) for x, y in zip(a, b)) and len(a) == len(b)
    return abs(a - b) <= tol * max(1.0, abs(b))


def main():
    rng = random.Random(7)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for w, (wrt, sizes) in WORKLOADS.items():
            with open(os.path.join(ROOT, "bench/workloads", w)) as f:
                text = shrink(f.read(), sizes)
            path = os.path.join(tmp, w.replace("/", "_"))
            with open(path, "w") as f:
                f.write(text)
            out = run(["check", path, "--func", "f", "--wrt", wrt])
            good = "FAILED" not in out
            header = text[text.index("func @f(") : text.index("->")]
            argv = []
            for name, dims in re.findall(r"%(\w+): f32(?:\[([\d,]+)\])?", header):
                shape = [int(d) for d in dims.split(",")] if dims else []
                value = json.dumps(random_value(shape, rng, name))
                argv += ["--arg", f"{name}={value}"]
            res = {}
            for backend in ("jit", "interp"):
                res[backend] = json.loads(run(["run", path, "--func", "f", "--grad", wrt,
                                               "--format", "json", "--backend", backend] + argv))
            # Both evaluate float32 ops; the interpreter accumulates in double.
            same = close(res["jit"]["outputs"], res["interp"]["outputs"], 1e-5) and all(
                close(res["jit"]["gradients"][k], v, 1e-5)
                for k, v in res["interp"]["gradients"].items())
            print(f"{w:36} gradc check: {'ok' if good else 'FAILED'}   "
                  f"jit vs interp: {'ok' if same else 'DIFFER'}   (sizes {sizes or 'scalar'})")
            if not (good and same):
                ok = False
                print(out)
                print(json.dumps(res, indent=None)[:2000])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
