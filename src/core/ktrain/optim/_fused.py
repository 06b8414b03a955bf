"""Fused compiled updates (``ktrain._fast`` kernels) for Adam/AdamW and Adadelta.

SGD has none: a one-pass SGD kernel measured slower than its numpy passes on an idle
machine (0.91-0.96 vs 0.57-0.59 ms on the MLP benchmark's parameters, 2 threads).

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


@_fast.kernel(parallel=True)
def _adadelta(p, g, v, u, lr, rho, one_m_rho, eps, wd, maximize):
    """Adadelta in one pass, in the numpy path's order: ``v = v*rho + g*g*(1-rho)``,
    ``d = sqrt(u + eps) / sqrt(v + eps) * g``, ``u = u*rho + d*d*(1-rho)``, ``p -= d*lr``."""
    for i in prange(p.size):
        gi = g[i]
        if maximize:
            gi = -gi
        if wd != 0:
            gi = gi + p[i] * wd
        vi = v[i] * rho + (gi * gi) * one_m_rho
        d = math.sqrt(u[i] + eps) / math.sqrt(vi + eps) * gi
        v[i] = vi
        u[i] = u[i] * rho + (d * d) * one_m_rho
        p[i] = p[i] - d * lr
