"""Calls from several threads are safe, and the GIL is released while
compiled code runs."""
import threading
import time

import numpy as np

import gradc
from conftest import inputs

MLP = inputs("mlp.gir")


def test_calls_from_many_threads_agree_with_serial_calls():
    m = gradc.compile(MLP)
    vg = m.value_and_grad("loss")
    rng = np.random.default_rng(1)
    cases = []
    for k in range(16):
        n = 1 + k % 5  # different batch sizes: different symbolic dims
        args = [rng.normal(size=s) for s in
                [(n, 4), (4, 8), (8,), (8, 3), (3,)]]
        args.append(np.eye(3)[rng.integers(0, 3, size=n)])
        cases.append((args, vg(*args)))
    errors = []
    start = threading.Barrier(8)

    def worker(t):
        try:
            start.wait()
            for i in range(200):
                args, (v0, g0) = cases[(t * 7 + i) % len(cases)]
                v, g = vg(*args)
                assert v == v0
                for name in g0:
                    assert np.array_equal(g[name], g0[name])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_compiling_from_many_threads():
    m = gradc.compile(MLP)
    got = []

    def worker(wrt):
        got.append(m.value_and_grad("loss", wrt=wrt))

    threads = [threading.Thread(target=worker, args=(w,))
               for w in (["b2"], ["b2"], ["W1"], ["W1"], None, None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 6
    args = [np.ones(s) for s in [(2, 4), (4, 8), (8,), (8, 3), (3,), (2, 3)]]
    for vg in got:
        v, g = vg(*args)
        assert v == m["loss"](*args)
        assert list(g) == (vg.wrt)


def test_the_gil_is_released_during_a_call():
    f = gradc.compile(MLP)["heavy"]
    x = np.linspace(-1, 1, 1 << 18)
    # Grow the input until one call takes at least 0.5 s.
    t0 = time.perf_counter()
    f(x)
    while time.perf_counter() - t0 < 0.5:
        x = np.concatenate([x, x])
        t0 = time.perf_counter()
        f(x)
    duration = time.perf_counter() - t0
    done = threading.Event()

    def call():
        f(x)
        done.set()

    t = threading.Thread(target=call)
    ticks = []
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    # The main thread kept running while the call was in compiled code: had
    # the call held the GIL, it would have been blocked for the whole call.
    gaps = np.diff(ticks)
    assert len(ticks) > 10
    assert gaps.max() < duration / 2, (gaps.max(), duration)
