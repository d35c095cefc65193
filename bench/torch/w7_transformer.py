"""W7: a pre-LN transformer block (4 heads of 64, causal, erf-GELU MLP),
L = mean((y - T)^2), gradient wrt every weight, bias and LN gain/shift
(../shared/peers/py/w7_transformer.py: same inputs)."""
import math

from common import check_gradc, run, torch, uniform

B, S, D, H, M = 8, 128, 256, 4, 1024
x = uniform(701, (B, S, D), 1.0)
T = uniform(702, (B, S, D), 1.0)
sd, sm = 1 / math.sqrt(D), 1 / math.sqrt(M)
params = [torch.ones(D), torch.zeros(D),                      # ln1 g, b
          uniform(703, (D, D), sd), uniform(704, D, 0.02),    # Wq bq
          uniform(705, (D, D), sd),                           # Wk (no bias)
          uniform(707, (D, D), sd), uniform(708, D, 0.02),    # Wv bv
          uniform(709, (D, D), sd), uniform(710, D, 0.02),    # Wo bo
          torch.ones(D), torch.zeros(D),                      # ln2 g, b
          uniform(711, (D, M), sd), uniform(712, M, 0.02),    # W1 b1
          uniform(713, (M, D), sm), uniform(714, D, 0.02)]    # W2 b2


def ln(x, g, b):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) * torch.rsqrt(v + 1e-5) * g + b


def loss(x, T, g1, s1, Wq, bq, Wk, Wv, bv, Wo, bo, g2, s2, W1, b1, W2, b2):
    h = ln(x, g1, s1)
    q = (h @ Wq + bq).reshape(B, S, H, D // H).transpose(1, 2)
    k = (h @ Wk).reshape(B, S, H, D // H).transpose(1, 2)
    v = (h @ Wv + bv).reshape(B, S, H, D // H).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(D // H)
    mask = torch.ones(S, S, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, -1e9)
    o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, S, D)
    a = x + o @ Wo + bo
    u = ln(a, g2, s2) @ W1 + b1
    u = 0.5 * u * (1 + torch.erf(u / math.sqrt(2)))
    y = a + u @ W2 + b2
    return ((y - T) ** 2).mean()


args = (x, T, *params)
wrt = tuple(range(2, 17))
run("w7", loss, args, wrt)
check_gradc("w7", "w7_transformer.gir", loss, args, wrt, [a.numpy() for a in args],
            ["g1", "s1", "Wq", "bq", "Wk", "Wv", "bv", "Wo", "bo", "g2", "s2",
             "W1", "b1", "W2", "b2"])
