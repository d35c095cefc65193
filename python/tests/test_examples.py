"""The Python examples (examples/python/) train to > 95% test accuracy."""
import os
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

EXAMPLES = os.path.join(SOURCE_DIR, "examples", "python")


def run(script):
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def accuracy(out):
    last = out.strip().splitlines()[-1]
    assert last.startswith("test accuracy "), out
    return float(last.split()[2].rstrip("%"))


def test_digits_numpy():
    pytest.importorskip("sklearn", reason="needs scikit-learn "
                                          "(Debian: python3-sklearn)")
    out = run("digits_numpy.py")
    lines = out.splitlines()
    assert lines[0].startswith("epoch  1/30 [") and "loss" in lines[0]
    assert sum(line.startswith("epoch") for line in lines) == 30
    assert accuracy(out) > 95


def test_digits_torch():
    pytest.importorskip("sklearn", reason="needs scikit-learn "
                                          "(Debian: python3-sklearn)")
    pytest.importorskip("torch", reason="PyTorch is not installed "
                                        "(Debian: python3-torch)")
    out = run("digits_torch.py")
    assert accuracy(out) > 95
