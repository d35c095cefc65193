"""W2: logistic regression, gradient wrt w and b (stable BCE-with-logits)."""
from common import ints, run, torch, uniform

X = uniform(201, (4096, 512), 1.0)
w = uniform(202, 512, 0.05)
b = uniform(203, 1, 0.1)[0]
y = ints(204, 4096, 2).float()


def loss(X, w, b, y):
    s = X @ w + b
    return torch.nn.functional.binary_cross_entropy_with_logits(s, y)


run("w2", loss, (X, w, b, y), wrt=(1, 2))
