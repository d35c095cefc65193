"""Writes deterministic random --arg values for a function of a .gir file.

usage: random_args.py FILE.gir FUNC OUTDIR N=2 T=3 ... ; prints the --arg
options. Floats are uniform in [-0.5, 0.5]; an integer parameter named in
LABELS=name:bound gets values in [0, bound).
"""
import json, os, random, re, sys

path, func, out = sys.argv[1], sys.argv[2], sys.argv[3]
dims, bounds = {}, {}
for a in sys.argv[4:]:
    k, v = a.split("=")
    if k == "LABELS":
        for item in v.split(","):
            n, b = item.split(":")
            bounds[n] = int(b)
    else:
        dims[k] = int(v)
src = open(path).read()
m = re.search(r"func @" + re.escape(func) + r"\((.*?)\) ->", src, re.S)
rng = random.Random(7)
opts = []
for p in m.group(1).split(", "):
    name, ty = p.strip().split(": ")
    name = name[1:]
    kind, _, shape = ty.partition("[")
    shape = [dims[d] if d in dims else int(d) for d in shape.rstrip("]").split(",")] if shape else []

    def fill(s):
        if not s:
            if kind.startswith("i"):
                return rng.randrange(bounds.get(name, 2))
            return round(rng.uniform(-0.5, 0.5), 6)
        return [fill(s[1:]) for _ in range(s[0])]

    f = os.path.join(out, name + ".json")
    with open(f, "w") as fh:
        json.dump(fill(shape), fh)
    opts.append("--arg " + name + "=@" + f)
print(" ".join(opts))
