"""The fused attention op behind ``F.scaled_dot_product_attention`` (and so
``F.multi_head_attention_forward`` and ``nn.MultiheadAttention``).

``_Attention`` computes ``softmax(q k^T * scale + mask) v`` with the softmax done in place
on the score buffer, and its backward uses the closed form
``dS = P * (dP - sum(dP * P, -1))`` on raw arrays. Under ``create_graph`` the same
formulas run as ktrain ops on a recomputed ``P``, so higher-order gradients work.
Rows whose every key is masked give zeros (PyTorch's safe softmax), not NaN. Masks,
dropout keep-masks and grouped heads are prepared by the wrappers in
``nn.functional.attention``.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ._util import unbroadcast

__all__: list = []  # op classes only; the public functions live in nn.functional.attention

_wrap = Tensor._make
_NEG_INF = float("-inf")


def _sum_to(a, shape):
    """Raw-array un-broadcasting: sum ``a`` down to ``shape``."""
    if a.shape == tuple(shape):
        return a
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and a.shape[i + lead] != 1)
    r = a.sum(axis=axes, keepdims=True) if axes else a
    return r.reshape(shape)


def _causal_bias(xp, n_q, n_k, dtype):
    """0 on and below the diagonal, -inf above (query i sees keys 0..i)."""
    keep = xp.tril(xp.ones((n_q, n_k), dtype=bool))
    return xp.where(keep, 0, _NEG_INF).astype(dtype)


def _scores(xp, q, k, bias, causal, scale):
    """The attention logits ``q k^T * scale + bias`` as a fresh buffer."""
    s = xp.matmul(q, xp.swapaxes(k, -1, -2))
    s *= scale
    if causal:
        s += _causal_bias(xp, s.shape[-2], s.shape[-1], s.dtype)
    if bias is not None:
        s = xp.add(s, bias, out=s) if np.broadcast_shapes(s.shape, bias.shape) == s.shape \
            else s + bias
    return s


def _softmax_(xp, s):
    """Softmax over the last axis, in place; all-masked rows become zeros."""
    m = s.max(axis=-1, keepdims=True)
    dead = m == _NEG_INF
    if dead.any():
        m[dead] = 0
    s -= m
    xp.exp(s, out=s)
    z = s.sum(axis=-1, keepdims=True)
    if dead.any():
        z[z == 0] = 1
    s /= z
    return s


class _Attention(Op):
    """``softmax(q k^T * scale + mask) v``. ``mask``: additive float array or None;
    ``keep``: dropout keep-mask already divided by (1 - p), or None."""

    n_outputs = 1
    weights = False

    @classmethod
    def forward(cls, ctx, q, k, v, mask, keep, scale, causal):
        xp = B.array_module(q)
        p = _softmax_(xp, _scores(xp, q, k, mask, causal, scale))
        if keep is not None:
            pd = p * keep
        else:  # the returned weights must not alias the saved probabilities
            pd = p.copy() if cls.weights else p
        out = xp.matmul(pd, v)
        if any(e is not None for e in ctx._edges):
            ctx.meta = (scale, causal)
            ins = ctx.inputs
            ctx.save_for_backward(ins[0], ins[1], ins[2], ins[3], ins[4], _wrap(p))
        return (out, pd) if cls.weights else out

    @classmethod
    def backward(cls, ctx, g_out, g_w=None):
        q, k, v, mask, keep, p = ctx.saved_tensors
        scale, causal = ctx.meta
        e = ctx._edges
        if STATE.enabled:  # create_graph: the same formulas as ktrain ops, P recomputed
            return _attention_backward_graph(q, k, v, mask, keep, scale, causal, g_out, g_w, e)
        xp = B.array_module(p._data)
        p, go = p._data, g_out._data
        kp = None if keep is None else keep._data
        pd = p * kp if kp is not None else p
        dv = None
        if e[2] is not None:
            dv = _wrap(_sum_to(xp.matmul(xp.swapaxes(pd, -1, -2), go), v.shape))
        ds = xp.matmul(go, xp.swapaxes(v._data, -1, -2))  # dPd
        if g_w is not None:
            ds += g_w._data
        if kp is not None:
            ds *= kp
        t = (ds * p).sum(axis=-1, keepdims=True)
        ds -= t
        ds *= p
        dmask = _wrap(_sum_to(ds, mask.shape)) if e[3] is not None else None
        ds *= scale
        dq = _wrap(_sum_to(xp.matmul(ds, k._data), q.shape)) if e[0] is not None else None
        dk = None
        if e[1] is not None:
            dk = _wrap(_sum_to(xp.matmul(xp.swapaxes(ds, -1, -2), q._data), k.shape))
        return dq, dk, dv, dmask, None


class _AttentionWeights(_Attention):
    """``_Attention`` that also returns the (post-dropout) attention weights."""

    n_outputs = 2
    weights = True


def _attention_backward_graph(q, k, v, mask, keep, scale, causal, g_out, g_w, e):
    s = (q @ k.mT) * scale
    if causal:
        s = s + _wrap(_causal_bias(B.array_module(s._data), s.shape[-2], s.shape[-1],
                                   s._data.dtype))
    if mask is not None:
        s = s + mask
    dead = _wrap((s._data == _NEG_INF).all(axis=-1, keepdims=True))
    if dead._data.any():  # rows with no key: zeros, as in the forward
        p = s.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)
    else:
        p = s.softmax(-1)
    pd = p * keep if keep is not None else p
    dv = unbroadcast(pd.mT @ g_out, tuple(v.shape)) if e[2] is not None else None
    dpd = g_out @ v.mT
    if g_w is not None:
        dpd = dpd + g_w
    dp = dpd * keep if keep is not None else dpd
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    dmask = unbroadcast(ds, tuple(mask.shape)) if e[3] is not None else None
    ds = ds * scale
    dq = unbroadcast(ds @ k, tuple(q.shape)) if e[0] is not None else None
    dk = unbroadcast(ds.mT @ q, tuple(k.shape)) if e[1] is not None else None
    return dq, dk, dv, dmask, None
