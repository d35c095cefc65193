"""W4: L = sum(tanh(x) * sigmoid(x) + exp(-x*x)), gradient wrt x."""
from common import run, torch, uniform

x = uniform(401, 4194304, 3.0)


def loss(x):
    return torch.sum(torch.tanh(x) * torch.sigmoid(x) + torch.exp(-x * x))


run("w4", loss, (x,), wrt=(0,))
