"""Compiled CPU kernels (``ktrain._fast``) of the normalisation op ``ops.norm._Norm``:
batch norm over a contiguous ``(N, C, S)`` view (training forward and backward, the
evaluation affine map) and layer norm over a contiguous ``(M, K)`` view (forward and
backward). The numpy code in ``ops.norm`` stays the reference; the tests compare both.

Precision: every sum over a channel or a row accumulates in float64 (float32 data stays
float32 in memory and in the outputs). Batch statistics take one pass over the data with
sums shifted by the channel's first value (``var = (sum d^2 - (sum d)^2 / m) / m`` for
``d = x - x[0, c, 0]``), which keeps the cancellation of the one-pass formula away for
data whose mean is large against its spread. Layer-norm rows are short and stay in
cache, so they take the exact two passes.

Reductions are compiled with ``fastmath={'reassoc', 'contract'}`` only (so that LLVM may
vectorise the sums; NaN and inf keep their IEEE meaning); the elementwise passes are
strict. Parallel over channels (batch norm's statistics), over rows (the normalise
passes, layer norm), or over chunks of rows with per-chunk partial sums (layer norm's
weight gradient).
"""
from __future__ import annotations

import numpy as np

from .. import _fast
from .._fast import prange

_RED = {"reassoc", "contract"}


# ---------------------------------------------------------------------- batch norm


@_fast.kernel(parallel=True, fastmath=_RED)
def bn_stats(x, mean, var):
    """Per channel of ``x`` (N, C, S): the mean and the biased variance (float64 sums)."""
    n, c, s = x.shape
    m = n * s
    for ch in prange(c):
        k = np.float64(x[0, ch, 0])
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            for j in range(s):
                d = np.float64(x[i, ch, j]) - k
                s1 += d
                s2 += d * d
        mu = s1 / m
        v = (s2 - s1 * mu) / m
        mean[ch] = k + mu
        var[ch] = v if v > 0.0 else 0.0


@_fast.kernel(parallel=True)
def bn_apply(x, mean, scale, shift, y):
    """``y = (x - mean[c]) * scale[c] + shift[c]`` over (N, C, S), parallel over rows."""
    n, c, s = x.shape
    for r in prange(n * c):
        i = r // c
        ch = r - i * c
        mu = mean[ch]
        a = scale[ch]
        b = shift[ch]
        for j in range(s):
            y[i, ch, j] = (x[i, ch, j] - mu) * a + b


@_fast.kernel(parallel=True, fastmath=_RED)
def bn_grad_sums(g, x, mean, s1, s2):
    """Per channel: ``s1 = sum g`` and ``s2 = sum g * (x - mean)`` (float64)."""
    n, c, s = x.shape
    for ch in prange(c):
        mu = np.float64(mean[ch])
        a1 = 0.0
        a2 = 0.0
        for i in range(n):
            for j in range(s):
                gv = np.float64(g[i, ch, j])
                a1 += gv
                a2 += gv * (np.float64(x[i, ch, j]) - mu)
        s1[ch] = a1
        s2[ch] = a2


@_fast.kernel(parallel=True)
def bn_grad_input(g, x, mean, ka, kb, kc, gx):
    """``gx = ka[c] * g + kb[c] * (x - mean[c]) + kc[c]`` (the closed-form dx)."""
    n, c, s = x.shape
    for r in prange(n * c):
        i = r // c
        ch = r - i * c
        mu = mean[ch]
        a = ka[ch]
        b = kb[ch]
        k = kc[ch]
        for j in range(s):
            gx[i, ch, j] = a * g[i, ch, j] + b * (x[i, ch, j] - mu) + k


@_fast.kernel(parallel=True)
def channel_affine(x, scale, shift, y):
    """``y = x * scale[c] + shift[c]`` over (N, C, S) (evaluation-mode batch norm)."""
    n, c, s = x.shape
    for r in prange(n * c):
        i = r // c
        ch = r - i * c
        a = scale[ch]
        b = shift[ch]
        for j in range(s):
            y[i, ch, j] = x[i, ch, j] * a + b


# ---------------------------------------------------------------------- layer norm


@_fast.kernel(parallel=True, fastmath=_RED)
def ln_forward(x, w, b, eps, y, mean, invstd):
    """Rows of ``x`` (M, K): two-pass mean/variance (float64), then
    ``(x - mean) * invstd * w + b`` (``w``/``b`` of length K, or length 0 for none)."""
    m, k = x.shape
    hw = w.shape[0] > 0
    hb = b.shape[0] > 0
    for r in prange(m):
        s1 = 0.0
        for j in range(k):
            s1 += np.float64(x[r, j])
        mu = s1 / k
        s2 = 0.0
        for j in range(k):
            d = np.float64(x[r, j]) - mu
            s2 += d * d
        inv = 1.0 / np.sqrt(s2 / k + eps)
        mean[r] = mu
        invstd[r] = inv
        mu_t = mean[r]       # read back: the scalars in x's dtype
        inv_t = invstd[r]
        for j in range(k):
            v = (x[r, j] - mu_t) * inv_t
            if hw:
                v = v * w[j]
            if hb:
                v = v + b[j]
            y[r, j] = v


@_fast.kernel(parallel=True, fastmath=_RED)
def ln_grad_input(g, x, w, mean, invstd, gx):
    """Rows: ``gx = invstd * (gh - mean(gh) - xhat * mean(gh * xhat))``, ``gh = g * w``."""
    m, k = x.shape
    hw = w.shape[0] > 0
    for r in prange(m):
        mu = mean[r]         # mean/invstd arrays are of x's dtype
        inv = invstd[r]
        s1 = 0.0
        s2 = 0.0
        for j in range(k):
            gh = g[r, j] * w[j] if hw else g[r, j]
            s1 += np.float64(gh)
            s2 += np.float64(gh) * np.float64((x[r, j] - mu) * inv)
        c1 = s1 / k
        c2 = s2 / k
        for j in range(k):
            gh = g[r, j] * w[j] if hw else g[r, j]
            gx[r, j] = inv * (gh - c1 - (x[r, j] - mu) * inv * c2)


@_fast.kernel(parallel=True, fastmath=_RED)
def ln_grad_params(g, x, mean, invstd, nchunks, pw, pb):
    """Per chunk of rows: partial ``sum g * xhat`` (``pw``) and ``sum g`` (``pb``), each
    (nchunks, K) float64; the caller sums the chunks."""
    m, k = x.shape
    step = (m + nchunks - 1) // nchunks
    for t in prange(nchunks):
        for j in range(k):
            pw[t, j] = 0.0
            pb[t, j] = 0.0
        for r in range(t * step, min(m, (t + 1) * step)):
            mu = mean[r]
            inv = invstd[r]
            for j in range(k):
                gv = g[r, j]
                pw[t, j] += np.float64(gv) * np.float64((x[r, j] - mu) * inv)
                pb[t, j] += np.float64(gv)
