"""The softmax family over dims: logsumexp, softmax, log_softmax.

Each is computed stably (the maximum subtracted first) and saves only its output
(plus the input for logsumexp); backward rules are written with ktrain ops.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import register_method
from ..amp import autocast_mode as _amp
from ..autograd.function import Op
from ._dims import _one_dim, _require_float, expand_back, norm_dims

__all__ = ["logsumexp", "softmax", "log_softmax"]


# ---------------------------------------------------------------------- logsumexp / softmax


class Logsumexp(Op):
    """``log(sum(exp(x)))`` computed as ``m + log(sum(exp(x - m)))`` with m the max."""

    save_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.meta = (axes, keepdim)
        xp = array_module(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            if a.size == 0:  # an empty sum: log(0) = -inf
                return xp.log(xp.exp(a).sum(axis=axes, keepdims=keepdim))
            m = a.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or an inf) must not give inf - inf
            out = xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m
        return out if keepdim else out.reshape([s for i, s in enumerate(a.shape)
                                                 if i not in axes])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        out = expand_back(ctx.saved_output, x.shape, axes, keepdim)
        return expand_back(g, x.shape, axes, keepdim) * (x - out).exp(), None, None


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))``, numerically stable. Integer inputs become float."""
    if not input.is_floating_point():
        input = input.to(B.get_default_dtype())
    axes = norm_dims(dim, input._data.ndim, "logsumexp", input._data.shape)
    return Logsumexp.apply(input, axes, keepdim)


class Softmax(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        if a.size == 0:
            return a.copy()
        xp = array_module(a)
        e = xp.exp(a - a.max(axis=axes, keepdims=True))
        e /= e.sum(axis=axes, keepdims=True)
        return e

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_output
        return y * (g - (g * y).sum(ctx.axes, keepdim=True)), None


class LogSoftmax(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        if a.size == 0:
            return a.copy()
        xp = array_module(a)
        s = a - a.max(axis=axes, keepdims=True)
        s -= xp.log(xp.exp(s).sum(axis=axes, keepdims=True))
        return s

    @staticmethod
    def backward(ctx, g):
        return g - ctx.saved_output.exp() * g.sum(ctx.axes, keepdim=True), None


def _softmax_input(input, dim, dtype, op):
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, op)
    axis = _one_dim(dim, input, op)
    return input, (() if axis is None else (axis,))


def softmax(input, dim, dtype=None):
    """``exp(x) / sum(exp(x), dim)`` (stable); ``dtype`` casts the input first."""
    if dtype is None and _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("softmax", input)
    input, axes = _softmax_input(input, dim, dtype, "softmax")
    return Softmax.apply(input, axes)


def log_softmax(input, dim, dtype=None):
    """``x - logsumexp(x, dim, keepdim=True)`` (stable); ``dtype`` casts the input first."""
    if dtype is None and _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("log_softmax", input)
    input, axes = _softmax_input(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, axes)


# ---------------------------------------------------------------------- Tensor methods

for _name, _fn in [("logsumexp", logsumexp), ("softmax", softmax),
                   ("log_softmax", log_softmax)]:
    register_method(_name)(_fn)
