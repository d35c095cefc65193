"""W8: a one-layer LSTM (input 64, hidden 256, batch 16, 32 steps) with the
mean cross-entropy of integer targets at every step, gradient wrt Wih, Whh,
b, Wout, bout (../shared/peers/py/w8_lstm.py: same inputs). Timed as the cell
in a Python loop ("torch eager") and through torch.nn.LSTM's fused kernels
with the same weights ("torch nn.LSTM"). Also checks the value and gradients
of the hand-written C++ (bench/baselines/Lstm.cpp) that gradc-bench --dump
wrote, when $BENCH_CPP_DUMP names that folder (bench/run.sh sets it). gradc's
value and gradients are checked for the unrolled graph (w8_lstm.gir) and the
scan (w8_lstm_scan.gir)."""
import torch.nn.functional as F
from common import (IMPL, bench, check, check_dump, check_gradc, ints, run,
                    torch, uniform)

T, N, I, Hd, V = 32, 16, 64, 256, 64
X = uniform(801, (T, N, I), 1.0)
y = ints(802, T * N, V).reshape(T, N)
params = [uniform(803, (I, 4 * Hd), 0.0625), uniform(804, (Hd, 4 * Hd), 0.0625),
          uniform(805, 4 * Hd, 0.0625), uniform(806, (Hd, V), 0.0625),
          uniform(807, V, 0.0625)]


def loss(X, Wih, Whh, b, Wout, bout, y):
    h = X.new_zeros(N, Hd)
    c = X.new_zeros(N, Hd)
    hs = []
    for t in range(T):
        z = X[t] @ Wih + h @ Whh + b
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    z = torch.stack(hs) @ Wout + bout
    return F.cross_entropy(z.reshape(T * N, V), y.reshape(T * N))


args = (X, *params, y)
wrt = tuple(range(1, 6))
ref = run("w8", loss, args, wrt)
check_gradc("w8", "w8_lstm.gir", loss, args, wrt,
            [a.numpy() for a in (X, *params)] + [y.reshape(T * N, 1).numpy()],
            ["Wih", "Whh", "b", "Wout", "bout"])
# The same through `scan` (bench/workloads/w8_lstm_scan.gir, gradc-bench's w8s).
check_gradc("w8s", "w8_lstm_scan.gir", loss, args, wrt,
            [a.numpy() for a in (X, *params)] + [y.reshape(T * N, 1).numpy()],
            ["Wih", "Whh", "b", "Wout", "bout"])
check_dump("w8", ref)

# torch.nn.LSTM with the same weights: weight_ih = Wih^T, bias_ih = b, bias_hh = 0.
lstm = torch.nn.LSTM(I, Hd)
with torch.no_grad():
    lstm.weight_ih_l0.copy_(params[0].T)
    lstm.weight_hh_l0.copy_(params[1].T)
    lstm.bias_ih_l0.copy_(params[2])
    lstm.bias_hh_l0.zero_()
lstm.bias_hh_l0.requires_grad_(False)
Wout = params[3].clone().requires_grad_()
bout = params[4].clone().requires_grad_()
pl = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, Wout, bout]


def loss_nn():
    hs, _ = lstm(X)
    z = hs @ Wout + bout
    return F.cross_entropy(z.reshape(T * N, V), y.reshape(T * N))


def fwd():
    with torch.no_grad():
        return loss_nn()


def vg():
    L = loss_nn()
    return [L] + list(torch.autograd.grad(L, pl))


impl = IMPL.replace("torch eager", "torch nn.LSTM")
f, g = bench(fwd) * 1e3, bench(vg) * 1e3
print(f"RESULT|w8|{impl}|{f:.6g}|{g:.6g}|ms", flush=True)
got = vg()
got[1], got[2] = got[1].T, got[2].T
check("w8", impl, got, ref)
