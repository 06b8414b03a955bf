"""Lookup-table ops: the row gather of ``F.embedding`` and its adjoint scatter.

``_Gather`` takes rows of a table (times a per-index factor); its backward is
``_ScatterRows``, which scatter-adds gradient rows back into the table (repeated indices
accumulate through ``_backend.scatter_add``), and whose backward is the gather again, so
gradients of any order work. ``_GatherScaledGrad`` returns the plain rows but scales the
gradient per index (``padding_idx``, ``scale_grad_by_freq``). The wrappers are in
``nn.functional.sparse``.
"""
from __future__ import annotations

import numpy as np

from .. import _fast
from .._backend import array_module, scatter_add
from .._fast import prange
from ..autograd.function import Op
from ..autograd.grad_mode import no_grad

__all__: list = []  # op classes only; the public functions live in nn.functional.sparse


class _Gather(Op):
    """``w[idx] * coef`` (coef per index, or None): rows of the table."""

    @staticmethod
    def forward(ctx, w, idx, coef):
        idx = idx.astype(np.int64, copy=False)
        ctx.meta = (idx, coef, w.shape[0])
        out = array_module(w).take(w, idx, axis=0)
        if coef is not None:
            out *= coef[..., None]
        return out

    @staticmethod
    def backward(ctx, g):
        idx, coef, n = ctx.meta
        return _ScatterRows.apply(g, idx, coef, n), None, None


@_fast.kernel(parallel=True)
def _scatter_rows_into(out, idx, g):
    """``out[idx[k]] += g[k]`` for rows (repeated indices accumulate, in index order per
    column, as ``np.add.at``); threads split the columns, so no two write one element."""
    m, d = g.shape
    nblk = (d + 63) // 64
    for jb in prange(nblk):
        j0 = jb * 64
        j1 = min(d, j0 + 64)
        for k in range(m):
            r = idx[k]
            for j in range(j0, j1):
                out[r, j] += g[k, j]


class _ScatterRows(Op):
    """The adjoint of ``_Gather``: ``out[idx[k]] += g[k] * coef[k]`` into ``n`` rows."""

    @staticmethod
    def forward(ctx, g, idx, coef, n):
        ctx.meta = (idx, coef, n)
        xp = array_module(g)
        d = g.shape[-1]
        g2 = g.reshape(-1, d)
        if coef is not None:
            g2 = g2 * coef.reshape(-1, 1)
        out = xp.zeros((n, d), g.dtype)
        flat = idx.reshape(-1)
        if _fast.use(g2, flat, min_size=4096) and g2.flags.c_contiguous and (
                flat.size == 0 or (0 <= flat.min() and flat.max() < n)):
            _scatter_rows_into(out, flat.astype(np.int64, copy=False), g2)
        else:  # the reference path (and negative indices, which it wraps)
            scatter_add(xp, out, flat, g2)
        return out

    @staticmethod
    def backward(ctx, gg):
        idx, coef, n = ctx.meta
        return _Gather.apply(gg, idx, coef), None, None, None


class _GatherScaledGrad(Op):
    """``w[idx]`` whose gradient into ``w`` is scaled per index: 0 at ``padding_idx``,
    ``1 / count`` with ``scale_grad_by_freq`` (the factors are made from ``idx`` when a
    gradient is recorded)."""

    @staticmethod
    def forward(ctx, w, idx, padding_idx, scale_grad_by_freq):
        idx = idx.astype(np.int64, copy=False)
        if ctx._edges[0] is not None:
            coef = _coef(idx, w.shape[0], padding_idx, scale_grad_by_freq, w.dtype)
            ctx.meta = (idx, coef, w.shape[0])
        return array_module(w).take(w, idx, axis=0)

    @staticmethod
    def backward(ctx, g):
        idx, coef, n = ctx.meta
        return _ScatterRows.apply(g, idx, coef, n), None, None, None


# ---------------------------------------------------------------------- helper kernels


def _renorm(weight, idx, max_norm, norm_type):
    """Rescale in place the rows of ``weight`` used by ``idx`` whose norm exceeds max_norm."""
    with no_grad():
        w = weight._data
        xp = array_module(w)
        rows = xp.unique(idx.reshape(-1))
        sel = w[rows]
        if norm_type == 2:
            norms = xp.sqrt((sel * sel).sum(axis=1))
        else:
            norms = (xp.abs(sel) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        big = norms > max_norm
        if bool(big.any()):
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] = sel[big] * scale[:, None]
            weight._version[0] += 1


def _coef(idx, n, padding_idx, scale_grad_by_freq, dtype):
    """Per-index gradient factor: 0 at padding_idx, 1 / count with scale_grad_by_freq."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    xp = array_module(idx)
    c = xp.ones(idx.shape, dtype)
    if scale_grad_by_freq:
        counts = xp.bincount(idx.reshape(-1), minlength=n)
        c /= counts[idx].astype(dtype)
    if padding_idx is not None:
        c[idx == padding_idx] = 0
    return c
