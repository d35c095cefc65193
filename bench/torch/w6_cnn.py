"""W6: LeNet-5 (Caffe's) with mean cross-entropy of integer labels, gradient
wrt every weight and bias (../shared/peers/py/w6_cnn.py: same inputs)."""
import torch.nn.functional as F
from common import check_gradc, ints, run, torch, uniform

X = uniform(601, (64, 1, 28, 28), 1.0)
y = ints(602, 64, 10)
params = [uniform(603, (20, 1, 5, 5), 0.2), uniform(604, 20, 0.1),
          uniform(605, (50, 20, 5, 5), 0.045), uniform(606, 50, 0.1),
          uniform(607, (800, 500), 0.035), uniform(608, 500, 0.1),
          uniform(609, (500, 10), 0.045), uniform(610, 10, 0.1)]


def loss(X, c1w, c1b, c2w, c2b, W3, b3, W4, b4, y):
    h = F.max_pool2d(F.conv2d(X, c1w, c1b), 2)
    h = F.max_pool2d(F.conv2d(h, c2w, c2b), 2)
    h = torch.relu(h.reshape(h.shape[0], 800) @ W3 + b3)
    return F.cross_entropy(h @ W4 + b4, y)


args = (X, *params, y)
wrt = tuple(range(1, 9))
run("w6", loss, args, wrt)
check_gradc("w6", "w6_cnn.gir", loss, args, wrt,
            [a.numpy() for a in (X, *params)] + [y.reshape(64, 1).numpy()],
            ["c1w", "c1b", "c2w", "c2b", "W3", "b3", "W4", "b4"])
print(f"INFO|w6|torch mkldnn (oneDNN) available: {torch.backends.mkldnn.is_available()}")
