#!/usr/bin/env python3
"""Reads the RESULT|CHECK lines of one bench/run.sh log and prints, per
workload, every implementation's medians, its ratios to the project's own
hand-written C++ (bench/baselines, "c++") and to the fastest C++ of the same
run (the project's own or any build of ../shared/peers/cpp, "c++ peers ...";
fwd and fwd+grad minimized separately), then gradc against each PyTorch row
of the same run. Usage: summary.py LOG"""
import sys

results, checks, mem = {}, {}, {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("|")
    if f[0] == "RESULT":
        results.setdefault(f[1], []).append((f[2], float(f[3]), float(f[4]), f[5]))
    elif f[0] == "MEM":
        mem.setdefault(f[1], {})[f[2]] = int(f[3])
    elif f[0] == "CHECK":
        checks[(f[1], f[2].split(" vs ")[0])] = f[4]


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


print("| workload | impl | unit | fwd | fwd+grad | grad/fwd | x own C++ fwd+grad "
      "| x fastest C++ fwd | x fastest C++ fwd+grad | check |")
print("|---|---|---|--:|--:|--:|--:|--:|--:|---|")
best = {}
for w in sorted(results):
    rows = results[w]
    own = next((r for r in rows if r[0] == "c++"), None)
    cpp = [r for r in rows if r[0] == "c++" or r[0].startswith("c++ ")]
    bf = min((r[1] for r in cpp), default=0)
    bg = min((r[2] for r in cpp), default=0)
    fastest = min(cpp, key=lambda r: r[2])[0] if cpp else "-"
    best[w] = fastest
    for impl, fwd, grad, unit in rows:
        check = checks.get((w, impl), "(reference)" if impl == "c++" else "-")
        print(f"| {w} | {impl} | {unit} | {fwd:.4g} | {grad:.4g} | {grad / fwd:.2f} "
              f"| {ratio(grad, own[2]) if own else '-'} | {ratio(fwd, bf)} "
              f"| {ratio(grad, bg)} | {check} |")
print()
for w in sorted(best):
    print(f"fastest C++ fwd+grad for {w}: {best[w]}")

if mem:
    print()
    print("Peak bytes held by one value+gradient call beyond its inputs (gradc: "
          "intermediate buffers + results, as `gradc run --stats`; torch: every "
          "allocation torch.profiler records, outputs included):")
    print()
    print("| workload | gradc | torch eager | torch / gradc |")
    print("|---|--:|--:|--:|")
    for w in sorted(mem):
        g, t = mem[w].get("gradc"), mem[w].get("torch eager")
        r = f"{t / g:.2f}" if g and t else "-"
        print(f"| {w} | {g if g is not None else '-'} | {t if t is not None else '-'} | {r} |")

# gradc against PyTorch (single-threaded "torch eager", the multi-threaded
# "torch eager (N threads)" rows of W6-W8, W8's "torch nn.LSTM"): same run.
torch_rows = [(w, r, g) for w in sorted(results)
              for g in results[w] if g[0] == "gradc"
              for r in results[w] if r[0].startswith("torch")]
if torch_rows:
    print()
    print("gradc against PyTorch in the same run (ratios > 1: gradc is faster):")
    print()
    print("| workload | torch impl | torch fwd | torch fwd+grad | gradc fwd | gradc fwd+grad "
          "| torch/gradc fwd | torch/gradc fwd+grad | torch grad/fwd | gradc grad/fwd |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for w, (impl, tf, tg, unit), (_, gf, gg, _) in torch_rows:
        print(f"| {w} | {impl} | {tf:.4g} | {tg:.4g} | {gf:.4g} | {gg:.4g} | {tf / gf:.2f} "
              f"| {tg / gg:.2f} | {tg / tf:.2f} | {gg / gf:.2f} |")
