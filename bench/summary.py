#!/usr/bin/env python3
"""Reads the RESULT|CHECK lines of one bench/run.sh log and prints, per
workload, every implementation's medians and its ratios to the same run's
hand-written C++. Usage: summary.py LOG"""
import sys

results, checks = {}, {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("|")
    if f[0] == "RESULT":
        results.setdefault(f[1], []).append((f[2], float(f[3]), float(f[4]), f[5]))
    elif f[0] == "CHECK":
        checks[(f[1], f[2].split(" vs ")[0])] = f[4]

print("| workload | impl | unit | fwd | fwd+grad | grad/fwd | x C++ fwd | x C++ fwd+grad | check |")
print("|---|---|---|--:|--:|--:|--:|--:|---|")
for w in sorted(results):
    rows = results[w]
    cpp = next((r for r in rows if r[0] == "c++"), None)
    for impl, fwd, grad, unit in rows:
        rf = f"{fwd / cpp[1]:.2f}" if cpp else "-"
        rg = f"{grad / cpp[2]:.2f}" if cpp else "-"
        check = checks.get((w, impl), "(reference)" if impl == "c++" else "-")
        print(f"| {w} | {impl} | {unit} | {fwd:.4g} | {grad:.4g} | {grad / fwd:.2f} "
              f"| {rf} | {rg} | {check} |")
