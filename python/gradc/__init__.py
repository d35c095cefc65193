"""gradc: compile .gir graphs and their gradients, call them with numpy.

    import gradc, numpy as np
    m = gradc.compile("examples/affine.gir")        # a path or IR text
    z = m["affine"](W, x, b)                        # numpy in, numpy out
    value, grads = m.value_and_grad("loss", wrt=["W", "b"])(X, W, b)

See docs/python.md for every call, the dtype and shape rules, threading and
the PyTorch bridge (gradc.torch).
"""
import os
from typing import Dict, List, NamedTuple

from ._gradc import CompileError, Function, Module, have_blas

# Tracebacks say gradc.CompileError, gradc.Module, gradc.Function.
for _t in (CompileError, Function, Module):
    _t.__module__ = __name__
del _t

__all__ = ["compile", "Module", "Function", "CompileError", "CheckReport",
           "CheckRow", "have_blas"]


def compile(source, name=None, cache=True):
    """Parses and verifies a module; returns a gradc.Module.

    `source` is IR text (a str containing '{' or a newline, or bytes) or the
    path of a .gir file (a str without them, or an os.PathLike). `name` is
    the file name that diagnostics show (default: the path, or "<string>").
    With cache (the default), JIT-compiled object code is kept in and reused
    from gradc's persistent compile cache, as `gradc run` does (docs/driver.md;
    $GRADC_CACHE_DIR, else $XDG_CACHE_HOME/gradc, else ~/.cache/gradc).
    Errors in the source raise gradc.CompileError whose message is the
    clang-style diagnostic text: file:line:col, the source line, a caret.
    """
    if isinstance(source, bytes):
        source = source.decode()
    if isinstance(source, os.PathLike) or (
            isinstance(source, str) and "{" not in source
            and "\n" not in source):
        path = os.fspath(source)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return Module(text, name or path, cache)
    if not isinstance(source, str):
        raise TypeError("gradc.compile expects IR text or a path, not %r"
                        % type(source).__name__)
    return Module(source, name or "<string>", cache)


class CheckRow(NamedTuple):
    """One line of a gradient check: an argument's VJP, or the JVP."""
    what: str
    type: str
    max_rel_error: float
    ok: bool


class CheckReport(NamedTuple):
    """What Module.check returns; true when every row is within tolerance.
    str() gives the text `gradc check` prints."""
    ok: bool
    dims: Dict[str, int]
    rows: List[CheckRow]
    text: str

    def __bool__(self):
        return self.ok

    def __str__(self):
        return self.text


def __getattr__(name):
    # gradc.torch is imported on first use, so that gradc works without
    # PyTorch.
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError("module 'gradc' has no attribute %r" % name)
