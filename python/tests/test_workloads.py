"""The benchmark's real-model workloads W6-W8 (bench/workloads/, defined in
../shared/peers/WORKLOADS.md) at small sizes: the same graphs, their value
and gradients from the gradc module (JIT, float32) against PyTorch float64
autograd of the PyTorch references (bench/torch/w6-w8) on the same inputs.
The full sizes are checked the same way by bench/run.sh."""
import importlib.util
import math
import os
import re

import numpy as np
import pytest

import gradc
from conftest import SOURCE_DIR

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (Debian: python3-torch)")
F = torch.nn.functional

WORKLOADS = os.path.join(SOURCE_DIR, "bench", "workloads")


def shrunk(name, sizes):
    """bench/workloads/<name> with each whole-number size replaced."""
    with open(os.path.join(WORKLOADS, name)) as f:
        text = f.read()
    return re.sub(r"(?<![\w.])(\d+)(?![\w.])",
                  lambda m: str(sizes.get(int(m.group(1)), m.group(1))), text)


def check(text, args, wrt, loss, names, gradc_args=None):
    """gradc's L and gradients wrt `names` against torch float64 of
    loss(*args) wrt args[i], i in wrt (relative inf-norm 1e-4)."""
    m = gradc.compile(text, cache=False)
    L, grads = m.value_and_grad("f", wrt=names)(
        *[a.numpy() for a in (gradc_args or args)])
    a64 = [a.double().requires_grad_(i in wrt) if a.is_floating_point() else a
           for i, a in enumerate(args)]
    L64 = loss(*a64)
    ref = torch.autograd.grad(L64, [a64[i] for i in wrt])
    assert abs(float(L) - L64.item()) <= 1e-4 * max(1.0, abs(L64.item()))
    for n, r in zip(names, ref):
        g = torch.from_numpy(np.asarray(grads[n])).double()
        err = float((g - r).abs().max() / r.abs().max().clamp_min(1e-30))
        assert err < 1e-4, (n, err)


def uniform(g, shape, scale):
    return (torch.rand(shape, generator=g) * 2 - 1) * scale


def test_w6_cnn():
    # batch 64 -> 3 (the convolutions keep their sizes: 800 = 50 * 4 * 4)
    N = 3
    text = shrunk("w6_cnn.gir", {64: N})
    g = torch.Generator().manual_seed(6)
    X = uniform(g, (N, 1, 28, 28), 1.0)
    y = torch.randint(0, 10, (N,), generator=g)
    params = [uniform(g, (20, 1, 5, 5), 0.2), uniform(g, 20, 0.1),
              uniform(g, (50, 20, 5, 5), 0.045), uniform(g, 50, 0.1),
              uniform(g, (800, 500), 0.035), uniform(g, 500, 0.1),
              uniform(g, (500, 10), 0.045), uniform(g, 10, 0.1)]

    def loss(X, c1w, c1b, c2w, c2b, W3, b3, W4, b4, y):
        h = F.max_pool2d(F.conv2d(X, c1w, c1b), 2)
        h = F.max_pool2d(F.conv2d(h, c2w, c2b), 2)
        h = torch.relu(h.reshape(h.shape[0], 800) @ W3 + b3)
        return F.cross_entropy(h @ W4 + b4, y)

    args = (X, *params, y)
    check(text, args, range(1, 9), loss,
          ["c1w", "c1b", "c2w", "c2b", "W3", "b3", "W4", "b4"],
          gradc_args=(X, *params, y.reshape(N, 1)))


def test_w7_transformer():
    # batch 8 -> 2, sequence 128 -> 16, width 256 -> 32 (4 heads of 8),
    # MLP 1024 -> 64; the score scale stays 1/8 as in the graph
    B, S, D, H, M = 2, 16, 32, 4, 64
    text = shrunk("w7_transformer.gir", {8: B, 128: S, 256: D, 64: D // H, 1024: M})
    g = torch.Generator().manual_seed(7)
    x, T = uniform(g, (B, S, D), 1.0), uniform(g, (B, S, D), 1.0)
    sd, sm = 1 / math.sqrt(D), 1 / math.sqrt(M)
    params = [1 + uniform(g, D, 0.1), uniform(g, D, 0.1),
              uniform(g, (D, D), sd), uniform(g, D, 0.02), uniform(g, (D, D), sd),
              uniform(g, (D, D), sd), uniform(g, D, 0.02),
              uniform(g, (D, D), sd), uniform(g, D, 0.02),
              1 + uniform(g, D, 0.1), uniform(g, D, 0.1),
              uniform(g, (D, M), sd), uniform(g, M, 0.02),
              uniform(g, (M, D), sm), uniform(g, D, 0.02)]

    def ln(x, g, b):
        m = x.mean(-1, keepdim=True)
        v = ((x - m) ** 2).mean(-1, keepdim=True)
        return (x - m) * torch.rsqrt(v + 1e-5) * g + b

    def loss(x, T, g1, s1, Wq, bq, Wk, Wv, bv, Wo, bo, g2, s2, W1, b1, W2, b2):
        h = ln(x, g1, s1)
        q = (h @ Wq + bq).reshape(B, S, H, D // H).transpose(1, 2)
        k = (h @ Wk).reshape(B, S, H, D // H).transpose(1, 2)
        v = (h @ Wv + bv).reshape(B, S, H, D // H).transpose(1, 2)
        s = q @ k.transpose(-1, -2) * 0.125
        mask = torch.ones(S, S, dtype=torch.bool).tril()
        s = s.masked_fill(~mask, -1e9)
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, S, D)
        a = x + o @ Wo + bo
        u = ln(a, g2, s2) @ W1 + b1
        u = 0.5 * u * (1 + torch.erf(u / math.sqrt(2)))
        y = a + u @ W2 + b2
        return ((y - T) ** 2).mean()

    check(text, (x, T, *params), range(2, 17), loss,
          ["g1", "s1", "Wq", "bq", "Wk", "Wv", "bv", "Wo", "bo", "g2", "s2",
           "W1", "b1", "W2", "b2"])


def test_w8_lstm():
    T, N, I, Hd, V = 4, 3, 5, 8, 7
    spec = importlib.util.spec_from_file_location(
        "gen_w8", os.path.join(WORKLOADS, "gen_w8.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = gen.generate(T, N, I, Hd, V)
    # the full-size file is this generator's output
    with open(os.path.join(WORKLOADS, "w8_lstm.gir")) as f:
        assert f.read() == gen.generate()
    g = torch.Generator().manual_seed(8)
    X = uniform(g, (T, N, I), 1.0)
    y = torch.randint(0, V, (T, N), generator=g)
    params = [uniform(g, (I, 4 * Hd), 0.5), uniform(g, (Hd, 4 * Hd), 0.5),
              uniform(g, 4 * Hd, 0.5), uniform(g, (Hd, V), 0.5), uniform(g, V, 0.5)]

    def loss(X, Wih, Whh, b, Wout, bout, y):
        h = X.new_zeros(N, Hd)
        c = X.new_zeros(N, Hd)
        hs = []
        for t in range(T):
            z = X[t] @ Wih + h @ Whh + b
            i, f, gg, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        z = torch.stack(hs) @ Wout + bout
        return F.cross_entropy(z.reshape(T * N, V), y.reshape(T * N))

    check(text, (X, *params, y), range(1, 6), loss,
          ["Wih", "Whh", "b", "Wout", "bout"],
          gradc_args=(X, *params, y.reshape(T * N, 1)))
