"""The CTC op (Connectionist Temporal Classification, ``F.ctc_loss``), in log space.

The forward alpha recursion and the backward beta recursion are vectorised over the
batch and the label positions (a Python loop over time steps only); the gradient is
PyTorch's formula, computed in one Op. Argument checking and the blank-extended targets
are built by the wrapper in ``nn.functional.ctc``.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module, scatter_add
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE

__all__: list = []  # op classes only; the public function lives in nn.functional.ctc


_NEG_BIG = -1e30  # a finite stand-in for -inf as a logsumexp shift (exp(-inf - it) = 0)


def _windows(xp, buf, ll):
    """(3, N, L) view of ``buf`` (N, L + 2): [k, n, s] is buf[n, s + k] (no copy)."""
    n = buf.shape[0]
    st = buf.strides
    return xp.lib.stride_tricks.as_strided(buf, (3, n, ll), (st[1], st[0], st[1]))


def _lse_step(xp, win, add3, lpe_t, out):
    """out = lpe_t + logsumexp over the 3 window entries (+ the additive mask ``add3``)."""
    w = win + add3
    m = w.max(axis=0)
    xp.maximum(m, _NEG_BIG, out=m)
    w -= m
    xp.exp(w, out=w)
    s = w.sum(axis=0)
    xp.log(s, out=s)
    s += m
    xp.add(s, lpe_t, out=out)


class _Ctc(Op):
    """Per-sample CTC negative log likelihood ``(N,)`` of log-probabilities ``(T, N, C)``.

    The alpha recursion runs in log space over all samples and all positions of the
    blank-extended targets at once (a Python loop over time only): each step is a
    logsumexp over a 3-wide window (s, s - 1 and, where allowed, s - 2) of the previous
    step. Backward runs the beta recursion the same way and returns PyTorch's gradient
    ``exp(lp) - exp(logsumexp_{s: l'_s = c}(alpha + beta) + nll - lp)``, which is the
    gradient with respect to the logits of a log_softmax that produced ``lp``.
    """

    @staticmethod
    def forward(ctx, lp, ext, tl, il, blank, zero_infinity):
        xp = array_module(lp)
        tmax, n, c = lp.shape
        ll = ext.shape[1]
        dt = lp.dtype
        ninf = dt.type(-np.inf)
        lpe = lp[:, xp.arange(n)[:, None], ext]  # (T, N, L): log prob of each extended label
        lext = 2 * tl + 1
        skip = xp.zeros((n, ll), bool)  # may position s be reached from s - 2
        if ll > 2:
            skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        add3 = xp.zeros((3, n, ll), dt)  # window order: s - 2, s - 1, s
        add3[0] = xp.where(skip, 0.0, ninf)
        la = xp.full((tmax, n, ll), ninf, dt)
        buf = xp.full((n, ll + 2), ninf, dt)  # alpha at [:, 2:], two -inf columns in front
        a = buf[:, 2:]
        win = _windows(xp, buf, ll)
        if tmax:
            a[:, 0] = lpe[0, :, 0]
            if ll > 1:
                a[:, 1] = xp.where(tl > 0, lpe[0, :, 1], ninf)
            la[0] = a
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for t in range(1, tmax):
                _lse_step(xp, win, add3, lpe[t], la[t])
                a[...] = la[t]
            rows = xp.arange(n)
            last = la[xp.maximum(il - 1, 0), rows]  # (N, L): alpha at each sample's last frame
            end1 = last[rows, lext - 1]
            end2 = xp.where(lext > 1, last[rows, xp.maximum(lext - 2, 0)], ninf)
            m = xp.maximum(xp.maximum(end1, end2), _NEG_BIG)
            nll = -(xp.log(xp.exp(end1 - m) + xp.exp(end2 - m)) + m)
        nll = xp.where(il == 0, xp.where(tl == 0, 0.0, np.inf), nll).astype(dt, copy=False)
        inf = xp.isinf(nll)
        out = xp.where(inf, 0.0, nll).astype(dt, copy=False) if zero_infinity else nll
        if ctx._edges[0] is not None:
            ctx.arrs = (lp, lpe, la, ext, skip, lext, il, nll, inf, zero_infinity)
        return out

    @staticmethod
    def backward(ctx, g):
        lp, lpe, la, ext, skip, lext, il, nll, inf, zero_infinity = ctx.arrs
        xp = array_module(lp)
        tmax, n, c = lp.shape
        ll = ext.shape[1]
        dt = lp.dtype
        ninf = dt.type(-np.inf)
        pos = xp.arange(ll)[None, :]
        end = (pos == (lext - 1)[:, None]) | ((pos == (lext - 2)[:, None]) & (lext > 1)[:, None])
        endadd = xp.where(end, 0.0, ninf).astype(dt)
        add3 = xp.zeros((3, n, ll), dt)  # window order: s, s + 1, s + 2
        if ll > 2:  # s may jump to s + 2 when label s + 2 may be reached from s
            add3[2, :, :-2] = xp.where(skip[:, 2:], 0.0, ninf)
        tt = xp.arange(tmax)[:, None]
        liveadd = xp.where(tt < (il - 1)[None, :], 0.0, ninf).astype(dt)[:, :, None]
        start = tt == (il - 1)[None, :]  # (T, N): each sample's last frame
        buf = xp.full((n, ll + 2), ninf, dt)  # beta at [:, :L], two -inf columns behind
        b = buf[:, :ll]
        win = _windows(xp, buf, ll)
        lb = xp.empty((tmax, n, ll), dt)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for t in range(tmax - 1, -1, -1):
                out = lb[t]
                _lse_step(xp, win, add3, lpe[t], out)
                out += liveadd[t]
                xp.copyto(out, lpe[t] + endadd, where=start[t][:, None])
                b[...] = out
            # alpha * beta / y at each (t, s), relative to the total: <= 1, no overflow
            term = la + lb
            term += nll[None, :, None]
            term -= lpe
            xp.exp(term, out=term)
        term[xp.isnan(term)] = 0.0
        grad = xp.zeros((tmax, n, c), dt)
        flat = ((xp.arange(tmax)[:, None, None] * n + xp.arange(n)[None, :, None]) * c
                + ext[None, :, :])
        scatter_add(xp, grad.reshape(-1), flat.reshape(-1), term.reshape(-1))
        grad = xp.exp(lp) - grad
        grad *= (tt < il[None, :])[:, :, None]  # frames past input_lengths get nothing
        scale = xp.where(inf if zero_infinity else xp.zeros(n, bool), 0.0, 1.0).astype(dt)
        if STATE.enabled:
            return _CtcGradMul.apply(g, grad * scale[None, :, None]), None, None, None, None, None
        grad *= (g._data * scale)[None, :, None]
        return Tensor._make(grad), None, None, None, None, None


class _CtcGradMul(Op):
    """``g[n] * G[t, n, c]`` for the create_graph path: differentiable in ``g`` only (the
    CTC gradient has no derivative with respect to the log-probabilities, as in PyTorch)."""

    @staticmethod
    def forward(ctx, g, gmat):
        ctx.gmat = gmat
        return gmat * g[None, :, None]

    @staticmethod
    def backward(ctx, gg):
        return (gg * Tensor._make(ctx.gmat)).sum((0, 2)), None
