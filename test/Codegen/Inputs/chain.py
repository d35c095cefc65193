#!/usr/bin/env python3
"""Prints @f: a chain of N elementwise ops on x: f64[4], each op reading the
one before (add, mul, sub, div by x in turn: every four ops add x - 1)."""
import sys

n = int(sys.argv[1])
ops = ["add", "mul", "sub", "div"]
print("func @f(%x: f64[4]) -> f64[4] {")
print("  %v0 = add %x, %x")
for i in range(1, n):
    print(f"  %v{i} = {ops[i % 4]} %v{i - 1}, %x")
print(f"  return %v{n - 1}")
print("}")
