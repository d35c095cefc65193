#!/usr/bin/env python3
"""Prints @f(x: f64[N], w: f64[3,N], i: i64[2]): a chain of n elementwise ops
on x (add, mul, sub, div by x in turn, as chain.py), the sum of every
1000th value added up in a scalar total, and half-way a gather of w's rows
at i, summed into the total too. Returns the total and the chain's last
value. With integer-valued inputs every value is exact (halves at most), so
that the JIT and the interpreter agree to the bit."""
import sys

n = int(sys.argv[1])
ops = ["add", "mul", "sub", "div"]
print("func @f(%x: f64[N], %w: f64[3,N], %i: i64[2]) -> (f64, f64[N]) {")
print("  %v0 = add %x, %x")
total = None


def add_to_total(v):
    global total
    if total is None:
        total = v
        return
    print(f"  %t{v[1:]} = add {total}, {v}")
    total = f"%t{v[1:]}"


for k in range(1, n):
    print(f"  %v{k} = {ops[k % 4]} %v{k - 1}, %x")
    if k % 1000 == 999:
        print(f"  %s{k} = sum %v{k}")
        add_to_total(f"%s{k}")
    if k == n // 2:
        print("  %g = gather %w, %i {axis=0}")
        print("  %gs = sum %g")
        add_to_total("%gs")
print(f"  return {total}, %v{n - 1}")
print("}")
