"""W5: 8 tanh layers, batch 32, width 64; L = sum(h_8^2)/2; grad wrt W_k, b_k."""
from common import run, torch, uniform

args = [uniform(500, (32, 64), 1.0)]
for k in range(8):
    args += [uniform(510 + k, (64, 64), 0.2165), uniform(520 + k, 64, 0.1)]


def loss(h, *params):
    for k in range(8):
        h = torch.tanh(h @ params[2 * k] + params[2 * k + 1])
    return (h * h).sum() / 2


run("w5", loss, args, wrt=tuple(range(1, 17)))
