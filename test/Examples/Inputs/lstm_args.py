"""The arguments lstm_main.cpp uses, as gradc --arg options."""
import json

def fill(n, s):
    return [s * ((i % 7) - 3) for i in range(n)]

def shaped(v, *dims):
    if len(dims) == 1:
        return v
    k = len(v) // dims[0]
    return [shaped(v[i * k:(i + 1) * k], *dims[1:]) for i in range(dims[0])]

args = {"x": shaped(fill(8, 0.1), 2, 4), "h": shaped(fill(16, 0.05), 2, 8),
        "c": shaped(fill(16, 0.2), 2, 8), "W": shaped(fill(384, 0.03), 12, 32),
        "b": fill(32, 0.01), "Wy": shaped(fill(40, 0.07), 8, 5),
        "by": fill(5, 0.02), "y": [[3], [-1]]}
print(" ".join("--arg '%s=%s'" % (k, json.dumps(v)) for k, v in args.items()))
