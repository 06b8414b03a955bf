"""Compiled CPU kernels (``ktrain._fast``) of the fused recurrences in ``ops.rnn``: the
per-step gate arithmetic of the LSTM and GRU, forward and backward. The numpy code in
``ops.rnn`` stays the reference; the tests compare both.

A recurrence step is one small GEMM and a handful of elementwise passes over a (batch,
gates) buffer; at the sizes recurrent layers have (a batch of 32 by 256 hidden units is
8K elements per gate) numpy's per-call cost dominates those passes, and the backward's
numpy path also precomputes six (rows, hidden) products of the saved gates before its
loop. One kernel per step does all of that arithmetic in one pass over the step's rows.

The transcendental functions stay on numpy (its SIMD ``exp``/``tanh`` are 5-10x faster
than the scalar libm calls Numba makes without SVML): the forward kernels run between
numpy's ``exp`` of the pre-activations and its ``tanh`` of the new cell. Serial kernels:
a step's rows are too few to pay for a thread launch, and the step's GEMM already runs on
every BLAS thread.

How they are written, measured on a 32x256 LSTM step (2026-12-08): one short loop per
gate over 1-D row views, so that LLVM vectorises each (one loop touching every gate of
``a`` in place ran 4x slower, 30-40 us against 8-10 us: it could not rule out aliasing), and
constants of the data's dtype (``one``) so float32 stays float32 (a Python ``1`` makes
Numba compute in float64). The arithmetic is the numpy path's, in its order, without
``fastmath`` (no FMA contraction): float32 results equal the numpy path's bit for bit
(tested).
"""
from __future__ import annotations

from .. import _fast


@_fast.kernel()
def lstm_gates_fwd(a, c, tc):
    """One LSTM step after ``a = exp(-pre)`` (``exp(-2 pre)`` for the g block): ``a`` (b,
    4H) becomes the gate activations i, f, g, o in place, ``c`` (b, H) the new cell
    ``f c + i g``, and ``tc`` (b, H) a copy of it (for the caller's tanh)."""
    b, hid = c.shape
    one = c.dtype.type(1)
    for r in range(b):
        ar, cr, tr = a[r], c[r], tc[r]
        for j in range(ar.size):
            ar[j] = one / (ar[j] + one)
        i, f, g = ar[:hid], ar[hid:2 * hid], ar[2 * hid:3 * hid]
        for j in range(hid):
            g[j] = (g[j] + g[j]) - one
        for j in range(hid):
            v = f[j] * cr[j] + i[j] * g[j]
            cr[j] = v
            tr[j] = v


@_fast.kernel()
def lstm_gates_bwd(dm, a, cp, tc, dc, dg):
    """One LSTM step backward: from ``dm`` (b, H), the gradient of ``m = o tanh(c)``, the
    gates ``a`` (b, 4H), the previous cell ``cp`` and ``tc = tanh(c)``: ``dg`` (b, 4H)
    gets the gradient of the pre-activations and ``dc`` (b, H), the incoming cell
    gradient, becomes the gradient of the previous cell."""
    b, hid = dc.shape
    one = dc.dtype.type(1)
    for r in range(b):
        ar, gr, m, cpr, t, d = a[r], dg[r], dm[r], cp[r], tc[r], dc[r]
        i, f, g, o = ar[:hid], ar[hid:2 * hid], ar[2 * hid:3 * hid], ar[3 * hid:]
        gi, gf, gg, go = gr[:hid], gr[hid:2 * hid], gr[2 * hid:3 * hid], gr[3 * hid:]
        for j in range(hid):
            d[j] += m[j] * (o[j] * (one - t[j] * t[j]))
        for j in range(hid):
            gi[j] = d[j] * (g[j] * (i[j] * (one - i[j])))
        for j in range(hid):
            gf[j] = d[j] * (cpr[j] * (f[j] * (one - f[j])))
        for j in range(hid):
            gg[j] = d[j] * (i[j] * (one - g[j] * g[j]))
        for j in range(hid):
            go[j] = m[j] * (t[j] * (o[j] * (one - o[j])))
        for j in range(hid):
            d[j] *= f[j]


@_fast.kernel()
def gru_gates_bwd(dh, a, hn, hp, dhh, dxw):
    """One GRU step backward: from ``dh`` (b, H), the gradient of the step's output, the
    activations ``a`` (b, 3H: r, z, n), ``hn = W_hn h + b_hn`` and the previous hidden
    ``hp``: ``dhh`` (b, 3H) gets the gradient of ``W_hh h + b_hh``, ``dxw`` (b, 3H) that
    of the input projection (the same for r and z; for n without the factor r), and ``dh``
    becomes ``dh * z`` (the direct part of the previous hidden's gradient; the caller adds
    ``dhh @ W_hh``)."""
    b, hid = dh.shape
    one = dh.dtype.type(1)
    for r in range(b):
        ar, d, hnr, hpr, gr, xr = a[r], dh[r], hn[r], hp[r], dhh[r], dxw[r]
        rr, z, n = ar[:hid], ar[hid:2 * hid], ar[2 * hid:]
        gr_, gz, gn = gr[:hid], gr[hid:2 * hid], gr[2 * hid:]
        xr_, xz, dn = xr[:hid], xr[hid:2 * hid], xr[2 * hid:]
        for j in range(hid):
            dn[j] = d[j] * ((one - z[j]) * (one - n[j] * n[j]))
        for j in range(hid):
            v = dn[j] * (hnr[j] * rr[j] * (one - rr[j]))
            gr_[j] = v
            xr_[j] = v
        for j in range(hid):
            v = d[j] * (z[j] * (one - z[j]) * (hpr[j] - n[j]))
            gz[j] = v
            xz[j] = v
        for j in range(hid):
            gn[j] = dn[j] * rr[j]
        for j in range(hid):
            d[j] *= z[j]
