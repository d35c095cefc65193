"""Compares two `gradc run --format json` outputs element by element.

usage: close.py A.json B.json RTOL; exit code 0 when every output and
gradient agrees within RTOL (relative to max(|b|, 1e-3)).
"""
import json, sys


def flat(x):
    return [y for z in x for y in flat(z)] if isinstance(x, list) else [x]


a, b = (json.load(open(p)) for p in sys.argv[1:3])
rtol = float(sys.argv[3])
worst = 0.0
pairs = [(a["outputs"], b["outputs"])]
assert a["gradients"].keys() == b["gradients"].keys()
pairs += [(a["gradients"][k], b["gradients"][k]) for k in a["gradients"]]
for x, y in pairs:
    fx, fy = flat(x), flat(y)
    assert len(fx) == len(fy)
    for u, v in zip(fx, fy):
        worst = max(worst, abs(u - v) / max(abs(v), 1e-3))
print("max rel difference %.3g" % worst)
sys.exit(0 if worst <= rtol else 1)
