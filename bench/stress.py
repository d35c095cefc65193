#!/usr/bin/env python3
"""Stress: time and peak memory of gradc on programs of 10^4 to 10^6 ops.

Generates functions of n ops over f64[4], ending in a sum: "mixed", a chain
of add/tanh/mul/sin where each op reads the previous value and one from up to
5 steps back (fan-out), and "chain", a plain chain of sin/tanh where each op
reads only the previous one. Runs, under /usr/bin/time -v with a timeout,

    gradc parse F.gir              gradc run F.gir --backend interp --arg x=...
    gradc grad F.gir               gradc run F.gir --no-cache --arg x=...  (JIT)

then prints a markdown table per program: wall time, CPU time (user + system;
steadier than the wall time on a shared machine) and peak resident memory per
cell, or what went wrong (the signal, the exit status, or the timeout).

Usage: bench/stress.py [--gradc build/bin/gradc] [--sizes 10000,100000,1000000]
                       [--timeout 300] [--commands parse,grad,interp,jit]
                       [--programs mixed,chain]
"""
import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile

COMMANDS = {
    "parse": (["parse"], "`gradc parse`"),
    "grad": (["grad"], "`gradc grad`"),
    "interp": (["run", "--backend", "interp", "--arg", "x=[0.1,0.2,0.3,0.4]"],
               "`gradc run --backend interp`"),
    # --no-cache: every run compiles (the compile cache would otherwise give
    # a rerun of the same program its object code).
    "jit": (["run", "--no-cache", "--arg", "x=[0.1,0.2,0.3,0.4]"],
            "`gradc run` (JIT)"),
}


def program(kind, n, path, seed=1):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("func @f(%x: f64[4]) -> f64 {\n  %v0 = tanh %x\n")
        for k in range(1, n - 1):
            if kind == "chain":
                f.write(f"  %v{k} = {('sin', 'tanh')[k % 2]} %v{k - 1}\n")
                continue
            a, b = f"%v{k - 1}", f"%v{max(0, k - rng.randint(1, 5))}"
            op = ("add", "tanh", "mul", "sin")[k % 4]
            if op in ("tanh", "sin"):
                f.write(f"  %v{k} = {op} {a}\n")
            else:
                f.write(f"  %v{k} = {op} {a}, {b}\n")
        f.write(f"  %L = sum %v{n - 2}\n  return %L\n}}\n")


def measure(gradc, args, path, timeout):
    """Returns (cell text, seconds or None)."""
    cmd = ["/usr/bin/time", "-v", gradc, args[0], path] + args[1:]
    # A session of its own, so that a timeout kills gradc too, not only time.
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, errors="replace", start_new_session=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return f"timeout (> {timeout} s)", None
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", err)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    secs = 0.0
    for part in wall.group(1).split(":"):
        secs = secs * 60 + float(part)
    mem = int(rss.group(1)) / 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", err).group(1))
              for k in ("User", "System"))
    sig = re.search(r"Command terminated by signal (\d+)", err)
    if sig:
        name = signal.Signals(int(sig.group(1))).name
        return f"**{name}** after {secs:.1f} s, {mem:.0f} MB", secs
    status = re.search(r"Exit status: (\d+)", err)
    if status and status.group(1) != "0":
        first = next((l for l in err.splitlines() if "error" in l), "")
        return f"**exit {status.group(1)}** after {secs:.1f} s: {first[:60]}", secs
    return f"{secs:.2f} s ({cpu:.2f} s CPU), {mem:.0f} MB", secs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gradc", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin", "gradc"))
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--commands", default="parse,grad,interp,jit")
    p.add_argument("--programs", default="mixed,chain")
    opts = p.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    cmds = opts.commands.split(",")
    for kind in opts.programs.split(","):
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                path = os.path.join(tmp, f"{kind}{n}.gir")
                program(kind, n, path)
                row = [f"{n:,}"]
                for c in cmds:
                    cell, _ = measure(opts.gradc, COMMANDS[c][0], path,
                                      opts.timeout)
                    print(f"  {kind} {n} ops, {c}: {cell}", file=sys.stderr,
                          flush=True)
                    row.append(cell)
                rows.append(row)
        print(f"\n{kind}:\n")
        print("| ops | " + " | ".join(COMMANDS[c][1] for c in cmds) + " |")
        print("|---:|" + "---|" * len(cmds))
        for row in rows:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
