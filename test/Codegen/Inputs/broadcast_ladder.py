#!/usr/bin/env python3
"""Prints @f: N levels of `%bK = broadcast_to %sK; %sK+1 = add %bK, %bK`.
Each level reads the one below twice: recomputing fused values per read
would cost 2^N."""
import sys

n = int(sys.argv[1])
print("func @f(%s0: f64[3]) -> f64[3] {")
for k in range(n):
    print(f"  %b{k} = broadcast_to %s{k} {{shape=[3]}}")
    print(f"  %s{k + 1} = add %b{k}, %b{k}")
print(f"  return %s{n}")
print("}")
