"""gradc.compile, calls, value_and_grad/vjp/jvp, and the text outputs,
against numpy, finite differences and the gradc command line."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import gradc
from conftest import cli_run, example, gradc_cli, inputs

MLP = inputs("mlp.gir")
NAMES = ["X", "W1", "b1", "W2", "b2", "Y"]


def mlp_args(rng, n=5, dtype=np.float64):
    X = rng.normal(size=(n, 4))
    W1 = rng.normal(size=(4, 8)) * 0.5
    b1 = rng.normal(size=8) * 0.1
    W2 = rng.normal(size=(8, 3)) * 0.5
    b2 = rng.normal(size=3) * 0.1
    Y = np.eye(3)[rng.integers(0, 3, size=n)]
    return [a.astype(dtype) for a in (X, W1, b1, W2, b2, Y)]


def np_loss(X, W1, b1, W2, b2, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return np.mean(lse - (Y * z).sum(axis=1))


def test_compile_path_text_and_pathlike():
    text = open(MLP).read()
    for src in (MLP, pathlib.Path(MLP), text, text.encode()):
        m = gradc.compile(src)
        assert m.functions == ["loss", "layer", "loss32", "heavy"]
    out, _, _ = gradc_cli("parse", MLP)
    assert gradc.compile(MLP).text == out


def test_compile_error_is_the_cli_diagnostic():
    with pytest.raises(gradc.CompileError) as e:
        gradc.compile(inputs("bad.gir"))
    _, err, rc = gradc_cli("parse", inputs("bad.gir"), check=False)
    assert rc == 1
    assert str(e.value) == err
    assert "bad.gir:2:8: error: operands of 'add' are not broadcast-" \
           "compatible: f32[3,4] vs f32[5,4]" in str(e.value)
    assert str(e.value).endswith("  %c = add %a, %b\n       ^\n")
    with pytest.raises(gradc.CompileError, match=r"^<string>:1:"):
        gradc.compile("func @f(%x: f64) -> f64 { return %y }")
    with pytest.raises(gradc.CompileError, match=r"^model.gir:1:"):
        gradc.compile("func @f(%x: f64) -> f64 { return %y }",
                      name="model.gir")
    with pytest.raises(FileNotFoundError):
        gradc.compile("no/such/file.gir")


def test_values_against_numpy_and_cli(rng, tmp_path):
    m = gradc.compile(MLP)
    args = mlp_args(rng)
    v = m["loss"](*args)
    assert isinstance(v, np.float64)
    assert v == pytest.approx(np_loss(*args), rel=1e-13)
    cli = cli_run(tmp_path, MLP, "loss", dict(zip(NAMES, args)))
    assert v == cli["outputs"][0]  # the same compiled code: bit for bit
    # By name, in any order; the same cached code.
    assert m["loss"](**dict(zip(NAMES, args))) == v
    assert m.function("@loss")(*args[:3], W2=args[3], b2=args[4],
                               Y=args[5]) == v
    # Several results: a tuple.
    h, s = m["layer"](*args[:3])
    assert h.shape == (5, 8) and h.dtype == np.float64
    np.testing.assert_allclose(h, np.tanh(args[0] @ args[1] + args[2]),
                               rtol=1e-13)
    assert s == pytest.approx(h.sum(), rel=1e-13)


def test_symbolic_dims_bound_from_shapes(rng):
    f = gradc.compile(MLP)["layer"]
    for n in (1, 3, 17):
        X = rng.normal(size=(n, 4))
        h, _ = f(X, np.ones((4, 8)), np.zeros(8))
        assert h.shape == (n, 8)


def test_float32(rng, tmp_path):
    m = gradc.compile(MLP)
    args = mlp_args(rng, dtype=np.float32)
    v = m["loss32"](*args)
    assert isinstance(v, np.float32)
    cli = cli_run(tmp_path, MLP, "loss32", dict(zip(NAMES, args)))
    assert v == np.float32(cli["outputs"][0])
    value, grads = m.value_and_grad("loss32")(*args)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_value_and_grad_against_cli_and_finite_differences(rng, tmp_path):
    m = gradc.compile(MLP)
    args = mlp_args(rng)
    vg = m.value_and_grad("loss", wrt=["W1", "b1", "W2", "b2"])
    assert vg.wrt == ["W1", "b1", "W2", "b2"]
    assert vg.parameters == NAMES
    value, grads = vg(*args)
    assert value == m["loss"](*args)
    assert list(grads) == ["W1", "b1", "W2", "b2"]
    cli = cli_run(tmp_path, MLP, "loss", dict(zip(NAMES, args)),
                  extra=["--grad", "W1,b1,W2,b2"])
    assert value == cli["outputs"][0]
    for name, g in grads.items():
        assert g.shape == args[NAMES.index(name)].shape
        np.testing.assert_array_equal(g, np.array(cli["gradients"][name]))
    # Central differences in f64.
    eps = 1e-6
    for name, g in grads.items():
        i = NAMES.index(name)
        num = np.zeros_like(g)
        for idx in np.ndindex(g.shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            num[idx] = (np_loss(*plus) - np_loss(*minus)) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_wrt_defaults_to_every_parameter_and_accepts_a_string(rng):
    m = gradc.compile(MLP)
    args = mlp_args(rng)
    _, grads = m.value_and_grad("loss")(*args)
    assert list(grads) == NAMES
    _, g2 = m.value_and_grad("loss", wrt="W2, %b2")(*args)
    assert list(g2) == ["W2", "b2"]
    np.testing.assert_array_equal(g2["W2"], grads["W2"])


def test_vjp_and_jvp(rng, tmp_path):
    m = gradc.compile(MLP)
    X, W, b = mlp_args(rng)[:3]
    dh = rng.normal(size=(5, 8))
    ds = 0.5
    vjp = m.vjp("layer", wrt=["W", "b"])
    assert vjp.parameters == ["X", "W", "b", "dh", "ds"]
    (h, s), g = vjp(X, W, b, dh, ds)
    cli = cli_run(tmp_path, MLP, "layer",
                  dict(X=X, W=W, b=b, dh=dh, ds=np.float64(ds)),
                  extra=["--grad", "W,b", "--vjp"])
    np.testing.assert_array_equal(g["W"], np.array(cli["gradients"]["W"]))
    np.testing.assert_array_equal(g["b"], np.array(cli["gradients"]["b"]))
    # <u, J t> == <J^T u, t> for the same point.
    jvp = m.jvp("layer", wrt=["W", "b"])
    tW, tb = rng.normal(size=W.shape), rng.normal(size=b.shape)
    (h2, s2), (th, ts) = jvp(X, W, b, tW, tb)
    np.testing.assert_array_equal(h, h2)
    lhs = np.sum(dh * th) + ds * ts
    rhs = np.sum(g["W"] * tW) + np.sum(g["b"] * tb)
    assert lhs == pytest.approx(rhs, rel=1e-12)
    # And J t against central differences.
    eps = 1e-6
    hp, sp = m["layer"](X, W + eps * tW, b + eps * tb)
    hm, sm = m["layer"](X, W - eps * tW, b - eps * tb)
    np.testing.assert_allclose(th, (hp - hm) / (2 * eps), rtol=1e-6,
                               atol=1e-8)
    assert ts == pytest.approx((sp - sm) / (2 * eps), rel=1e-6)


def test_check_matches_cli():
    m = gradc.compile(MLP)
    r = m.check("loss", wrt=["W1", "b2"], seed=3)
    assert r.ok and bool(r)
    assert [row.what for row in r.rows] == ["W1", "b2", "jvp"]
    assert all(row.max_rel_error < 1e-6 for row in r.rows)
    out, _, _ = gradc_cli("check", MLP, "--func", "loss", "--wrt", "W1,b2",
                          "--seed", "3")
    assert str(r) == out
    assert "N" in r.dims
    bad = m.check("loss", tol=0.0)  # nothing is exact: every row fails
    assert not bad.ok


def test_texts_match_cli():
    m = gradc.compile(MLP)
    out, _, _ = gradc_cli("grad", MLP, "--func", "loss", "--wrt", "W1,b1")
    assert m.grad_text("loss", wrt=["W1", "b1"]) == out
    out, _, _ = gradc_cli("grad", MLP, "--func", "layer", "--vjp", "-O0")
    assert m.grad_text("layer", vjp=True, optimize=False) == out
    out, _, _ = gradc_cli("jvp", MLP, "--func", "layer", "--wrt", "b")
    assert m.jvp_text("layer", wrt=["b"]) == out
    out, _, _ = gradc_cli("emit", MLP, "--target", "cpp")
    assert m.emit_cpp() == out
    out, _, _ = gradc_cli("dot", example("scalar.gir"), "--grad", "x,y,z",
                          "--arg", "x=-2", "--arg", "y=5", "--arg", "z=-4")
    s = gradc.compile(example("scalar.gir"))
    assert s.dot(grad=["x", "y", "z"], args={"x": -2, "y": 5, "z": -4}) == out
    out, _, _ = gradc_cli("dot", MLP, "--func", "layer")
    assert m.dot("layer") == out
    assert "int gradc_loss(const double *X" in m.c_header()


def test_inputs_are_not_copied(rng):
    m = gradc.compile(MLP)
    f = m["layer"]
    X, W, b = mlp_args(rng)[:3]
    ptrs = f._input_pointers(X, W, b)
    assert ptrs == [X.ctypes.data, W.ctypes.data, b.ctypes.data]
    # Converted arguments (a list, a number) get their own buffers.
    p = f._input_pointers(X, W.tolist(), b)
    assert p[0] == X.ctypes.data and p[1] != W.ctypes.data
    h1, _ = f(X, W.tolist(), b)
    h2, _ = f(X, W, b)
    np.testing.assert_array_equal(h1, h2)
    # Python and numpy scalars are converted.
    s = gradc.compile(example("scalar.gir"))["f"]
    assert s(np.float32(-2), 5, np.int64(-4)) == -12.0


def test_module_is_a_context_manager():
    with gradc.compile(example("scalar.gir")) as m:
        f = m["f"]
        assert f(1.0, 2.0, 3.0) == 9.0
    assert m.closed


def test_gradc_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import gradc\n"
            "assert gradc.compile('func @f(%x: f64) -> f64 {\\n"
            "  return %x\\n}')['f'](2.0) == 2.0\n"
            "try:\n"
            "    import gradc.torch\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert "gradc.torch needs PyTorch" in p.stdout


def test_the_compile_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADC_CACHE_DIR", str(tmp_path / "cache"))
    text = open(example("scalar.gir")).read()
    f1 = gradc.compile(text)["f"]
    assert not f1.from_cache
    entries = list((tmp_path / "cache").iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".o"
    f2 = gradc.compile(text)["f"]  # another module, the same code
    assert f2.from_cache
    assert f2(1.0, 2.0, 3.0) == f1(1.0, 2.0, 3.0) == 9.0
    f3 = gradc.compile(text, cache=False)["f"]
    assert not f3.from_cache
    assert len(list((tmp_path / "cache").iterdir())) == 1
    vg = gradc.compile(text).value_and_grad()  # another function: compiled
    assert not vg.from_cache
    assert len(list((tmp_path / "cache").iterdir())) == 2


XENT = """
func @xent(%x: f32[N,3], %y: i64[N,1]) -> (f32) {
  %l = log_softmax %x {axis=1}
  %p = gather_elements %l, %y {axis=1}
  %s = sum %p
  %n = neg %s
  return %n
}
"""


def test_integer_labels():
    m = gradc.compile(XENT)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = np.array([[0], [2], [1], [2], [0]])
    loss, g = m.value_and_grad("xent")(x, y)
    assert list(g) == ["x"]  # integer labels have no derivative
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert abs(loss - -np.take_along_axis(logp, y, 1).sum()) < 1e-4
    p = np.exp(logp)
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, y, 1, 1)
    np.testing.assert_allclose(g["x"], p - onehot, atol=1e-5)
    with pytest.raises(IndexError, match=r"'%p = gather_elements': index 5 "
                       r"\(at \[1,0\] of the indices\) is out of range for "
                       r"axis 1 of size 3"):
        m.value_and_grad("xent")(x, np.array([[0], [5], [1], [2], [0]]))
    with pytest.raises(ValueError, match=r"needs int64 .*y.astype\(numpy.int64\)"):
        m.value_and_grad("xent")(x, y.astype(np.int32))


def test_integer_scalar_argument():
    m = gradc.compile("""
func @pick(%x: f64[4], %i: i64) -> (f64) {
  %v = gather %x, %i {axis=0}
  return %v
}
""")
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert m["pick"](x, 2) == 3.0
    assert m["pick"](x, np.int64(-1)) == 4.0
    with pytest.raises(TypeError, match="must be an integer, not 'float'"):
        m["pick"](x, 1.0)
