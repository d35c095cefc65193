#!/usr/bin/env python3
"""Times the convolution-family ops of W6 (LeNet-5, batch 64) one at a time
through the gradc Python module (JIT, one thread): conv2d of both layers,
the input and filter gradients of the second and the filter gradient of the
first (the first layer's input gradient is not needed: X is not
differentiated), max-pooling and its argmax, and the scatter of the pooling
adjoint. Each figure is the mean over calls for at least 0.3 s after a
warm-up call. Run from the repository root after building:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/conv_parts.py
(on a CPU OpenBLAS does not know, also OPENBLAS_CORETYPE=SkylakeX, as
bench/run.sh sets)."""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.environ.get("GRADC_BUILD", os.path.join(ROOT, "build")),
                                "python"))
import gradc  # noqa: E402

r = np.random.default_rng(0)


def t(name, text, *args):
    f = gradc.compile(text, cache=False)["f"]
    f(*args)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.3:
        f(*args)
        n += 1
    print(f"{name:48} {(time.perf_counter() - t0) / n * 1e3:8.2f} ms")


def a(*s):
    return r.standard_normal(s).astype(np.float32)


def fn(sig, body):
    """sig: "params) -> result" """
    return f"func @f({sig} {{\n  {body}\n  return %y\n}}\n"


t("conv1 conv2d [64,1,28,28] * [20,1,5,5]",
  fn("%x: f32[64,1,28,28], %w: f32[20,1,5,5]) -> f32[64,20,24,24]", "%y = conv2d %x, %w"),
  a(64, 1, 28, 28), a(20, 1, 5, 5))
t("conv2 conv2d [64,20,12,12] * [50,20,5,5]",
  fn("%x: f32[64,20,12,12], %w: f32[50,20,5,5]) -> f32[64,50,8,8]", "%y = conv2d %x, %w"),
  a(64, 20, 12, 12), a(50, 20, 5, 5))
t("conv2 conv2d_grad_input",
  fn("%dy: f32[64,50,8,8], %w: f32[50,20,5,5]) -> f32[64,20,12,12]",
     "%y = conv2d_grad_input %dy, %w {shape=[64,20,12,12]}"),
  a(64, 50, 8, 8), a(50, 20, 5, 5))
t("conv2 conv2d_grad_filter",
  fn("%x: f32[64,20,12,12], %dy: f32[64,50,8,8]) -> f32[50,20,5,5]",
     "%y = conv2d_grad_filter %x, %dy {shape=[50,20,5,5]}"),
  a(64, 20, 12, 12), a(64, 50, 8, 8))
t("conv1 conv2d_grad_filter",
  fn("%x: f32[64,1,28,28], %dy: f32[64,20,24,24]) -> f32[20,1,5,5]",
     "%y = conv2d_grad_filter %x, %dy {shape=[20,1,5,5]}"),
  a(64, 1, 28, 28), a(64, 20, 24, 24))
t("max_pool2d [64,20,24,24]",
  fn("%x: f32[64,20,24,24]) -> f32[64,20,12,12]",
     "%y = max_pool2d %x {kernel=[2,2], strides=[2,2]}"), a(64, 20, 24, 24))
t("max_pool2d_argmax [64,20,24,24]",
  fn("%x: f32[64,20,24,24]) -> i64[64,20,12,12]",
     "%y = max_pool2d_argmax %x {kernel=[2,2], strides=[2,2]}"), a(64, 20, 24, 24))
t("scatter_add_elements (the pooling adjoint)",
  fn("%i: i64[64,20,144], %u: f32[64,20,144]) -> f32[64,20,576]",
     "%z = const 0 : f32\n  %b = broadcast_to %z {shape=[64,20,576]}\n"
     "  %y = scatter_add_elements %b, %i, %u {axis=2}"),
  r.integers(0, 576, (64, 20, 144)).astype(np.int64), a(64, 20, 144))
