#!/usr/bin/python3
"""Runs functions through C++ emitted by `gradc emit --target cpp` and compares
the results with the interpreter (`gradc run --format json`).

Each run is given like the arguments of `gradc run`:

  cpp_check.py --gradc gradc --cxx 'g++ -std=c++17 ...' --tmp DIR FILE.gir \
      --run "--func f --arg x=1 --arg 'W=[[1,2]]'" --run "--func f --grad x ..."

or collected from the `gradc run` RUN lines of lit tests (`--scan FILE...`).
All modules involved (FILE, or `gradc grad` of it for runs with --grad) are
renamed apart, concatenated into one module, emitted as one C++ file, and
compiled once together with a generated main() that calls every run through
the C ABI and prints its results. f64 results must agree to a relative 1e-12,
f32 results to 1e-5. --also-cxx compiles the emitted file once more (e.g. with
clang++-19 -Werror). Exit code 0 when everything agrees.
"""
import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("command failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def parse_value(text):
    """A number or nested list as `gradc run --arg` reads it."""
    text = text.strip()
    if text.startswith("@"):
        if not text.endswith(".json"):
            return None
        text = open(text[1:]).read()
    text = re.sub(r"-?\b(nan|inf)\b", lambda m: {"nan": "NaN", "-nan": "NaN",
                  "inf": "Infinity", "-inf": "-Infinity"}[m.group(0)], text)
    text = re.sub(r"(?<![\w.])[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?",
                  lambda m: repr(float(m.group(0))), text)
    try:
        return json.loads(text)
    except ValueError:
        return None


def flatten(v):
    if isinstance(v, list):
        shape, out = [len(v)], []
        inner = None
        for x in v:
            s, f = flatten(x)
            inner = s
            out += f
        return shape + (inner or []), out
    return [], [float(v)]


def parse_sig(header):
    """{name: (args [(name, dtype, dims)], results [(dtype, dims)])} from the
    comments of the emitted header."""
    sigs = {}
    for m in re.finditer(r"/\* func @(\S+)\((.*?)\) -> \((.*?)\) \*/", header):
        args = []
        for a in filter(None, m.group(2).split(", %")):
            name, ty = a.lstrip("%").split(": ")
            args.append((name,) + parse_type(ty))
        res = [parse_type(t) for t in re.findall(r"[fi](?:32|64)(?:\[[^\]]*\])?",
                                                   m.group(3))]
        sigs[m.group(1)] = (args, res)
    return sigs


def parse_type(t):
    m = re.match(r"(f32|f64|i32|i64)(?:\[(.*)\])?$", t.strip())
    dims = [d if not d.lstrip("-").isdigit() else int(d)
            for d in (m.group(2).split(",") if m.group(2) else [])]
    return m.group(1), dims


CTYPES = {"f32": "float", "f64": "double", "i32": "int32_t", "i64": "int64_t"}


def cnum(x, dtype):
    if dtype in ("i32", "i64"):
        return "%d" % int(x)
    if math.isnan(x):
        s = "std::numeric_limits<double>::quiet_NaN()"
    elif math.isinf(x):
        s = ("-" if x < 0 else "") + "std::numeric_limits<double>::infinity()"
    else:
        s = repr(float(x))
    return "float(%s)" % s if dtype == "f32" else s


class Run:
    def __init__(self, file, spec, where):
        self.file, self.where = file, where
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument("--func", "-func", default=None)
        p.add_argument("--arg", "-arg", action="append", default=[])
        p.add_argument("--grad", "-grad", "--wrt", "-wrt", action="append",
                       default=[])
        p.add_argument("--vjp", "-vjp", action="store_true")
        p.add_argument("--has-aux", "-has-aux", action="store_true")
        p.add_argument("-O0", "--O0", action="store_true")
        p.add_argument("--format", "-format", default=None)
        self.spec = spec
        self.opts = p.parse_args(spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--cxx", required=True, help="compiler and flags")
    ap.add_argument("--also-cxx", action="append", default=[])
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--run", action="append", default=[])
    ap.add_argument("--scan", action="store_true",
                    help="FILEs are lit tests: check their `gradc run` lines")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.tmp, exist_ok=True)
    gradc = shlex.split(a.gradc)
    # The oracle is the reference interpreter, whatever `run` defaults to.
    interp = ["--backend=interp"] if "--backend" in sh(
        gradc + ["run", "--help"]) else []

    runs = []
    if a.scan:
        for t in a.files:
            runs += scan(t, os.path.join(os.path.dirname(HERE), "..", "examples"))
    else:
        for r in a.run:
            runs.append(Run(a.files[0], shlex.split(r), r))

    # One renamed module per (file, gradient request).
    variants, texts = {}, []
    for r in runs:
        o = r.opts
        key = (r.file, tuple(o.grad) and
               (o.func, tuple(o.grad), o.vjp, o.has_aux, o.O0))
        if key not in variants:
            if o.grad:
                cmd = gradc + ["grad", r.file, "--wrt", ",".join(o.grad)]
                cmd += (["--func", o.func] if o.func else []) + \
                    (["--vjp"] if o.vjp else []) + \
                    (["--has-aux"] if o.has_aux else []) + \
                    (["-O0"] if o.O0 else [])
            else:
                cmd = gradc + ["parse", r.file]
            text = sh(cmd)
            prefix = "m%d." % len(variants)
            names = re.findall(r"^func @(\S+)\(", text, re.M)
            # Every reference (func, call, cond, scan, custom_vjp).
            known = set(names)
            text = re.sub(r"@([A-Za-z_][\w.]*)", lambda m: "@" + prefix +
                          m.group(1) if m.group(1) in known else m.group(0),
                          text)
            variants[key] = (prefix, names)
            texts.append(text)
        prefix, names = variants[key]
        func = (o.func or names[0]).lstrip("@")
        r.target = prefix + func + (".grad" if o.grad else "")
        r.seed = bool(o.grad) and not o.vjp

    gir = os.path.join(a.tmp, "all.gir")
    with open(gir, "w") as f:
        f.write("\n".join(texts))
    cpp, hdr = os.path.join(a.tmp, "all.cpp"), os.path.join(a.tmp, "all.h")
    sh(gradc + ["emit", gir, "--target", "cpp", "-o", cpp, "--header", hdr])
    sigs = parse_sig(open(hdr).read())
    for extra in a.also_cxx:
        sh(shlex.split(extra) + ["-fsyntax-only", "-I", a.tmp, cpp])

    main_cpp = ['#include "all.cpp"', '#include "cpp-harness.h"', "",
                "int main() {"]
    checks = []
    for n, r in enumerate(runs):
        args, results = sigs[r.target]
        given = {}
        for kv in r.opts.arg:
            k, v = kv.split("=", 1)
            given[k.strip().lstrip("%")] = parse_value(v)
        if r.seed:
            given[args[-1][0]] = 1.0
        if any(v is None for v in given.values()):
            continue  # a .npy file: not read here
        # Expected values from the interpreter.
        expect = json.loads(sh(gradc + ["run", r.file] + interp +
                               without_format(r.spec) + ["--format", "json"]))
        expected = expect["outputs"] + list(expect["gradients"].values())
        dims, call, block = {}, [], ["  {"]
        for i, (name, dt, ds) in enumerate(args):
            shape, data = flatten(given[name])
            for d, s in zip(ds, shape):
                if isinstance(d, str):
                    dims.setdefault(d, s)
            ct = CTYPES[dt]
            block.append("    static const %s a%d[] = {%s};" %
                         (ct, i, ", ".join(cnum(x, dt) for x in data)))
            call.append("a%d" % i)
        for d in dims:
            call.append(str(dims[d]))
        for i, (dt, ds) in enumerate(results):
            size = 1
            for d in ds:
                size *= dims[d] if isinstance(d, str) else d
            ct = CTYPES[dt]
            block.append("    std::vector<%s> o%d(%d);" % (ct, i, size))
            call.append("o%d.data()" % i)
        sym = "gradc_" + re.sub(r"[^A-Za-z0-9]", "_", r.target)
        block.append("    int rc = %s(%s);" % (sym, ", ".join(call)))
        block.append('    std::printf("%d [", rc);')
        for i in range(len(results)):
            block.append('    printList(o%d%s);' % (i, ", true" if i else ""))
        block.append('    std::printf("]\\n");')
        block.append("  }")
        main_cpp += block
        checks.append((r, expected, [dt for dt, _ in results]))
    main_cpp += ["  return 0;", "}"]
    src = os.path.join(a.tmp, "main.cpp")
    with open(src, "w") as f:
        f.write("\n".join(main_cpp) + "\n")
    exe = os.path.join(a.tmp, "main")
    sh(shlex.split(a.cxx) + ["-I", a.tmp, "-I", HERE, src, "-o", exe])
    lines = sh([exe]).splitlines()

    bad = 0
    for (r, expected, dtypes), out in zip(checks, lines):
        rc, got = out.split(" ", 1)
        got = json.loads(got)
        why = compare(expected, got, dtypes) if rc == "0" else "returned " + rc
        if why:
            bad += 1
            print("MISMATCH %s: %s\n  %s" % (r.file, " ".join(r.spec), why))
    print("checked %d run(s) through emitted C++, %d mismatch(es)" %
          (len(checks), bad))
    return 1 if bad else 0


def without_format(spec):
    out, skip = [], False
    for w in spec:
        if skip:
            skip = False
        elif w in ("--format", "-format"):
            skip = True
        elif not w.startswith(("--format=", "-format=")):
            out.append(w)
    return out


def compare(expected, got, dtypes):
    if len(expected) != len(got):
        return "expected %d results, got %d" % (len(expected), len(got))
    for i, (e, g, dt) in enumerate(zip(expected, got, dtypes)):
        _, ef = flatten(e)
        if len(ef) != len(g):
            return "result %d: %d elements, expected %d" % (i, len(g), len(ef))
        tol = 1e-5 if dt == "f32" else 1e-12
        for x, y in zip(ef, g):
            if math.isnan(x) and math.isnan(y) or x == y:
                continue
            if abs(x - y) > tol * max(abs(x), abs(y)):
                return "result %d: %r vs interpreter %r" % (i, g, ef)
    return None


def scan(test, examples):
    """The `gradc run` lines of a lit test that read no temporary files and
    name no backend."""
    runs = []
    d = os.path.dirname(os.path.abspath(test))
    for m in re.finditer(r"RUN: (.*)", open(test).read()):
        line = m.group(1)
        # Runs that name a backend are about that backend.
        if "%t" in line or "| gradc run" in line or re.search(r"\bnot\b", line) \
                or "--backend" in line:
            continue
        cmd = line.split("|")[0].replace("2>&1", "").strip()
        if not cmd.startswith("gradc run "):
            continue
        cmd = cmd.replace("%S", d).replace("%s", os.path.abspath(test))
        cmd = cmd.replace("%examples", examples)
        words = shlex.split(cmd)[2:]
        # The module: the first .gir word that is not an option's value.
        at = next(i for i, w in enumerate(words) if w.endswith(".gir") and
                  (i == 0 or not words[i - 1].startswith("-")))
        file = words.pop(at)
        runs.append(Run(file, words, test))
    return runs


if __name__ == "__main__":
    sys.exit(main())
