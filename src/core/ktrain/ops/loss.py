"""Loss ops: fused cross entropy and NLL over class indices, BCE, BCE with logits, and the
pointwise smooth-L1 / Huber terms (the wrappers, with PyTorch's names, signatures and
reductions, are in ``nn.functional.loss``; CTC is ``ops.ctc``).

Each op has a closed-form backward on raw arrays; under ``create_graph`` the same
formulas are built from ktrain ops so higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ._util import unbroadcast
from .activation import _LogSigmoid, _sigmoid, pointwise_op

__all__: list = []  # op classes only; the public functions live in nn.functional.loss


# ---------------------------------------------------------------------- class-index losses


def _row_weights(xp, t, w, ignore_index, dtype):
    """(targets with ignored ones set to 0, valid mask, per-row weight w[t] * valid)."""
    valid = t != ignore_index
    allv = bool(valid.all()) if t.size else True
    tt = t if allv else xp.where(valid, t, 0)
    if w is None:
        wt = valid.astype(dtype)
    else:
        wt = w[tt]
        if not allv:
            wt = wt * valid
    return tt, valid, wt


class _CrossEntropy(Op):
    """Fused ``log_softmax`` + NLL over logits ``(M, C)`` and class indices ``(M,)``.

    Unreduced loss: ``(1 - eps) * w[t] * (-logp[t]) + eps / C * sum_c w[c] * (-logp[c])``
    (0 for ignored rows); 'mean' divides by ``sum w[t]`` over the non-ignored rows.
    Backward: ``a * (p * ((1 - eps) w[t] + eps W / C) - (1 - eps) w[t] onehot - eps w / C)``
    with ``a`` the per-row output gradient, ``W = sum w``.
    """

    @staticmethod
    def forward(ctx, x, w, t, ignore_index, eps, reduction):
        xp = array_module(x)
        m, c = x.shape
        dt = x.dtype
        s = x - x.max(axis=1, keepdims=True)
        e = xp.exp(s)
        se = e.sum(axis=1)
        lse = xp.log(se)
        tt, valid, wt = _row_weights(xp, t, w, ignore_index, dt)
        rows = xp.arange(m)
        loss = lse - s[rows, tt]  # -logp at the target
        loss *= wt
        if eps:
            if w is None:
                smooth = lse * c - s.sum(axis=1)
            else:
                smooth = lse * w.sum() - s @ w
            smooth *= valid
            loss *= 1.0 - eps
            loss += smooth * (eps / c)
        denom = None
        if reduction == "none":
            out = loss
        elif reduction == "sum":
            out = loss.sum()
        else:
            denom = wt.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                out = loss.sum() / denom
        if ctx._edges[0] is not None:
            e /= se[:, None]  # the softmax, reused by backward
            ctx.save_for_backward(ctx.inputs[0])
            ctx.arrs = [e, tt, valid, wt, denom, w]
            ctx.meta = (eps, reduction)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p, tt, valid, wt, denom, w = ctx.arrs
        eps, reduction = ctx.meta
        xp = array_module(tt)
        m, c = x.shape
        dt = x._data.dtype
        # per-row scale a = d(reduced loss) / d(row loss)
        if reduction == "none":
            a = g._data * valid
        elif reduction == "sum":
            a = valid * g._data
        else:
            a = valid * (g._data / denom)
        a = a.astype(dt, copy=False)
        wsum = None if w is None else w.sum()
        coef = a * wt * (1.0 - eps) if eps else a * wt
        if eps:
            coef += a * ((eps / c) * (c if w is None else wsum))
        rows = xp.arange(m)
        hot = a * wt * (1.0 - eps) if eps else a * wt
        if STATE.enabled:  # create_graph: differentiable in x (through softmax) and g
            return _ce_backward_graph(g, x, tt, valid, wt, denom, w, eps, reduction), None, \
                None, None, None, None
        if p is None:
            p = _softmax_rows(x._data)
        ctx.arrs[0] = None  # consumed in place below; a retained graph recomputes it
        p *= coef[:, None]
        p[rows, tt] -= hot
        if eps:
            if w is None:
                p -= (a * (eps / c))[:, None]
            else:
                p -= (a * (eps / c))[:, None] * w[None, :]
        return Tensor._make(p), None, None, None, None, None


def _softmax_rows(x):
    xp = array_module(x)
    e = xp.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _ce_backward_graph(g, x, tt, valid, wt, denom, w, eps, reduction):
    from .reduce import softmax

    m, c = x.shape
    xp = array_module(tt)
    dt = x._data.dtype
    if reduction == "none":
        a = g * Tensor._make(valid.astype(dt))
    elif reduction == "sum":
        a = g * Tensor._make(valid.astype(dt))
    else:
        a = g * Tensor._make((valid / denom).astype(dt))
    wsum = float(c) if w is None else w.sum()
    coef = wt * (1.0 - eps) + (eps / c) * wsum
    const = xp.zeros((m, c), dt)
    const[xp.arange(m), tt] = wt * (1.0 - eps)
    if eps:
        const += (eps / c) * (1.0 if w is None else w[None, :])
    p = softmax(x, 1)
    return a.unsqueeze(1) * (p * Tensor._make(coef.astype(dt)[:, None]) - Tensor._make(const))


class _Nll(Op):
    """``-w[t] * logp[t]`` over ``(M, C)`` log-probabilities and ``(M,)`` class indices."""

    @staticmethod
    def forward(ctx, lp, w, t, ignore_index, reduction):
        xp = array_module(lp)
        m = lp.shape[0]
        tt, valid, wt = _row_weights(xp, t, w, ignore_index, lp.dtype)
        loss = -lp[xp.arange(m), tt] * wt
        denom = None
        if reduction == "none":
            out = loss
        elif reduction == "sum":
            out = loss.sum()
        else:
            denom = wt.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                out = loss.sum() / denom
        ctx.arrs = (tt, wt, denom, lp.shape)
        ctx.reduction = reduction
        return out

    @staticmethod
    def backward(ctx, g):
        tt, wt, denom, shape = ctx.arrs
        xp = array_module(tt)
        red = ctx.reduction
        if STATE.enabled:
            a = g if red != "mean" else g / Tensor._make(denom)
            a = (a * Tensor._make(-wt)).reshape(-1, 1)
            z = Tensor._make(xp.zeros(shape, wt.dtype))
            return z.scatter_add(1, Tensor._make(tt.reshape(-1, 1)), a), None, None, None, None
        gd = g._data
        a = gd if red != "mean" else gd / denom
        out = xp.zeros(shape, wt.dtype)
        out[xp.arange(shape[0]), tt] = -(a * wt)
        return Tensor._make(out), None, None, None, None


# ---------------------------------------------------------------------- binary


class _Bce(Op):
    """``-(t log x + (1 - t) log(1 - x))`` with both logs clamped at -100 (PyTorch)."""

    @staticmethod
    def forward(ctx, x, t):
        xp = array_module(x)
        ctx.save_for_backward(*ctx.inputs)
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = xp.maximum(xp.log(x), -100.0)
            l1x = xp.maximum(xp.log1p(-x), -100.0)
        out = lx - l1x
        out *= t
        out += l1x
        out *= -1.0
        return out

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        e = ctx._edges
        gx = gt = None
        if STATE.enabled:
            if e[0] is not None:
                gx = g * (x - t) / (x * (1.0 - x)).clamp(min=1e-12)
            if e[1] is not None:
                gt = g * ((-x).log1p().clamp(min=-100.0) - x.log().clamp(min=-100.0))
            return gx, gt
        xd, td, gd = x._data, t._data, g._data
        xp = array_module(xd)
        if e[0] is not None:
            gx = Tensor._make(gd * (xd - td) / xp.maximum((1.0 - xd) * xd, 1e-12))
        if e[1] is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                d = xp.maximum(xp.log1p(-xd), -100.0) - xp.maximum(xp.log(xd), -100.0)
            gt = Tensor._make(gd * d)
        return gx, gt


class _BceLogits(Op):
    """``(1 - t) x - (1 + (pw - 1) t) logsigmoid(x)``, stable for any x."""

    @staticmethod
    def forward(ctx, x, t, pw):
        xp = array_module(x)
        ctx.save_for_backward(*ctx.inputs)
        ls = _LogSigmoid.f(xp, x)
        out = (1.0 - t) * x
        if pw is None:
            out -= ls
        else:
            lw = (pw - 1.0) * t
            lw += 1.0
            out -= lw * ls
        return out

    @staticmethod
    def backward(ctx, g):
        x, t, pw = ctx.saved_tensors
        e = ctx._edges
        gx = gt = gp = None
        if STATE.enabled:
            sig = x.sigmoid()
            ls = _LogSigmoid.apply(x)
            if e[0] is not None:
                gx = g * (sig - t) if pw is None else \
                    g * ((1.0 - t) - (1.0 + (pw - 1.0) * t) * (1.0 - sig))
            if e[1] is not None:
                gt = g * (-x) if pw is None else g * (-x - (pw - 1.0) * ls)
            if pw is not None and e[2] is not None:
                gp = unbroadcast(g * (-t * ls), tuple(pw.shape))
            return gx, gt, gp
        xd, td, gd = x._data, t._data, g._data
        xp = array_module(xd)
        if e[0] is not None:
            sig = _sigmoid(xp, xd)
            if pw is None:
                sig -= td
                sig *= gd
                gx = Tensor._make(sig)
            else:
                lw = (pw._data - 1.0) * td + 1.0
                gx = Tensor._make(gd * ((1.0 - td) - lw * (1.0 - sig)))
        if e[1] is not None:
            if pw is None:
                gt = Tensor._make(-(gd * xd))
            else:
                gt = Tensor._make(gd * (-xd - (pw._data - 1.0) * _LogSigmoid.f(xp, xd)))
        if pw is not None and e[2] is not None:
            gp = unbroadcast(Tensor._make(gd * (-td * _LogSigmoid.f(xp, xd))), tuple(pw.shape))
        return gx, gt, gp


# ---------------------------------------------------------------------- regression


def _smooth_l1_f(xp, d, beta):
    a = xp.abs(d)
    return xp.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)


def _huber_f(xp, d, delta):
    a = xp.abs(d)
    return xp.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)


# name -> (formula, f, df, dgraph) of ``activation.pointwise_op``, over d = input - target
_REGRESSION = {
    "_SmoothL1": ("0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta.", _smooth_l1_f,
                  lambda xp, g, d, y, beta: g * xp.clip(d * (1.0 / beta), -1.0, 1.0),
                  lambda g, d, y, beta: g * (d * (1.0 / beta)).clamp(-1.0, 1.0)),
    "_Huber": ("0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta).", _huber_f,
               lambda xp, g, d, y, delta: g * xp.clip(d, -delta, delta),
               lambda g, d, y, delta: g * d.clamp(-delta, delta)),
}

_SmoothL1, _Huber = (pointwise_op(n, *row, module=__name__) for n, row in _REGRESSION.items())
