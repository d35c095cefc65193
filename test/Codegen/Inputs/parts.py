#!/usr/bin/env python3
"""Prints @f(x: f64[N], w: f64[3,N], i: i64[2]): a chain of n elementwise ops
on x (add, mul, sub, div by x in turn, as chain.py), the sum of every
1000th value added up in a scalar total, and half-way a gather of w's rows
at i, summed into the total too. Returns the total and the chain's last
value. With integer-valued inputs every value is exact (halves at most), so
that the JIT and the interpreter agree to the bit.

With --scan, half-way also two scans (a running sum over xs: f64[T], and a
gather of t: f64[3] at each of is: i64[T]), whose results are
returned too: a part that invokes other functions."""
import sys

n = int(sys.argv[1])
scan = "--scan" in sys.argv[2:]
if scan:
    print("""func @acc(%c: f64, %x: f64) -> (f64, f64) {
  %n = add %c, %x
  %m = mul %n, %x
  return %n, %m
}

func @pick(%i: i64, %x: f64[3]) -> f64 {
  %v = gather %x, %i {axis=0}
  return %v
}
""")
ops = ["add", "mul", "sub", "div"]
if scan:
    print("func @f(%x: f64[N], %w: f64[3,N], %i: i64[2], %c0: f64, %xs: f64[T], "
          "%is: i64[T], %t: f64[3]) -> (f64, f64[N], f64, f64[T], f64[T]) {")
else:
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
        if scan:
            print("  %c, %ys = scan @acc(%c0, %xs) {carries=1, scanned=1}")
            print("  %ps = scan @pick(%is, %t) {carries=0, scanned=1}")
print(f"  return {total}, %v{n - 1}" + (", %c, %ys, %ps" if scan else ""))
print("}")
