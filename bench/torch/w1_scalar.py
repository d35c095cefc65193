"""W1: f(x,y,z) = (x+y)*z on 0-d tensors, ns per call."""
import itertools

from common import bench, torch, uniform

N = 1000000
xs, ys, zs = (uniform(s, N, 1.0) for s in (101, 102, 103))
# 0-d leaf tensors for the first 1000 inputs, used round-robin.
leaves = [tuple(t[i].clone().requires_grad_() for t in (xs, ys, zs)) for i in range(1000)]
cycle = itertools.cycle(leaves)


def fwd():
    x, y, z = next(cycle)
    with torch.no_grad():
        return (x + y) * z


def vg(args=None):
    x, y, z = args or next(cycle)
    f = (x + y) * z
    return f, torch.autograd.grad(f, (x, y, z))


f, g = bench(fwd, min_rep_s=0.2) * 1e9, bench(vg, min_rep_s=0.2) * 1e9
print(f"RESULT|w1|torch eager|{f:.6g}|{g:.6g}|ns/call", flush=True)
worst = 0.0
for x, y, z in leaves:  # against the hand gradient (z, z, x+y), in double
    v, (dx, dy, dz) = vg((x, y, z))
    X, Y, Z = x.item(), y.item(), z.item()
    for got, ref in ((v, (X + Y) * Z), (dx, Z), (dy, Z), (dz, X + Y)):
        worst = max(worst, abs(got.item() - ref) / max(abs(ref), 1e-30))
print(f"CHECK|w1|torch eager vs double|{worst:.3e}|{'PASS' if worst < 1e-4 else 'FAIL'}|"
      f"value {vg(leaves[0])[0].item():.9g}")
