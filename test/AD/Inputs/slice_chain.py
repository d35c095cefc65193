"""Prints a function of x: f64[N] that sums sin of each of its N one-element
slices, in order: its adjoint adds N zero-padded slabs, which the simplifier
turns into concats. Usage: slice_chain.py N"""
import sys

n = int(sys.argv[1])
print(f"func @f(%x: f64[{n}]) -> f64 {{")
prev = None
for i in range(n):
    print(f"  %s{i} = slice %x {{starts=[{i}], ends=[{i + 1}], axes=[0]}}")
    print(f"  %t{i} = sin %s{i}")
    print(f"  %u{i} = sum %t{i}")
    if prev is None:
        prev = f"%u{i}"
    else:
        print(f"  %a{i} = add {prev}, %u{i}")
        prev = f"%a{i}"
print(f"  return {prev}\n}}")
