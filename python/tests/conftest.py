"""Shared helpers for the gradc Python tests: the CLI (gradc run/grad/...)
is the reference the module's results are compared with."""
import json
import os
import subprocess

import numpy as np
import pytest

SOURCE_DIR = os.environ.get(
    "GRADC_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
GRADC_BIN = os.environ.get("GRADC_BIN",
                           os.path.join(SOURCE_DIR, "build", "bin", "gradc"))
INPUTS = os.path.join(os.path.dirname(__file__), "inputs")


def example(name):
    return os.path.join(SOURCE_DIR, "examples", name)


def inputs(name):
    return os.path.join(INPUTS, name)


def gradc_cli(*args, check=True):
    """Runs the gradc driver; returns (stdout, stderr, returncode)."""
    p = subprocess.run([GRADC_BIN, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("gradc %s failed:\n%s" % (" ".join(args),
                                                        p.stderr))
    return p.stdout, p.stderr, p.returncode


def cli_run(tmp_path, path, func, args, extra=()):
    """`gradc run --format json` with the arguments written as .npy files
    (exact values); returns the parsed JSON."""
    argv = ["run", path, "--func", func, "--format", "json", *extra]
    for name, value in args.items():
        value = np.asarray(value)
        p = tmp_path / ("%s.npy" % name)
        np.save(p, value)
        argv += ["--arg", "%s=@%s" % (name, p)]
    out, _, _ = gradc_cli(*argv)
    return json.loads(out)


@pytest.fixture
def rng():
    return np.random.default_rng(7)
