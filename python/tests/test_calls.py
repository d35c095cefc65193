"""Calls, custom VJPs, conds and scans through the Python module (the JIT
inlines calls and compiles conds and scans as branches and loops)."""
import numpy as np
import pytest

import gradc

SRC = """
func @norm(%x: f64[N]) -> f64 custom_vjp @norm_vjp {
  %s = mul %x, %x
  %t = sum %s
  %n = sqrt %t
  return %n
}

func @norm_vjp(%x: f64[N], %dn: f64) -> f64[N] {
  %s = mul %x, %x
  %t = sum %s
  %n = sqrt %t
  %zero = const 0 : f64
  %pos = gt %n, %zero
  %one = const 1 : f64
  %safe = select %pos, %n, %one
  %g = div %x, %safe
  %dx = mul %g, %dn
  return %dx
}

func @loss(%x: f64[M], %w: f64[M]) -> f64 {
  %d = sub %x, %w
  %n = call @norm(%d)
  %l = mul %n, %n
  %r = add %l, %n
  return %r
}

func @sq(%x: f64) -> f64 {
  %y = mul %x, %x
  return %y
}

func @branchy(%p: f64, %x: f64) -> f64 {
  %y = cond %p, @sq, @sq(%x)
  return %y
}
"""


def test_call_with_custom_vjp():
    m = gradc.compile(SRC)
    vg = m.value_and_grad("loss")
    x = np.array([1.0, 2.0, 3.0])
    # Away from 0: the true gradient (2n + 1) d / n.
    w = np.array([0.0, 1.0, 2.0])
    value, grads = vg(x, w)
    n = np.linalg.norm(x - w)
    assert value == pytest.approx(n * n + n)
    np.testing.assert_allclose(grads["x"], (2 * n + 1) * (x - w) / n)
    # At 0 the custom VJP gives 0, not NaN.
    value, grads = vg(x, x)
    assert value == 0
    np.testing.assert_array_equal(grads["x"], np.zeros(3))
    np.testing.assert_array_equal(grads["w"], np.zeros(3))


def test_cond_runs_on_the_jit():
    m = gradc.compile(SRC)
    assert m.function("branchy")(1.0, 2.0) == 4.0
    assert m.function("branchy")(0.0, -3.0) == 9.0


SCAN = """
func @acc(%c: f64, %x: f64) -> (f64, f64) {
  %n = add %c, %x
  return %n, %n
}

func @cumsum(%c0: f64, %xs: f64[T]) -> (f64, f64[T]) {
  %c, %ys = scan @acc(%c0, %xs) {carries=1, scanned=1}
  return %c, %ys
}
"""


def test_scan_of_any_length_on_the_jit():
    f = gradc.compile(SCAN).function("cumsum")
    for n in (1, 4, 100):
        xs = np.arange(n, dtype=np.float64)
        c, ys = f(0.5, xs)
        np.testing.assert_allclose(ys, 0.5 + np.cumsum(xs))
        assert c == pytest.approx(0.5 + xs.sum())
