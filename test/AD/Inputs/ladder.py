"""Prints a function with a fan-out ladder: x_{k+1} = x_k + x_k, n levels."""
import sys

n = int(sys.argv[1])
print("func @f(%x: f64) -> f64 {")
print("  %x0 = add %x, %x")
for k in range(n):
    print(f"  %x{k + 1} = add %x{k}, %x{k}")
print(f"  return %x{n}")
print("}")
