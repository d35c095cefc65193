"""Times `gradc grad` and `gradc jvp` of a function of n parameters, with and
without naming every parameter in --wrt, and `gradc run` given a value for
each, and fails if naming them costs more than a constant factor: resolving the names must be linear (it was quadratic,
50,000 parameters took seconds). Usage: many_params.py GRADC N TMPDIR"""
import os
import subprocess
import sys
import time

gradc, n, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(tmp, exist_ok=True)
gir = os.path.join(tmp, "many.gir")
with open(gir, "w") as f:
    params = ", ".join(f"%p{i}: f64" for i in range(n))
    f.write(f"func @f({params}) -> f64 {{\n  %s = mul %p0, %p{n - 1}\n"
            "  return %s\n}\n")
# Too long for one command-line argument: a response file.
rsp = os.path.join(tmp, "wrt.rsp")
with open(rsp, "w") as f:
    f.write("--wrt=" + ",".join(f"p{i}" for i in range(n)))
# And a value for each parameter, for `gradc run`.
args_rsp = os.path.join(tmp, "args.rsp")
with open(args_rsp, "w") as f:
    f.write("\n".join(f"--arg=p{i}={i % 7}" for i in range(n)))


def timed(*args):
    start = time.perf_counter()
    out = subprocess.run([gradc, *args], check=True, stdout=subprocess.PIPE)
    return time.perf_counter() - start, out.stdout


base, _ = timed("grad", gir)
# jvp does about four times the work of grad (it transposes a VJP). The
# margins are wide for loaded machines and sanitizer builds: the quadratic
# search took 24 (grad) and 50 (jvp) times as long.
for cmd, factor in (("grad", 4), ("jvp", 10)):
    t, out = timed(cmd, gir, "@" + rsp)
    # Each derivative is in the output: d<p> for every parameter.
    assert out.count(b"%dp") >= n, cmd
    ok = t < factor * base + 1.0
    print(f"{cmd} --wrt <{n} names>: {t:.2f} s, grad without --wrt "
          f"{base:.2f} s:", "ok" if ok else "TOO SLOW")

# `gradc run` with a value for each of the n parameters: matching them to the
# parameters was a linear search per --arg (quadratic: 30 s for 50,000).
t, out = timed("run", gir, "--backend", "interp", "@" + args_rsp)
assert out.startswith(b"s : f64 = "), out[:80]
ok = t < 4 * base + 1.0
print(f"run --arg <{n} values>: {t:.2f} s, grad without --wrt {base:.2f} s:",
      "ok" if ok else "TOO SLOW")
