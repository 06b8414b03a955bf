"""Fused compiled updates (``ktrain._fast`` kernels) for SGD and Adam/AdamW.

The numpy path of each optimizer's ``_apply`` makes 4-10 passes over the flat buffers;
these kernels make one, over both cores. Same formulas and the same order of operations
in the parameters' dtype (scalars are given in that dtype, so float32 stays float32), so
results match the numpy path to float rounding. Called from ``_apply`` only when
``_fast.use(P, G, ...)`` holds (numpy arrays, contiguous flat chunks, large enough).
"""
from __future__ import annotations

import math

from .. import _fast
from .._fast import prange

__all__: list = []


@_fast.kernel(parallel=True)
def _sgd(p, g, buf, lr, wd, mom, damp1, nesterov, maximize, fresh, use_buf):
    for i in prange(p.size):
        gi = g[i]
        if maximize:
            gi = -gi
        if wd != 0:
            gi = gi + p[i] * wd
        u = gi
        if use_buf:
            if fresh:
                b = gi
            else:
                b = buf[i] * mom + gi * damp1
            buf[i] = b
            if nesterov:
                u = gi + b * mom
            else:
                u = b
        p[i] = p[i] - u * lr


@_fast.kernel(parallel=True)
def _adam(p, g, m, v, step_size, bc2_sqrt, one_m_b1, b2, one_m_b2, eps, l2, decay, maximize):
    for i in prange(p.size):
        gi = g[i]
        if maximize:
            gi = -gi
        pi = p[i]
        if decay != 1:
            pi = pi * decay
        if l2 != 0:
            gi = gi + pi * l2
        mi = m[i] + (gi - m[i]) * one_m_b1
        vi = v[i] * b2 + (gi * gi) * one_m_b2
        m[i] = mi
        v[i] = vi
        p[i] = pi - (mi / (math.sqrt(vi) / bc2_sqrt + eps)) * step_size
