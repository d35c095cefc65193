"""The digits classifier as a PyTorch module whose hidden layer is
gradc-compiled (@hidden of mlp.gir), trained with loss.backward() and a
torch optimizer.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/digits_torch.py
"""
import argparse
import os
import sys

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import gradc
import gradc.torch

HERE = os.path.dirname(os.path.abspath(__file__))


class Net(torch.nn.Module):
    def __init__(self, module):
        super().__init__()
        # relu(X W + b), forward and backward compiled by gradc
        self.hidden = gradc.torch.function(module, "hidden")
        self.W = torch.nn.Parameter(torch.randn(64, 64) * (2 / 64) ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(64))
        self.out = torch.nn.Linear(64, 10)  # an ordinary torch layer

    def forward(self, x):
        return self.out(self.hidden(x, self.W, self.b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    digits = load_digits()
    X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25,
                                          random_state=args.seed,
                                          stratify=y)
    net = Net(gradc.compile(os.path.join(HERE, "mlp.gir")))
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(Xtr))
        total = 0.0
        for i in range(0, len(Xtr), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xtr[idx]), ytr[idx])
            loss.backward()  # through torch's Linear, then gradc's VJP
            opt.step()
            total += loss.item() * len(idx)
        print("epoch %2d/%d  loss %.4f" % (epoch, args.epochs,
                                           total / len(Xtr)))
    with torch.no_grad():
        acc = (net(Xte).argmax(1) == yte).float().mean().item()
    print("test accuracy %.2f%%" % (100 * acc))
    return 0 if acc > 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
