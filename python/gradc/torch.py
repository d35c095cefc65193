"""gradc.torch: gradc-compiled functions as differentiable PyTorch ops.

    import gradc, gradc.torch
    m = gradc.compile("layer.gir")
    layer = gradc.torch.function(m, "layer")
    y = layer(x, W, b)          # torch tensors in and out
    y.sum().backward()          # W.grad, b.grad from gradc's compiled VJP

The forward pass runs m[name]; the backward pass runs m.vjp(name, wrt=...)
for exactly the inputs that need a gradient. See docs/python.md.
"""
try:
    import torch as _torch
except ImportError as e:  # the rest of gradc works without PyTorch
    raise ImportError("gradc.torch needs PyTorch, which is not installed "
                      "(Debian: apt-get install python3-torch)") from e

import numpy as _np
from torch.autograd.function import once_differentiable as _once

__all__ = ["function"]

_DTYPES = {"f32": _torch.float32, "f64": _torch.float64,
           "i32": _torch.int32, "i64": _torch.int64}


def _dtype_of(type_str):
    return _DTYPES[type_str.split("[")[0]]


def _to_numpy(fname, pname, ptype, t):
    if not isinstance(t, _torch.Tensor):
        raise TypeError("%s(): argument '%s' must be a torch.Tensor, not %s"
                        % (fname, pname, type(t).__name__))
    want = _dtype_of(ptype)
    if t.dtype != want:
        raise ValueError(
            "%s(): argument '%s' is a %s tensor of shape %s, but its type %s "
            "needs %s (use .to(%s))" % (fname, pname, t.dtype, tuple(t.shape),
                                       ptype, want, want))
    if t.device.type != "cpu":
        raise ValueError("%s(): argument '%s' is on %s; gradc runs on the "
                         "CPU (use .cpu())" % (fname, pname, t.device))
    return t.detach().contiguous().numpy()


def function(module, name=None):
    """A callable on torch.Tensors that computes module[name] and
    differentiates through gradc's compiled vector-Jacobian product.

    Arguments are passed positionally or by parameter name. Each must be a
    CPU tensor of the parameter's dtype (float32 for f32, float64 for f64,
    int32 for i32, int64 for i64: labels and indices, never differentiated);
    non-contiguous tensors are copied. It returns one tensor, or a tuple for
    several results. Gradients flow to every input that requires them; the
    backward pass is not itself differentiable (no double backward).
    """
    f = module.function(name)
    fname = f.name
    params = f.parameters
    types = f.parameter_types

    class GradcFunction(_torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            arrays = [_to_numpy(fname, p, ty, t)
                      for p, ty, t in zip(params, types, tensors)]
            out = f(*arrays)
            # Saved as tensors, so that torch detects in-place changes to
            # them before the backward pass.
            ctx.save_for_backward(*tensors)
            outs = out if isinstance(out, tuple) else (out,)
            ctx.out_dtypes = [o.dtype for o in outs]
            res = tuple(_torch.from_numpy(_np.asarray(o)) for o in outs)
            return res if len(res) > 1 else res[0]

        @staticmethod
        @_once
        def backward(ctx, *grads):
            wrt = [p for p, need in zip(params, ctx.needs_input_grad) if need]
            if not wrt:
                return (None,) * len(params)
            cot = [g.detach().to(_torch.float32 if dt == _np.float32 else
                                 _torch.float64).contiguous().numpy()
                   for g, dt in zip(grads, ctx.out_dtypes)]
            arrays = [_to_numpy(fname, p, ty, t)
                      for p, ty, t in zip(params, types, ctx.saved_tensors)]
            _, g = module.vjp(fname, wrt=wrt)(*arrays, *cot)
            return tuple(_torch.from_numpy(_np.asarray(g[p])) if p in g
                         else None for p in params)

    def call(*args, **kwargs):
        if len(args) > len(params):
            raise TypeError("%s() takes %d argument(s) (%s) but %d were given"
                            % (fname, len(params), ", ".join(params),
                               len(args)))
        given = list(args) + [None] * (len(params) - len(args))
        for k, v in kwargs.items():
            if k not in params:
                raise TypeError("%s() got an unexpected argument '%s'; its "
                                "arguments are (%s)"
                                % (fname, k, ", ".join(params)))
            i = params.index(k)
            if i < len(args):
                raise TypeError("%s() got multiple values for argument '%s'"
                                % (fname, k))
            given[i] = v
        missing = [p for p, v in zip(params, given) if v is None]
        if missing:
            raise TypeError("%s() is missing argument(s) %s" % (
                fname, ", ".join("'%s'" % p for p in missing)))
        return GradcFunction.apply(*given)

    call.__name__ = fname
    call.__doc__ = "gradc-compiled %s (differentiable)" % f.signature
    return call
