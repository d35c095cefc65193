"""W3: two-layer MLP with softmax cross-entropy, gradient wrt W1, b1, W2, b2."""
from common import ints, run, torch, uniform

X = uniform(301, (256, 784), 1.0)
W1 = uniform(302, (784, 256), 0.06)
b1 = uniform(303, 256, 0.1)
W2 = uniform(304, (256, 10), 0.1)
b2 = uniform(305, 10, 0.1)
Y = torch.nn.functional.one_hot(ints(306, 256, 10), 10).float()


def loss(X, W1, b1, W2, b2, Y):
    z = torch.relu(X @ W1 + b1) @ W2 + b2
    return (torch.logsumexp(z, 1) - (Y * z).sum(1)).mean()


run("w3", loss, (X, W1, b1, W2, b2, Y), wrt=(1, 2, 3, 4))
