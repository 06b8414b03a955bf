"""Compiled CPU kernels (``ktrain._fast``) of the activations in ``ops.activation`` and of
dropout's mask (``nn.functional.dropout``); the numpy formulas there stay the reference
and the tests compare both.

Only activations whose formula is comparisons and arithmetic have kernels (ReLU forward,
in place and backward). Numba without Intel's SVML (the case on this project's machines)
calls the scalar libm ``exp``/``erf`` per element: measured 2.5 ms for an ``exp`` over 1M
float32 on one core against numpy's SIMD 0.45 ms, ``erf`` 15 ms; so GELU, sigmoid, tanh,
SiLU and softmax stay on numpy's vectorised passes (see the report of this change).
"""
from __future__ import annotations

import numpy as np

from .. import _fast
from .._backend import array_module
from .._fast import prange


@_fast.kernel(parallel=True)
def relu_into(x, y):
    """``y = max(x, 0)`` over flat arrays (NaN stays NaN, as ``np.maximum``; ``y`` may be
    ``x``)."""
    for i in prange(x.size):
        v = x[i]
        y[i] = v if (v > 0 or v != v) else 0


@_fast.kernel(parallel=True)
def relu_grad(g, y, gx):
    """``gx = g where y > 0 else 0`` over flat arrays (ReLU's backward from its output, as
    the numpy path's ``g * (y > 0)``; PyTorch passes the gradient of a NaN output on)."""
    for i in prange(g.size):
        gx[i] = g[i] if y[i] > 0 else 0


@_fast.kernel(parallel=True)
def dropout_mask(u, keep, scale, out):
    """``out = scale where u < keep else 0`` over flat arrays (``out`` may be ``u``)."""
    for i in prange(u.size):
        out[i] = scale if u[i] < keep else 0


# ---------------------------------------------------------------------- call sites


def fast_flat(*arrays):
    """Whether ReLU's kernels take these arrays (float, C-contiguous, same dtype, large)."""
    a0 = arrays[0]
    if not _fast.use(*arrays, min_size=RELU_FAST_MIN) or a0.dtype.kind != "f" \
            or a0.dtype.itemsize < 4:
        return False
    return all(a.flags.c_contiguous and a.dtype == a0.dtype and a.shape == a0.shape
               for a in arrays)


# elements: a ReLU kernel on 2 threads beats numpy's pass from about here (measured)
RELU_FAST_MIN = 1 << 16


def relu_f(x, out=None):
    """max(x, 0) (into ``out`` when given): one compiled pass, or numpy's."""
    if fast_flat(x):
        y = np.empty_like(x) if out is None else out
        relu_into(x.reshape(-1), y.reshape(-1))
        return y
    xp = array_module(x)
    return xp.maximum(x, 0) if out is None else xp.maximum(x, 0, out=out)


def relu_df(g, y):
    """g where y > 0 else 0 (ReLU's gradient from its saved output)."""
    if fast_flat(g, y):
        gx = np.empty_like(g)
        relu_grad(g.reshape(-1), y.reshape(-1), gx.reshape(-1))
        return gx
    return g * (y > 0)
