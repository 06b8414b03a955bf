"""Recurrent ops: the fused RNN, LSTM and GRU recurrences (used through
``nn.functional.rnn._layer`` by ``nn.RNN/LSTM/GRU`` and directly by their cells), and
the row gather/scatter of packed sequences (``nn.utils.rnn``).

One recurrence Op per layer and direction: the input projection of all time steps is
one GEMM, forward loops over time with one hidden GEMM and fused gate math per step,
backward loops back over time on raw arrays and ends with one GEMM each for the weight
and input gradients. Under ``create_graph`` the backward recomputes the forward with
ktrain ops so double backward works (``_rnn_graph``). The per-step gate arithmetic has
compiled kernels (``_rnn_kernels``, the ``fast`` extra); the work arrays come from the
buffer pool.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import _backend as B
from .. import _fast
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from . import _rnn_kernels as _K
from ._buffer_pool import _POOL
from ._rnn_graph import _graph_backward

__all__: list = []  # op classes only; the layers are nn.RNN/LSTM/GRU and nn.utils.rnn

_wrap = Tensor._make


# ---------------------------------------------------------------------- fused recurrences
# Every op takes (x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr) with None for what the cell
# lacks: x (rows, I) holds every step's input in packed time-major order, and ``steps``
# is a tuple of (row offset, rows) per time step into it (a padded batch is the case of
# equal batch sizes); ``reverse`` walks the steps from the last to the first. The input
# projection of all steps is one GEMM inside the op, so the projected inputs are a
# temporary that becomes the gate buffer instead of being kept for backward.


def _recording(ctx):
    return any(e is not None for e in ctx._edges)


def _quiet(xp):
    """exp(-x) overflows to inf for very negative x, which gives the right sigmoid (0)."""
    return np.errstate(over="ignore") if xp is np else contextlib.nullcontext()


def _sigmoid_(xp, a):
    """In place: ``a`` holds ``-x``; becomes sigmoid(x) = 1 / (1 + exp(-x)).

    One exp pass is cheaper than numpy's tanh, the largest cost after the GEMMs."""
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)


def _fast_steps(*arrays):
    """Whether the per-step gate arithmetic takes the compiled kernels of
    ``_rnn_kernels`` (numpy float32/float64 arrays, the ``fast`` extra enabled)."""
    return arrays[0].dtype.kind == "f" and arrays[0].dtype.itemsize >= 4 \
        and _fast.use(*arrays, min_size=0)


def _project(x, w_ih, biases, scale=None, out=None):
    """``x @ (w_ih * scale).T + sum(biases) * scale`` (into ``out`` when given): one GEMM
    for every step and one pass for the biases."""
    if scale is not None:
        w_ih = w_ih * scale[:, None]
    out = B.array_module(x).matmul(x, w_ih.T, out=out)
    bias = None
    for b in biases:
        if b is not None:
            bias = b if bias is None else bias + b
    if bias is not None:
        out += bias if scale is None else bias * scale
    return out


def _input_grads(ctx, dxw, n_bias):
    """Gradients of x, w_ih and of the ``n_bias`` biases folded into the projection
    (b_ih, then b_hh), from d(xw); each bias gets its own array."""
    e = ctx._edges
    x, w_ih = ctx.saved_tensors[:2]
    dx = _wrap(dxw @ w_ih._data) if e[0] is not None else None
    dw = _wrap(dxw.T @ x._data) if e[1] is not None else None
    db = dxw.sum(0) if any(e[2 + i] is not None for i in range(n_bias)) else None
    dbs = tuple(_wrap(db if i == 0 else db.copy()) if e[2 + i] is not None else None
                for i in range(n_bias))
    return (dx, dw) + dbs


class _Pooled(Op):
    """A recurrence whose work arrays (``ctx.bufs``) come from the buffer pool and go back
    to it when the node is released."""

    def _release(self):
        bufs = self.__dict__.pop("bufs", None)
        super()._release()
        if bufs is not None:
            _give_all(bufs)


class _LSTMRecurrence(_Pooled):
    """LSTM over time. Inputs x, w_ih (4H, I), b_ih, b_hh (4H,) or None, h0 (N, P), c0
    (N, H), w_hh (4H, P), w_hr (P, H) or None. Outputs y (rows, P), h_n (N, P), c_n (N, H).

    The work arrays (gate buffer, cell tanh, the previous states of every step) come from
    the buffer pool and go back when the node is released (``_release``)."""

    n_outputs = 3

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr, steps, reverse):
        xp = B.array_module(x)
        hid, (_n, p), rows, dt = c0.shape[1], h0.shape, x.shape[0], x.dtype
        take = _POOL.take
        # negated pre-activations (doubled for g: tanh(x) = 2 sigmoid(2x) - 1), turned into
        # the gate activations in place
        s = xp.full(4 * hid, -1, dt)
        s[2 * hid:3 * hid] = -2
        a_all = _project(x, w_ih, (b_ih, b_hh), s, take(xp, (rows, 4 * hid), dt))
        rec = _recording(ctx)
        h = xp.array(h0, dtype=dt, order="C")
        c = xp.array(c0, dtype=dt, order="C")
        y = xp.empty((rows, p), dt)
        bufs = [a_all, take(xp, (rows, hid), dt),                        # gates, tanh(c)
                take(xp, (rows, hid), dt) if w_hr is not None else None,  # o tanh(c)
                take(xp, (rows, p), dt) if rec else None,                # h before each step
                take(xp, (rows, hid), dt) if rec else None]              # c before each step
        with _quiet(xp):
            _lstm_steps(xp, h, c, y, bufs, xp.ascontiguousarray((w_hh * s[:, None]).T),
                        None if w_hr is None else xp.ascontiguousarray(w_hr.T),
                        reversed(steps) if reverse else steps)
        del a_all
        if rec:
            ins = ctx.inputs
            ctx.meta = (steps, reverse, hid)
            ctx.save_for_backward(*(ins[i] for i in (0, 1, 6, 7, 2, 3, 4, 5)))
            ctx.bufs = bufs
        else:
            _give_all(bufs)
        return y, h, c

    @staticmethod
    def backward(ctx, dy, dhn, dcn):
        sv = ctx.saved_tensors
        steps, reverse, hid = ctx.meta
        if STATE.enabled:
            return _graph_backward(ctx, "LSTM", sv, (dy, dhn, dcn), steps, reverse)
        w_hh, w_hr = sv[2]._data, None if sv[3] is None else sv[3]._data
        a_all, tc, m_all, hp, cp = ctx.bufs
        xp = B.array_module(a_all)
        rows, dt = a_all.shape[0], a_all.dtype
        dh = xp.array(dhn._data, dtype=dt, order="C")
        dc = xp.array(dcn._data, dtype=dt, order="C")
        dg = _POOL.take(xp, (rows, 4 * hid), dt)
        dh_all = xp.empty((rows, dh.shape[1]), dt) if w_hr is not None else None
        _lstm_back_steps(xp, dy._data, dh, dc, dg, dh_all, a_all, tc, cp, w_hh, w_hr,
                         steps if reverse else reversed(steps))
        ed = ctx._edges
        dx, dw_ih, db_ih, db_hh = _input_grads(ctx, dg, 2)
        out = (dx, dw_ih, db_ih, db_hh, _wrap(dh) if ed[4] is not None else None,
               _wrap(dc) if ed[5] is not None else None,
               _wrap(dg.T @ hp) if ed[6] is not None else None,
               _wrap(dh_all.T @ m_all) if ed[7] is not None else None)
        _POOL.give(dg)
        return out


def _give_all(bufs):
    """Hand the arrays of the list ``bufs`` (emptied) back to the pool."""
    while bufs:
        a = bufs.pop()
        _POOL.give(a)
        del a


def _lstm_steps(xp, h, c, y, bufs, whs, whr, order):
    """The LSTM forward loop: ``h``/``c`` hold the state (updated in place), ``y`` gets
    every step's output; ``bufs`` as ``_LSTMRecurrence.forward`` fills it (``a_all`` holds
    the scaled projection, becomes the gates)."""
    a_all, tc_all, m_all, hp_all, cp_all = bufs
    n, hid = c.shape
    dt = y.dtype
    h2, h3 = 2 * hid, 3 * hid
    tmp = xp.empty((n, 4 * hid), dt)
    ct = xp.empty((n, hid), dt)
    ig = xp.empty((n, hid), dt)
    fast = _fast_steps(a_all)
    for o, b in order:
        e = o + b
        a, hb, cb, tc = a_all[o:e], h[:b], c[:b], tc_all[o:e]
        if hp_all is not None:
            hp_all[o:e] = hb
            cp_all[o:e] = cb
        g4 = tmp[:b]
        xp.matmul(hb, whs, out=g4)
        a += g4
        if fast:  # gates, cell and its copy in one pass between numpy's exp and tanh
            xp.exp(a, out=a)
            _K.lstm_gates_fwd(a, cb, tc)
            xp.tanh(tc, out=tc)
        else:
            _sigmoid_(xp, a)
            g = a[:, h2:h3]
            g *= 2
            g -= 1
            xp.multiply(a[:, hid:h2], cb, out=ct[:b])
            xp.multiply(a[:, :hid], g, out=ig[:b])
            ct[:b] += ig[:b]
            cb[...] = ct[:b]
            xp.tanh(ct[:b], out=tc)
        if whr is None:
            xp.multiply(a[:, h3:], tc, out=y[o:e])
        else:
            xp.multiply(a[:, h3:], tc, out=m_all[o:e])
            xp.matmul(m_all[o:e], whr, out=y[o:e])
        hb[...] = y[o:e]


def _lstm_back_steps(xp, dy, dh, dc, dg, dh_all, a_all, tc, cp, w_hh, w_hr, order):
    """The LSTM backward loop: fills ``dg`` (the pre-activation gradients of every step)
    and ``dh_all`` (with a projection); ``dh``/``dc`` end as the initial states'."""
    rows, hid = tc.shape
    dt = dg.dtype
    dm_buf = xp.empty((dh.shape[0], hid), dt) if w_hr is not None else None
    fast = _fast_steps(a_all, tc, cp, dh, dc)
    if not fast:  # the gradient-free factors of every step at once
        h2, h3 = 2 * hid, 3 * hid
        i, f, g, o = a_all[:, :hid], a_all[:, hid:h2], a_all[:, h2:h3], a_all[:, h3:]
        k = xp.empty((rows, 3, hid), dt)
        xp.multiply(g, i * (1 - i), out=k[:, 0])
        xp.multiply(cp, f * (1 - f), out=k[:, 1])
        xp.multiply(i, 1 - g * g, out=k[:, 2])
        ko = tc * (o * (1 - o))
        q = o * (1 - tc * tc)
        dg4 = dg.reshape(rows, 4, hid)
        tmp = xp.empty((dh.shape[0], hid), dt)
    for o_, b in order:
        e = o_ + b
        dhb, dcb = dh[:b], dc[:b]
        dhb += dy[o_:e]
        if w_hr is None:
            dm = dhb
        else:
            dh_all[o_:e] = dhb
            dm = xp.matmul(dhb, w_hr, out=dm_buf[:b])
        if fast:
            _K.lstm_gates_bwd(dm, a_all[o_:e], cp[o_:e], tc[o_:e], dcb, dg[o_:e])
        else:
            xp.multiply(dm, q[o_:e], out=tmp[:b])
            dcb += tmp[:b]
            xp.multiply(k[o_:e], dcb[:, None, :], out=dg4[o_:e, :3])
            xp.multiply(dm, ko[o_:e], out=dg4[o_:e, 3])
            dcb *= f[o_:e]
        xp.matmul(dg[o_:e], w_hh, out=dhb)


class _GRURecurrence(_Pooled):
    """GRU over time (PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))). Inputs as
    ``_LSTMRecurrence`` with c0 and w_hr None. Outputs y (rows, H), h_n (N, H). Work
    arrays from the buffer pool, as the LSTM's."""

    n_outputs = 2

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr, steps, reverse):
        xp = B.array_module(x)
        hid, rows, dt = h0.shape[1], x.shape[0], x.dtype
        take = _POOL.take
        # r and z rows negated for the exp-based sigmoid; the n part keeps its sign
        sign = xp.ones(3 * hid, dt)
        sign[:2 * hid] = -1
        xw = _project(x, w_ih, (b_ih,), sign, take(xp, (rows, 3 * hid), dt))
        rec = _recording(ctx)
        h = xp.array(h0, dtype=dt, order="C")
        y = xp.empty((rows, hid), dt)
        bufs = [take(xp, (rows, 3 * hid), dt),                   # r, z, n
                take(xp, (rows, hid), dt) if rec else None,      # W_hn h + b_hn
                take(xp, (rows, hid), dt) if rec else None]      # h before each step
        with _quiet(xp):
            _gru_steps(xp, h, y, xw, bufs, xp.ascontiguousarray((w_hh * sign[:, None]).T),
                       None if b_hh is None else b_hh * sign,
                       reversed(steps) if reverse else steps)
        _POOL.give(xw)
        del xw
        if rec:
            ins = ctx.inputs
            ctx.meta = (steps, reverse, hid)
            ctx.save_for_backward(ins[0], ins[1], ins[6], None, ins[2], ins[3], ins[4], None)
            ctx.bufs = bufs
        else:
            _give_all(bufs)
        return y, h

    @staticmethod
    def backward(ctx, dy, dhn):
        sv = ctx.saved_tensors
        steps, reverse, hid = ctx.meta
        if STATE.enabled:
            return _graph_backward(ctx, "GRU", sv, (dy, dhn, None), steps, reverse)
        a_all, hn, hp = ctx.bufs
        xp = B.array_module(a_all)
        rows, dt = a_all.shape[0], a_all.dtype
        dhh = _POOL.take(xp, (rows, 3 * hid), dt)  # gradient of W_hh h + b_hh
        dxw = _POOL.take(xp, (rows, 3 * hid), dt)  # gradient of the input projection
        dh = xp.array(dhn._data, dtype=dt, order="C")
        _gru_back_steps(xp, dy._data, dh, dhh, dxw, a_all, hn, hp, sv[2]._data,
                        steps if reverse else reversed(steps))
        ed = ctx._edges
        dx, dw_ih, db_ih = _input_grads(ctx, dxw, 1)
        out = (dx, dw_ih, db_ih,
               _wrap(dhh.sum(0)) if ed[3] is not None else None,
               _wrap(dh) if ed[4] is not None else None, None,
               _wrap(dhh.T @ hp) if ed[6] is not None else None, None)
        _POOL.give(dhh)
        _POOL.give(dxw)
        return out


def _gru_steps(xp, h, y, xw, bufs, wt, bh, order):
    """The GRU forward loop: ``h`` holds the state (updated in place), ``y`` gets every
    step's output, ``xw`` holds the signed input projection; ``bufs`` as
    ``_GRURecurrence.forward`` fills it."""
    a_all, hn_all, hp_all = bufs
    n, hid = h.shape
    h2 = 2 * hid
    tmp = xp.empty((n, 3 * hid), y.dtype)
    for o, b in order:
        e = o + b
        hb, a, hh = h[:b], a_all[o:e], tmp[:b]
        if hp_all is not None:
            hp_all[o:e] = hb
        xp.matmul(hb, wt, out=hh)
        if bh is not None:
            hh += bh
        rz = a[:, :h2]
        xp.add(xw[o:e, :h2], hh[:, :h2], out=rz)
        _sigmoid_(xp, rz)
        if hn_all is not None:
            hn_all[o:e] = hh[:, h2:]
        nn_ = a[:, h2:]
        xp.multiply(a[:, :hid], hh[:, h2:], out=nn_)
        nn_ += xw[o:e, h2:]
        xp.tanh(nn_, out=nn_)
        yt = y[o:e]
        xp.subtract(hb, nn_, out=yt)
        yt *= a[:, hid:h2]
        yt += nn_
        hb[...] = yt


def _gru_back_steps(xp, dy, dh, dhh, dxw, a_all, hn, hp, w_hh, order):
    """The GRU backward loop: fills ``dhh`` (gradients of ``W_hh h + b_hh``) and ``dxw``
    (of the input projection) for every step; ``dh`` ends as the initial state's."""
    hid = hn.shape[1]
    h2 = 2 * hid
    tmp = xp.empty((dh.shape[0], hid), dh.dtype)
    fast = _fast_steps(a_all, hn, hp, dh)
    if not fast:  # the gradient-free factors of every step at once
        r, z, nn_ = a_all[:, :hid], a_all[:, hid:h2], a_all[:, h2:]
        kn = (1 - z) * (1 - nn_ * nn_)
        kz = z * (1 - z) * (hp - nn_)
        kr = hn * r * (1 - r)
    for o, b in order:
        e = o + b
        dhb, d = dh[:b], dhh[o:e]
        dhb += dy[o:e]
        if fast:
            _K.gru_gates_bwd(dhb, a_all[o:e], hn[o:e], hp[o:e], d, dxw[o:e])
        else:
            dn = dxw[o:e, h2:]
            xp.multiply(dhb, kn[o:e], out=dn)
            xp.multiply(dn, kr[o:e], out=d[:, :hid])
            xp.multiply(dhb, kz[o:e], out=d[:, hid:h2])
            xp.multiply(dn, r[o:e], out=d[:, h2:])
            dhb *= z[o:e]
        xp.matmul(d, w_hh, out=tmp[:b])
        dhb += tmp[:b]
    if not fast:
        dxw[:, :h2] = dhh[:, :h2]


class _RNNRecurrence(Op):
    """Elman RNN over time: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh). Inputs as
    ``_LSTMRecurrence`` with c0 and w_hh None. Outputs y (rows, H), h_n (N, H)."""

    n_outputs = 2

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr, steps, reverse, relu):
        xp = B.array_module(x)
        dt = x.dtype
        y = _project(x, w_ih, (b_ih, b_hh))  # becomes the output in place
        wt = xp.ascontiguousarray(w_hh.T)
        rec = _recording(ctx)
        h = xp.array(h0, dtype=dt, order="C")
        hp_all = xp.empty_like(y) if rec else None
        tmp = xp.empty_like(h)
        for o, b in (reversed(steps) if reverse else steps):
            e = o + b
            hb, yt = h[:b], y[o:e]
            if rec:
                hp_all[o:e] = hb
            xp.matmul(hb, wt, out=tmp[:b])
            yt += tmp[:b]
            if relu:
                xp.maximum(yt, 0, out=yt)
            else:
                xp.tanh(yt, out=yt)
            hb[...] = yt
        if rec:
            ins = ctx.inputs
            ctx.meta = (steps, reverse, relu)
            ctx.save_for_backward(ins[0], ins[1], ins[6], None, ins[2], ins[3], ins[4], None,
                                  _wrap(y), _wrap(hp_all))
        return y, h

    @staticmethod
    def backward(ctx, dy, dhn):
        sv = ctx.saved_tensors
        steps, reverse, relu = ctx.meta
        if STATE.enabled:
            return _graph_backward(ctx, "RNN", sv[:8], (dy, dhn, None), steps, reverse, relu)
        w_hh, y, hp = sv[2]._data, sv[8]._data, sv[9]._data
        dy = dy._data
        xp = B.array_module(y)
        deriv = (y > 0).astype(y.dtype) if relu else 1 - y * y
        dpre = xp.empty_like(y)
        dh = xp.array(dhn._data, dtype=y.dtype, order="C")
        for o, b in (steps if reverse else reversed(steps)):
            e = o + b
            dhb, d = dh[:b], dpre[o:e]
            dhb += dy[o:e]
            xp.multiply(dhb, deriv[o:e], out=d)
            xp.matmul(d, w_hh, out=dhb)
        ed = ctx._edges
        dx, dw_ih, db_ih, db_hh = _input_grads(ctx, dpre, 2)
        return (dx, dw_ih, db_ih, db_hh, _wrap(dh) if ed[4] is not None else None, None,
                _wrap(dpre.T @ hp) if ed[6] is not None else None, None)


# ---------------------------------------------------------------------- packed sequences
# The rows of a packed batch are gathered from / scattered into the padded layout with a
# precomputed index (``nn.utils.rnn``); each op is the other's backward.


class _TakeRows(Op):
    """``a[idx]`` along the first axis; ``idx`` holds distinct row numbers."""

    @staticmethod
    def forward(ctx, a, idx):
        ctx.meta = (idx, a.shape[0])
        return a[idx]

    @staticmethod
    def backward(ctx, g):
        idx, n = ctx.meta
        return _PutRows.apply(g, idx, n, 0), None


class _PutRows(Op):
    """``n`` rows of ``fill`` with ``out[idx] = src`` (the adjoint of ``_TakeRows``)."""

    @staticmethod
    def forward(ctx, src, idx, n, fill):
        ctx.idx = idx
        out = B.array_module(src).full((n,) + src.shape[1:], fill, src.dtype)
        out[idx] = src
        return out

    @staticmethod
    def backward(ctx, g):
        return _TakeRows.apply(g, ctx.idx), None, None, None
