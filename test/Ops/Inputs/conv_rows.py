"""Runs the functions of conv-rows.gir with `gradc run` (value, and value
with the gradients of L = sum(y^2)/2 wrt x, w, b) on the inputs of
conv_rows.json, and compares them with the PyTorch float64 results stored
there (F.pad + F.conv2d and autograd; integer inputs, so every backend must
agree to rounding). Usage: conv_rows.py GRADC FILE.gir [gradc run options]"""
import json
import os
import subprocess
import sys

gradc, gir, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_rows.json")) as f:
    ref = json.load(f)


def close(a, b):
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(map(close, a, b))
    return abs(a - b) <= 1e-4 * max(1.0, abs(b))


def run(*args):
    out = subprocess.run([gradc, "run", gir, "--format", "json", *args, *extra],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


bad = 0
args = [f"--arg=x={json.dumps(ref['x'])}", f"--arg=w={json.dumps(ref['w'])}",
        f"--arg=b={json.dumps(ref['b'])}"]
for case in ("rows", "tall", "nopad"):
    for dtype in ("", "32"):
        exp = ref[case]
        y = run("--func", case + dtype, *args)["outputs"][0]
        g = run("--func", "loss_" + case + dtype, "--grad", "x,w,b", *args)
        got = {"y": y, "L": g["outputs"][0], **g["gradients"]}
        for k in ("y", "L", "x", "w", "b"):
            ok = close(got[k], exp[k])
            bad += not ok
            print(f"{case}{dtype} {k}: {'ok' if ok else 'MISMATCH'}")
print(f"{bad} mismatch(es)")
