"""The PyTorch bridge: gradc.torch.function as a torch.autograd.Function."""
import re

import numpy as np
import pytest

import gradc
from conftest import inputs

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (Debian: python3-torch)")
import gradc.torch  # noqa: E402

MLP = inputs("mlp.gir")


def test_gradcheck_float64():
    m = gradc.compile(MLP)
    layer = gradc.torch.function(m, "layer")
    g = torch.Generator().manual_seed(0)
    X = torch.randn(3, 4, dtype=torch.float64, generator=g)
    W = torch.randn(4, 8, dtype=torch.float64, generator=g,
                    requires_grad=True)
    b = torch.randn(8, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (X, W, b))
    X.requires_grad_(True)
    loss = gradc.torch.function(m, "loss")
    Y = torch.eye(3, dtype=torch.float64)[torch.tensor([0, 2, 1])]
    params = [torch.randn(s, dtype=torch.float64, generator=g,
                          requires_grad=True)
              for s in [(4, 8), (8,), (8, 3), (3,)]]
    assert torch.autograd.gradcheck(loss, (X, *params, Y))


def test_matches_torch_autograd():
    m = gradc.compile(MLP)
    loss = gradc.torch.function(m, "loss")
    g = torch.Generator().manual_seed(1)
    X = torch.randn(6, 4, dtype=torch.float64, generator=g)
    Y = torch.eye(3, dtype=torch.float64)[torch.tensor([0, 2, 1, 1, 0, 2])]
    ps = [torch.randn(s, dtype=torch.float64, generator=g,
                      requires_grad=True) for s in [(4, 8), (8,), (8, 3),
                                                    (3,)]]
    L = loss(X, *ps, Y=Y)
    L.backward()
    ours = [p.grad.clone() for p in ps]
    for p in ps:
        p.grad = None
    W1, b1, W2, b2 = ps
    z = torch.tanh(X @ W1 + b1) @ W2 + b2
    ref = torch.mean(torch.logsumexp(z, 1) - (Y * z).sum(1))
    ref.backward()
    assert L.item() == pytest.approx(ref.item(), rel=1e-13)
    for a, p in zip(ours, ps):
        torch.testing.assert_close(a, p.grad, rtol=1e-12, atol=1e-14)
    assert X.grad is None  # X did not ask for one


def test_training_a_torch_module_with_a_gradc_layer():
    m = gradc.compile(MLP)
    layer = gradc.torch.function(m, "layer")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(2)
            self.W = torch.nn.Parameter(
                0.5 * torch.randn(4, 8, dtype=torch.float64, generator=g))
            self.b = torch.nn.Parameter(torch.zeros(8, dtype=torch.float64))
            self.out = torch.nn.Linear(8, 3).double()

        def forward(self, x):
            h, _ = layer(x, self.W, self.b)
            return self.out(h)

    g = torch.Generator().manual_seed(3)
    X = torch.randn(64, 4, dtype=torch.float64, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert net.W.grad is not None and net.b.grad is not None


def test_float32_and_bad_tensors():
    m = gradc.compile(MLP)
    loss32 = gradc.torch.function(m, "loss32")
    args = [torch.ones(s) for s in [(2, 4), (4, 8), (8,), (8, 3), (3,),
                                    (2, 3)]]
    args[1].requires_grad_(True)
    L = loss32(*args)
    assert L.dtype == torch.float32
    L.backward()
    assert args[1].grad.dtype == torch.float32
    layer = gradc.torch.function(m, "layer")
    X, W, b = torch.ones(2, 4, dtype=torch.float64), torch.ones(
        4, 8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'X' is a torch.int64 tensor of shape (2, 4), "
            "but its type f64[N,4] needs torch.float64")):
        layer(torch.ones(2, 4, dtype=torch.int64), W, b)
    with pytest.raises(ValueError, match="argument 'W' is a torch.float32 "
                                         "tensor"):
        layer(X, torch.ones(4, 8, requires_grad=True), b)
    with pytest.raises(ValueError, match=re.escape(
            "layer(): argument 'b' has shape (9,), but its type is f64[8]")):
        layer(X, W, torch.ones(9, dtype=torch.float64))
    with pytest.raises(TypeError, match="argument 'b' must be a "
                                        "torch.Tensor, not ndarray"):
        layer(X, W, np.ones(8))
    with pytest.raises(TypeError, match=re.escape(
            "layer() is missing argument(s) 'b'")):
        layer(X, W)
    with pytest.raises(TypeError, match="unexpected argument 'c'"):
        layer(X, W, b, c=b)
    # Non-contiguous tensors are copied.
    h, _ = layer(torch.ones(4, 2, dtype=torch.float64).t(), W, b)
    assert h.shape == (2, 8)


def test_in_place_changes_before_backward_are_detected():
    m = gradc.compile(MLP)
    layer = gradc.torch.function(m, "layer")
    X = torch.ones(2, 4, dtype=torch.float64)
    W = torch.ones(4, 8, dtype=torch.float64, requires_grad=True)
    b = torch.ones(8, dtype=torch.float64)
    h, s = layer(X, W, b)
    X.add_(1)  # X was saved for the backward pass
    with pytest.raises(RuntimeError, match="modified by an inplace "
                                           "operation"):
        s.backward()


def test_integer_labels_through_the_bridge():
    m = gradc.compile("""
func @xent(%x: f64[N,3], %y: i64[N,1]) -> (f64) {
  %l = log_softmax %x {axis=1}
  %p = gather_elements %l, %y {axis=1}
  %s = sum %p
  %n = neg %s
  return %n
}
""")
    f = gradc.torch.function(m, "xent")
    torch.manual_seed(0)
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0], [2], [1], [2]])
    ref = torch.nn.functional.cross_entropy(x, y[:, 0], reduction="sum")
    assert abs(float(f(x, y)) - float(ref)) < 1e-12
    assert torch.autograd.gradcheck(lambda a: f(a, y), (x,))
