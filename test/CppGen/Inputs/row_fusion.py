"""Writes a logistic regression big enough for row fusion (X f32[1028,64],
256 KiB; 1028 rows: five blocks, the last of 4 rows) as PREFIX.gir and its
inputs as PREFIX.X.json, PREFIX.w.json, PREFIX.y.json."""
import json
import random
import sys

prefix = sys.argv[1]
n, k = 1028, 64
rng = random.Random(3)
open(prefix + ".gir", "w").write(f"""\
func @f(%X: f32[{n},{k}], %w: f32[{k}], %b: f32, %y: f32[{n}]) -> f32 {{
  %xw = matmul %X, %w
  %s = add %xw, %b
  %p = sigmoid %s
  %d = sub %p, %y
  %q = mul %d, %d
  %L = mean %q
  return %L
}}
""")
json.dump([[round(rng.uniform(-1, 1), 4) for _ in range(k)] for _ in range(n)],
          open(prefix + ".X.json", "w"))
json.dump([round(rng.uniform(-0.5, 0.5), 4) for _ in range(k)],
          open(prefix + ".w.json", "w"))
json.dump([float(rng.random() < 0.5) for _ in range(n)],
          open(prefix + ".y.json", "w"))
