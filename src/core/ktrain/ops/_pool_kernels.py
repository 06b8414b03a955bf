"""Compiled CPU kernels (``ktrain._fast``) of the pooling ops in ``ops.pool``: max pooling
with PyTorch's flat indices (any kernel/stride/padding/dilation/ceil_mode), the flat
scatter-add behind its backward, average pooling and its adjoint. Planes ``(P, H, W)``
(``P = N * C``) are independent, so every kernel runs in parallel over planes and a
scatter never races. The numpy code in ``ops.pool`` stays the reference.
"""
from __future__ import annotations

from .. import _fast
from .._fast import prange


@_fast.kernel(parallel=True)
def _max_pool_2x2(x, out, idx):
    """``max_pool`` for 2x2 windows of stride 2 inside the plane (same tie/NaN rules)."""
    np_, h, w = x.shape
    _, ho, wo = out.shape
    for p in prange(np_):
        for i in range(ho):
            r = 2 * i
            for j in range(wo):
                c = 2 * j
                best = x[p, r, c]
                bi = r * w + c
                v = x[p, r, c + 1]
                if v > best or (v != v and best == best):
                    best = v
                    bi = r * w + c + 1
                v = x[p, r + 1, c]
                if v > best or (v != v and best == best):
                    best = v
                    bi = (r + 1) * w + c
                v = x[p, r + 1, c + 1]
                if v > best or (v != v and best == best):
                    best = v
                    bi = (r + 1) * w + c + 1
                out[p, i, j] = best
                idx[p, i, j] = bi


@_fast.kernel(parallel=True)
def max_pool(x, kh, kw, sh, sw, ph, pw, dh, dw, out, idx):
    """``out[p, i, j]`` = max of window (i, j) of plane p, ``idx`` its flat position
    ``h * W + w`` in the plane: the first maximum on ties, the first NaN when there is
    one (as the numpy path); padding cells never win."""
    np_, h, w = x.shape
    _, ho, wo = out.shape
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0 and dh == 1 \
            and dw == 1 and 2 * ho <= h and 2 * wo <= w:
        _max_pool_2x2(x, out, idx)   # the common case, without the bounds tests
        return
    for p in prange(np_):
        for i in range(ho):
            h0 = i * sh - ph
            for j in range(wo):
                w0 = j * sw - pw
                best = x[p, 0, 0]
                bi = -1
                for a in range(kh):
                    r = h0 + a * dh
                    if r < 0 or r >= h:
                        continue
                    for b in range(kw):
                        c = w0 + b * dw
                        if c < 0 or c >= w:
                            continue
                        v = x[p, r, c]
                        if bi < 0 or v > best or (v != v and best == best):
                            best = v
                            bi = r * w + c
                out[p, i, j] = best
                idx[p, i, j] = bi


@_fast.kernel(parallel=True)
def scatter_flat(g, idx, assign, dx):
    """``dx[p]`` = zeros with ``g[p, k]`` added (``assign``: written, the last write of a
    repeated position winning, as numpy's fancy assignment) at flat positions
    ``idx[p, k]``. Returns how many positions fell outside a plane (skipped)."""
    np_, hw = dx.shape
    k = g.shape[1]
    bad = 0
    for p in prange(np_):
        for t in range(hw):
            dx[p, t] = 0
        for t in range(k):
            q = idx[p, t]
            if q < 0 or q >= hw:
                bad += 1
            elif assign:
                dx[p, q] = g[p, t]
            else:
                dx[p, q] += g[p, t]
    return bad


@_fast.kernel(parallel=True)
def avg_pool(x, kh, kw, sh, sw, ph, pw, div, out):
    """Window sums over the zero-padded planes divided by ``div[i, j]``."""
    np_, h, w = x.shape
    _, ho, wo = out.shape
    for p in prange(np_):
        for i in range(ho):
            h0 = i * sh - ph
            for j in range(wo):
                w0 = j * sw - pw
                s = x[p, 0, 0] * 0
                for a in range(kh):
                    r = h0 + a
                    if r < 0 or r >= h:
                        continue
                    for b in range(kw):
                        c = w0 + b
                        if 0 <= c < w:
                            s += x[p, r, c]
                out[p, i, j] = s / div[i, j]


@_fast.kernel(parallel=True)
def avg_scatter(g, kh, kw, sh, sw, ph, pw, div, dx):
    """Adjoint of ``avg_pool``: ``g / div`` added over each window's cells."""
    np_, h, w = dx.shape
    _, ho, wo = g.shape
    for p in prange(np_):
        for r in range(h):
            for c in range(w):
                dx[p, r, c] = 0
        for i in range(ho):
            h0 = i * sh - ph
            for j in range(wo):
                w0 = j * sw - pw
                v = g[p, i, j] / div[i, j]
                for a in range(kh):
                    r = h0 + a
                    if r < 0 or r >= h:
                        continue
                    for b in range(kw):
                        c = w0 + b
                        if 0 <= c < w:
                            dx[p, r, c] += v
