"""Every way a call can go wrong raises a clear Python exception."""
import re

import numpy as np
import pytest

import gradc
from conftest import example, inputs

MLP = inputs("mlp.gir")


@pytest.fixture
def layer():
    return gradc.compile(MLP)["layer"]


def ok_args():
    return np.ones((3, 4)), np.ones((4, 8)), np.ones(8)


def test_wrong_dtype_is_refused(layer):
    X, W, b = ok_args()
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'W' is a float32 array of shape (4, 8), but "
            "its type f64[4,8] needs float64 (gradc does not convert arrays;"
            " use W.astype(numpy.float64))")):
        layer(X, W.astype(np.float32), b)
    with pytest.raises(ValueError, match="argument 'X' is a int64 array"):
        layer(np.ones((3, 4), dtype=np.int64), W, b)
    with pytest.raises(ValueError, match="argument 'b' is a >f8 array"):
        layer(X, W, b.astype(">f8"))


def test_wrong_shape_names_the_parameter_and_both_shapes(layer):
    X, W, b = ok_args()
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'W' has shape (4, 7), but its type is "
            "f64[4,8], shape (4, 8)")):
        layer(X, np.ones((4, 7)), b)
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'b' has shape (8, 1), but its type is "
            "f64[8], shape (8,)")):
        layer(X, W, np.ones((8, 1)))
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'X' has shape (3,), but its type is "
            "f64[N,4]")):
        layer(np.ones(3), W, b)
    with pytest.raises(ValueError, match=re.escape(
            "argument 'b' has shape (), but its type is f64[8], shape (8,)")):
        layer(X, W, 1.0)
    m = gradc.compile(MLP)
    with pytest.raises(ValueError, match=re.escape(
            "loss(): argument 'Y' has shape (2, 3), but its type is "
            "f64[N,3], shape (3, 3) (N = 3 from argument 'X')")):
        m["loss"](np.ones((3, 4)), W, b, np.ones((8, 3)), np.ones(3),
                  np.ones((2, 3)))
    with pytest.raises(ValueError, match="needs a positive size for 'N'"):
        layer(np.ones((0, 4)), W, b)


def test_missing_extra_and_duplicate_arguments(layer):
    X, W, b = ok_args()
    with pytest.raises(TypeError, match=re.escape(
            "layer() is missing argument(s) 'b'")):
        layer(X, W)
    with pytest.raises(TypeError, match=re.escape(
            "layer() is missing argument(s) 'X', 'W', 'b'")):
        layer()
    with pytest.raises(TypeError, match=re.escape(
            "layer() takes 3 argument(s) (X, W, b) but 4 were given")):
        layer(X, W, b, b)
    with pytest.raises(TypeError, match=re.escape(
            "layer() got an unexpected argument 'c'; its arguments are "
            "(X, W, b)")):
        layer(X, W, b, c=b)
    with pytest.raises(TypeError, match=re.escape(
            "layer() got multiple values for argument 'X'")):
        layer(X, W, b, X=X)
    with pytest.raises(TypeError, match=re.escape(
            "layer(): argument 'W' of type f64[4,8] must be a numpy array or "
            "a number, not 'str'")):
        layer(X, "W", b)
    with pytest.raises(TypeError, match="must be a numpy array or a number"):
        layer(X, [[1, 2], [3]], b)  # ragged
    s = gradc.compile(example("scalar.gir"))["f"]
    with pytest.raises(TypeError, match=re.escape(
            "f(): argument 'y' of type f64 must be a numpy array or a number, "
            "not 'NoneType'")):
        s(1.0, None, 2.0)  # numpy would make it NaN
    with pytest.raises(TypeError, match="not 'str'"):
        s(1.0, "2.5", 2.0)  # numpy would parse it


def test_non_contiguous_arrays_are_refused(layer):
    X, W, b = ok_args()
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'W' (shape (4, 8)) is not a C-contiguous, "
            "aligned array; gradc passes arrays without copying them (use "
            "numpy.ascontiguousarray(W))")):
        layer(X, np.ones((8, 4)).T, b)
    with pytest.raises(ValueError, match="argument 'b' .* not a C-contig"):
        layer(X, W, np.ones(16)[::2])
    buf = np.zeros(8 * 8 + 1, dtype=np.uint8)[1:].view(np.float64)
    assert not buf.flags.aligned
    with pytest.raises(ValueError, match="argument 'b' .* aligned"):
        layer(X, W, buf)
    h, _ = layer(X, np.ascontiguousarray(np.ones((8, 4)).T), b)
    assert h.shape == (3, 8)


def test_unknown_function_wrt_and_non_scalar_gradient():
    m = gradc.compile(MLP)
    with pytest.raises(KeyError, match=re.escape(
            "no function '@nope' in the module; it has @loss, @layer, "
            "@loss32, @heavy")):
        m["nope"]
    with pytest.raises(ValueError, match="the module has 4 functions; name "
                                         "one"):
        m.value_and_grad()
    with pytest.raises(ValueError, match="'@loss' has no argument '%Q'"):
        m.value_and_grad("loss", wrt=["Q"])
    with pytest.raises(ValueError, match="argument '%W1' is named twice"):
        m.value_and_grad("loss", wrt=["W1", "W1"])
    with pytest.raises(ValueError, match=re.escape(
            "'@layer' returns 2 values; a gradient needs a single scalar "
            "output")):
        m.value_and_grad("layer")
    with pytest.raises(ValueError, match="wrt is empty"):
        m.value_and_grad("loss", wrt=[])
    with pytest.raises(TypeError, match="a function name must be a str"):
        m[3]
    with pytest.raises(ValueError, match="'@layer' has no argument '%q'"):
        m.grad_text("layer", wrt=["q"], vjp=True)
    with pytest.raises(TypeError, match=r"dot\(\): args has no value for 'z'"):
        gradc.compile(example("scalar.gir")).dot(args={"x": 1, "y": 2})


def test_a_closed_module_refuses_everything():
    m = gradc.compile(MLP)
    f = m["layer"]
    vg = m.value_and_grad("loss")
    m.close()
    m.close()  # twice is fine
    X, W, b = ok_args()
    for call in (lambda: f(X, W, b), lambda: m["layer"], lambda: m.text,
                 lambda: m.functions, lambda: m.check("loss"),
                 lambda: vg(X, W, b, np.ones((8, 3)), np.ones(3),
                            np.ones((3, 3))),
                 lambda: f._input_pointers(X, W, b)):
        with pytest.raises(ValueError, match="the gradc module is closed"):
            call()


def test_too_large_sizes_are_refused():
    f = gradc.compile("func @g(%x: f64[N]) -> f64[N,N] {\n"
                      "  %y = broadcast_to %x {shape=[N,N]}\n"
                      "  return %y\n}\n")["g"]
    x = np.ones(1 << 17)  # a 2^34-element result: 128 GiB
    with pytest.raises(MemoryError, match=r"g\(\) would need \d+ MiB of "
                                          r"buffers for these sizes"):
        f(x)
    assert f(np.ones(3)).shape == (3, 3)


def test_bad_arguments_to_module_methods():
    with pytest.raises(TypeError, match="gradc.compile expects IR text or a "
                                        "path, not 'int'"):
        gradc.compile(3)
    m = gradc.compile(MLP)
    with pytest.raises(TypeError, match=r"wrt must be parameter names"):
        m.value_and_grad("loss", wrt=[1])
    s = gradc.compile(example("scalar.gir"))
    with pytest.raises(TypeError, match="args has values for names that "
                                        "'@f' does not have"):
        s.dot(args={"x": 1, "y": 2, "z": 3, "w": 4})
    with pytest.raises(TypeError, match="'x' is not a number or an array"):
        s.dot(args={"x": "one", "y": 2, "z": 3})
    with pytest.raises(ValueError, match="'@f' has no argument '%q'"):
        s.dot(grad=["q"])
    with pytest.raises(ValueError, match="'@f' has no argument '%q'"):
        s.check(wrt="q")
