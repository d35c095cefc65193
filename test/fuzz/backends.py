#!/usr/bin/env python3
"""Differential fuzzer: random programs with their gradients, JIT against interpreter.

Not part of ctest (it takes minutes); run it after changing the backend:

    test/fuzz/backends.py [--gradc build/bin/gradc] [--seed 0] [--count 300] [--no-blas]
    test/fuzz/backends.py --cpp [--cxx 'g++ -std=c++17 -O1 -Wall -Wextra -Werror'] ...
    test/fuzz/backends.py --big    # hundreds to thousands of rows: blocked loops

Each program is a random chain of elementwise ops, matmuls (with folded
transposes), full and partial reductions, softmax-like ops, reshapes and
broadcasts over f32/f64 [N,K] values, returning a scalar and a tensor; and
the ops of issue 9 that keep those shapes: erf, softplus, log1p, rsqrt,
reduce_min, cumsum, einsum, batched matmul, and argmax indices used by
gather and gather_elements (integers on every backend), and integer
arithmetic on those indices (add/sub/mul/max/min/neg/abs, cumsum, sum). Its
vector-Jacobian product (gradc run --grad ... --vjp) is evaluated by both
backends at random sizes and values; any difference beyond 1e-12 (f64) or
1e-4 (f32) relative is printed with the program and its arguments. With --cpp
the emitted C++ (gradc emit --target cpp, compiled with --cxx) is compared with
the interpreter instead, through test/Inputs/cpp_check.py. With --check each
program's reverse and forward mode go through `gradc check` (finite
differences) instead.

With --big (hundreds to thousands of rows, so that loops run in blocks of rows
and on several threads) a few programs in forty differ by more than the
tolerance: their integer paths add running sums of indices (up to about 1e8)
to floats, and sums over thousands of such rows round differently in a
different order (f32 by 1e-4 to a few percent, f64 by about 1e-12). Compare
such a program with an older gradc (--gradc) before suspecting the change:
at the end of session 5, seeds 300-339 and 400-439 differed in programs the
session's base build also got (a subset of them).
"""
import argparse
import json
import os
import re
import shlex
import random
import subprocess
import sys
import tempfile

UNARY = ["tanh", "sigmoid", "relu", "neg", "abs", "softmax", "log_softmax"]
BINARY = ["add", "mul", "sub", "max", "min"]


def program(rng):
    dt = rng.choice(["f32", "f64"])
    lines = [f"func @f(%x: {dt}[N,K], %y: {dt}[N,K], %w: {dt}[K,K], %b: {dt}[K], "
             f"%c: {dt}[N,1]) -> ({dt}, {dt}[N,K]) {{"]
    tensors = ["%x", "%y"]
    others = ["%b", "%c"]
    count = 0

    def fresh():
        nonlocal count
        count += 1
        return f"%v{count}"

    for _ in range(rng.randint(5, 30)):
        a = rng.choice(tensors)
        b = rng.choice(tensors + others)
        v = fresh()
        kind = rng.choice(UNARY + BINARY + ["exp", "matmul", "matmulT", "colsum",
                                            "rowsum", "rowmax", "mean", "lse",
                                            "select", "reshape", "mean0", "bcast"] +
                          ["erf", "softplus", "log1p", "rsqrt", "rowmin", "cumsum", "einsum", "bmm", "pick",
                           "gatherrows", "intpath"])
        t = fresh()
        if kind in UNARY:
            lines.append(f"  {v} = {kind} {a}")
        elif kind in BINARY:
            lines.append(f"  {v} = {kind} {a}, {b}")
        elif kind == "exp":
            lines += [f"  {t} = tanh {a}", f"  {v} = exp {t}"]
        elif kind == "matmul":
            lines.append(f"  {v} = matmul {a}, %w")
        elif kind == "matmulT":
            lines += [f"  {t} = transpose %w", f"  {v} = matmul {a}, {t}"]
        elif kind == "colsum":
            lines += [f"  {t} = sum {a} {{axes=[0]}}", f"  {v} = mul {a}, {t}"]
        elif kind == "rowsum":
            lines += [f"  {t} = sum {a} {{axes=[1], keepdims=true}}",
                      f"  {v} = sub {a}, {t}"]
        elif kind == "rowmax":
            lines += [f"  {t} = reduce_max {a} {{axes=[-1], keepdims=true}}",
                      f"  {v} = add {a}, {t}"]
        elif kind == "mean":
            lines += [f"  {t} = mean {a}", f"  {v} = mul {a}, {t}"]
        elif kind == "lse":
            lines += [f"  {t} = logsumexp {a} {{axis=0}}", f"  {v} = add {a}, {t}"]
        elif kind == "select":
            lines += [f"  {t} = gt {a}, {b}", f"  {v} = select {t}, {a}, {b}"]
        elif kind == "reshape":
            u = fresh()
            lines += [f"  {t} = reshape {a} {{shape=[K,N]}}", f"  {u} = transpose {t}",
                      f"  {v} = add {u}, {b}"]
        elif kind == "mean0":
            lines += [f"  {t} = mean {a} {{axes=[0]}}", f"  {v} = add {a}, {t}"]
        elif kind in ("erf", "softplus"):
            lines.append(f"  {v} = {kind} {a}")
        elif kind in ("log1p", "rsqrt"):
            u = fresh()
            op = "log1p" if kind == "log1p" else "rsqrt"
            lines += [f"  {t} = mul {a}, {a}", f"  {u} = const 1 : {dt}",
                      f"  {t}s = add {t}, {u}", f"  {v} = {op} {t}s"]
        elif kind == "rowmin":
            lines += [f"  {t} = reduce_min {a} {{axes=[1], keepdims=true}}",
                      f"  {v} = add {a}, {t}"]
        elif kind == "cumsum":
            attrs = rng.choice(["", ", exclusive=true", ", reverse=true",
                                ", exclusive=true, reverse=true"])
            lines.append(f"  {v} = cumsum {a} {{axis={rng.choice([0, 1])}{attrs}}}")
        elif kind == "einsum":
            spec = rng.choice(['"nk,kj->nj"', '"nk,jk->nj"'])
            lines.append(f"  {v} = einsum {a}, %w {{spec={spec}}}")
        elif kind == "bmm":
            u = fresh()
            lines += [f"  {t} = reshape {a} {{shape=[N,1,K]}}",
                      f"  {u} = matmul {t}, %w", f"  {v} = reshape {u} {{shape=[N,K]}}"]
        elif kind == "pick":
            u, z = fresh(), fresh()
            lines += [f"  {t} = argmax {a} {{axis=1}} : i64",
                      f"  {u} = reshape {t} {{shape=[N,1]}}",
                      f"  {z} = gather_elements {b}, {u} {{axis=1}}"
                      if b in tensors else
                      f"  {z} = gather_elements {a}, {u} {{axis=1}}",
                      f"  {v} = add {a}, {z}"]
        elif kind == "gatherrows":
            u = fresh()
            lines += [f"  {t} = argmax {a} {{axis=0}} : i64",
                      f"  {u} = gather {a}, {t} {{axis=0}}",
                      f"  {v} = matmul {a}, {u}"]
        elif kind == "intpath":
            # integer arithmetic on argmax indices (wrapping ops, a running
            # sum, an integer sum), cast back and added as a constant
            u, z, q, r2, m, mc = (fresh() for _ in range(6))
            op = rng.choice(["add", "sub", "mul", "max", "min"])
            un = rng.choice(["neg", "abs"])
            lines += [f"  {t} = argmax {a} {{axis=1}} : i64",
                      f"  {u} = cumsum {t} {{axis=0}}",
                      f"  {z} = {op} {u}, {t}",
                      f"  {m} = {un} {z}",
                      f"  {mc} = sum {m}",
                      f"  {q} = add {m}, {mc}",
                      f"  {r2} = cast {q} : {dt}",
                      f"  {u}.c = reshape {r2} {{shape=[N,1]}}",
                      f"  {v} = add {a}, {u}.c"]
        else:  # bcast
            lines += [f"  {t} = broadcast_to %c {{shape=[N,K]}}", f"  {v} = mul {t}, {a}"]
        tensors.append(v)
    s = fresh()
    mid = rng.choice(tensors[2:])
    lines += [f"  {s} = sum {tensors[-1]}", f"  return {s}, {mid}", "}"]
    return "\n".join(lines) + "\n", dt, s, mid


def value(rng, shape):
    if not shape:
        return round(rng.uniform(-2, 2), 3)
    return [value(rng, shape[1:]) for _ in range(shape[0])]


def flat(x):
    if isinstance(x, list):
        for e in x:
            yield from flat(e)
    else:
        yield x


def run(gradc, path, backend, args):
    r = subprocess.run([gradc, "run", path, "--func", "f", "--backend", backend,
                        "--grad", "x,y,w,b,c", "--format", "json"] + args,
                       capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr.strip()
    text = r.stdout.replace("-Infinity", "-1e999").replace("Infinity", "1e999")
    out = json.loads(text.replace("NaN", "null"))
    return list(flat(out["outputs"])) + [x for g in out["gradients"].values()
                                         for x in flat(g)], ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", default="build/bin/gradc")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--no-blas", action="store_true")
    ap.add_argument("--cpp", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--static", action="store_true",
                    help="static dims instead of the symbols N and K")
    ap.add_argument("--big", action="store_true",
                    help="static dims, N in 257..4099 and K in 8..40 (loops in "
                    "blocks of rows, on several threads; the arguments go "
                    "through .json files)")
    ap.add_argument("--cxx", default="g++ -std=c++17 -O1 -Wall -Wextra -Werror")
    opts = ap.parse_args()
    bad = compared = 0
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/f.gir"
        for i in range(opts.count):
            rng = random.Random(opts.seed + i)
            src, dt, s, mid = program(rng)
            n = rng.randint(1, 6)
            k = n if rng.random() < 0.3 else rng.randint(1, 6)
            if opts.big:
                n, k = rng.randint(257, 4099), rng.randint(8, 40)
            if opts.static or opts.big:
                src = re.sub(r"\[([NK1,]+)\]",
                             lambda m: "[" + m.group(1).replace("N", str(n))
                             .replace("K", str(k)) + "]", src)
            with open(path, "w") as f:
                f.write(src)
            def arg(name, shape):
                text = json.dumps(value(rng, shape))
                if not opts.big:
                    return ["--arg", f"{name}={text}"]
                with open(f"{d}/{name}.json", "w") as f:
                    f.write(text)
                return ["--arg", f"{name}=@{d}/{name}.json"]
            args = []
            for name, shape in [("x", [n, k]), ("y", [n, k]), ("w", [k, k]),
                                ("b", [k]), ("c", [n, 1])]:
                args += arg(name, shape)
            args += ["--vjp", "--arg", f"d{s[1:]}=1"] + arg(f"d{mid[1:]}", [n, k])
            if opts.check:
                r = subprocess.run([opts.gradc, "check", path, "--tol", "1e-5"],
                                   capture_output=True, text=True)
                compared += 1
                if r.returncode:
                    bad += 1
                    print(f"# program {i}: gradc check fails\n{src}{r.stdout}{r.stderr}")
                continue
            if opts.cpp:
                check = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "..", "Inputs", "cpp_check.py")
                r = subprocess.run(
                    [sys.executable, check, "--gradc", opts.gradc, "--cxx", opts.cxx,
                     "--tmp", f"{d}/cpp{i}", path, "--run",
                     " ".join(shlex.quote(a) for a in
                              ["--func", "f", "--grad", "x,y,w,b,c"] + args)],
                    capture_output=True, text=True)
                compared += 1
                if r.returncode:
                    bad += 1
                    print(f"# program {i} ({dt}, N={n}, K={k}): emitted C++ "
                          f"differs or fails\n{src}# args: {' '.join(args)}\n"
                          f"{r.stdout[-2000:]}{r.stderr[-2000:]}")
                continue
            want, e1 = run(opts.gradc, path, "interp", args)
            got, e2 = run(opts.gradc, path, "jit", args +
                          (["--no-blas"] if opts.no_blas else []))
            if want is None or got is None:
                if (want is None) != (got is None):
                    bad += 1
                    print(f"# program {i}: only one backend failed: {e1} | {e2}")
                continue
            compared += 1
            tol = 1e-12 if dt == "f64" else 1e-4
            same = len(want) == len(got) and all(
                (p is None and q is None) or
                (p is not None and q is not None and
                 abs(p - q) <= tol * max(1.0, abs(p)))
                for p, q in zip(want, got))
            if not same:
                bad += 1
                worst = max(((abs(p - q) / max(1.0, abs(p)), j, p, q)
                             for j, (p, q) in enumerate(zip(want, got))
                             if p is not None and q is not None),
                            default=(0, -1, None, None))
                print(f"# program {i} ({dt}, N={n}, K={k}) differs (worst: "
                      f"element {worst[1]}, interpreter {worst[2]!r}, "
                      f"JIT {worst[3]!r})\n{src}# args: {' '.join(args)}")
    print(f"{compared} programs compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
