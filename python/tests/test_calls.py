"""Calls and custom VJPs through the Python module (the JIT inlines calls);
cond and scan are refused by the JIT with the reason."""
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


def test_cond_is_refused_by_the_jit():
    m = gradc.compile(SRC)
    with pytest.raises(Exception, match="conditionals are not lowered yet"):
        m.function("branchy")(1.0, 2.0)
