"""Recurrent ops: the fused RNN, LSTM and GRU recurrences (used through
``nn.functional.rnn._layer`` by ``nn.RNN/LSTM/GRU`` and directly by their cells), and
the row gather/scatter of packed sequences (``nn.utils.rnn``).

One recurrence Op per layer and direction: the input projection of all time steps is
one GEMM, forward loops over time with one hidden GEMM and fused gate math per step,
backward loops back over time on raw arrays and ends with one GEMM each for the weight
and input gradients. Under ``create_graph`` the backward recomputes the forward with
ktrain ops so double backward works.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..amp import autocast_mode as _amp
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from .join import cat
from .linear import _Linear

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


def _project(x, w_ih, biases, scale=None):
    """``x @ (w_ih * scale).T + sum(biases) * scale``: one GEMM for every step."""
    if scale is not None:
        w_ih = w_ih * scale[:, None]
    out = x @ w_ih.T
    for b in biases:
        if b is not None:
            out += b if scale is None else b * scale
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


class _LSTMRecurrence(Op):
    """LSTM over time. Inputs x, w_ih (4H, I), b_ih, b_hh (4H,) or None, h0 (N, P), c0
    (N, H), w_hh (4H, P), w_hr (P, H) or None. Outputs y (rows, P), h_n (N, P), c_n (N, H)."""

    n_outputs = 3

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr, steps, reverse):
        xp = B.array_module(x)
        hid, (n, p), rows, dt = c0.shape[1], h0.shape, x.shape[0], x.dtype
        # negated pre-activations (doubled for g: tanh(x) = 2 sigmoid(2x) - 1), turned into
        # the gate activations in place
        s = xp.full(4 * hid, -1, dt)
        s[2 * hid:3 * hid] = -2
        a_all = _project(x, w_ih, (b_ih, b_hh), s)
        whs = xp.ascontiguousarray((w_hh * s[:, None]).T)
        whr = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
        rec = _recording(ctx)
        h = xp.array(h0, dtype=dt, order="C")
        c = xp.array(c0, dtype=dt, order="C")
        y = xp.empty((rows, p), dt)
        c_t = xp.empty((n, hid), dt)
        tc_all = xp.empty((rows, hid), dt)
        m_all = xp.empty((rows, hid), dt) if whr is not None else None
        hp_all = xp.empty((rows, p), dt) if rec else None
        cp_all = xp.empty((rows, hid), dt) if rec else None
        tmp = xp.empty((n, 4 * hid), dt)
        ig = xp.empty((n, hid), dt)
        h2, h3 = 2 * hid, 3 * hid
        with _quiet(xp):
            for o, b in (reversed(steps) if reverse else steps):
                e = o + b
                a, hb, cb, ct = a_all[o:e], h[:b], c[:b], c_t[:b]
                if rec:
                    hp_all[o:e] = hb
                    cp_all[o:e] = cb
                g4 = tmp[:b]
                xp.matmul(hb, whs, out=g4)
                a += g4
                _sigmoid_(xp, a)
                g = a[:, h2:h3]
                g *= 2
                g -= 1
                xp.multiply(a[:, hid:h2], cb, out=ct)
                xp.multiply(a[:, :hid], g, out=ig[:b])
                ct += ig[:b]
                cb[...] = ct
                tc = tc_all[o:e]
                xp.tanh(ct, out=tc)
                if whr is None:
                    xp.multiply(a[:, h3:], tc, out=y[o:e])
                else:
                    xp.multiply(a[:, h3:], tc, out=m_all[o:e])
                    xp.matmul(m_all[o:e], whr, out=y[o:e])
                hb[...] = y[o:e]
        if rec:
            ins = ctx.inputs
            ctx.meta = (steps, reverse, hid)
            ctx.save_for_backward(ins[0], ins[1], ins[6], ins[7], ins[2], ins[3], ins[4], ins[5],
                                  _wrap(a_all), _wrap(cp_all), _wrap(tc_all), _wrap(hp_all),
                                  None if m_all is None else _wrap(m_all))
        return y, h, c

    @staticmethod
    def backward(ctx, dy, dhn, dcn):
        sv = ctx.saved_tensors
        steps, reverse, hid = ctx.meta
        if STATE.enabled:
            return _graph_backward(ctx, "LSTM", sv[:8], (dy, dhn, dcn), steps, reverse)
        w_hh, w_hr = sv[2]._data, None if sv[3] is None else sv[3]._data
        a_all, cp, tc, hp = (t._data for t in sv[8:12])
        dy = dy._data
        xp = B.array_module(a_all)
        rows, dt = a_all.shape[0], a_all.dtype
        h2, h3 = 2 * hid, 3 * hid
        i, f, g, o = a_all[:, :hid], a_all[:, hid:h2], a_all[:, h2:h3], a_all[:, h3:]
        # everything that does not depend on the incoming gradient, for all steps at once
        k = xp.empty((rows, 3, hid), dt)
        xp.multiply(g, i * (1 - i), out=k[:, 0])
        xp.multiply(cp, f * (1 - f), out=k[:, 1])
        xp.multiply(i, 1 - g * g, out=k[:, 2])
        ko = tc * (o * (1 - o))
        q = o * (1 - tc * tc)
        dh = xp.array(dhn._data, dtype=dt, order="C")
        dc = xp.array(dcn._data, dtype=dt, order="C")
        dg = xp.empty((rows, 4 * hid), dt)
        dg4 = dg.reshape(rows, 4, hid)
        dh_all = xp.empty((rows, dh.shape[1]), dt) if w_hr is not None else None
        tmp = xp.empty((dh.shape[0], hid), dt)
        dm_buf = xp.empty((dh.shape[0], hid), dt) if w_hr is not None else None
        for o_, b in (steps if reverse else reversed(steps)):
            e = o_ + b
            dhb, dcb = dh[:b], dc[:b]
            dhb += dy[o_:e]
            if w_hr is None:
                dm = dhb
            else:
                dh_all[o_:e] = dhb
                dm = xp.matmul(dhb, w_hr, out=dm_buf[:b])
            xp.multiply(dm, q[o_:e], out=tmp[:b])
            dcb += tmp[:b]
            xp.multiply(k[o_:e], dcb[:, None, :], out=dg4[o_:e, :3])
            xp.multiply(dm, ko[o_:e], out=dg4[o_:e, 3])
            dcb *= f[o_:e]
            xp.matmul(dg[o_:e], w_hh, out=dhb)
        ed = ctx._edges
        dx, dw_ih, db_ih, db_hh = _input_grads(ctx, dg, 2)
        return (dx, dw_ih, db_ih, db_hh, _wrap(dh) if ed[4] is not None else None,
                _wrap(dc) if ed[5] is not None else None,
                _wrap(dg.T @ hp) if ed[6] is not None else None,
                _wrap(dh_all.T @ sv[12]._data) if ed[7] is not None else None)


class _GRURecurrence(Op):
    """GRU over time (PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))). Inputs as
    ``_LSTMRecurrence`` with c0 and w_hr None. Outputs y (rows, H), h_n (N, H)."""

    n_outputs = 2

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr, steps, reverse):
        xp = B.array_module(x)
        hid, n, rows, dt = h0.shape[1], h0.shape[0], x.shape[0], x.dtype
        h2 = 2 * hid
        # r and z rows negated for the exp-based sigmoid; the n part keeps its sign
        sign = xp.ones(3 * hid, dt)
        sign[:h2] = -1
        xw = _project(x, w_ih, (b_ih,), sign)
        wt = xp.ascontiguousarray((w_hh * sign[:, None]).T)
        bh = None if b_hh is None else b_hh * sign
        rec = _recording(ctx)
        h = xp.array(h0, dtype=dt, order="C")
        y = xp.empty((rows, hid), dt)
        a_all = xp.empty((rows, 3 * hid), dt)  # r, z, n
        hn_all = xp.empty((rows, hid), dt) if rec else None
        hp_all = xp.empty((rows, hid), dt) if rec else None
        tmp = xp.empty((n, 3 * hid), dt)
        with _quiet(xp):
            for o, b in (reversed(steps) if reverse else steps):
                e = o + b
                hb, a, hh = h[:b], a_all[o:e], tmp[:b]
                if rec:
                    hp_all[o:e] = hb
                xp.matmul(hb, wt, out=hh)
                if bh is not None:
                    hh += bh
                rz = a[:, :h2]
                xp.add(xw[o:e, :h2], hh[:, :h2], out=rz)
                _sigmoid_(xp, rz)
                if rec:
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
        if rec:
            ins = ctx.inputs
            ctx.meta = (steps, reverse, hid)
            ctx.save_for_backward(ins[0], ins[1], ins[6], None, ins[2], ins[3], ins[4], None,
                                  _wrap(a_all), _wrap(hn_all), _wrap(hp_all))
        return y, h

    @staticmethod
    def backward(ctx, dy, dhn):
        sv = ctx.saved_tensors
        steps, reverse, hid = ctx.meta
        if STATE.enabled:
            return _graph_backward(ctx, "GRU", sv[:8], (dy, dhn, None), steps, reverse)
        w_hh = sv[2]._data
        a_all, hn, hp = (t._data for t in sv[8:11])
        dy = dy._data
        xp = B.array_module(a_all)
        rows, dt = a_all.shape[0], a_all.dtype
        h2 = 2 * hid
        r, z, nn_ = a_all[:, :hid], a_all[:, hid:h2], a_all[:, h2:]
        kn = (1 - z) * (1 - nn_ * nn_)
        kz = z * (1 - z) * (hp - nn_)
        kr = hn * r * (1 - r)
        dhh = xp.empty((rows, 3 * hid), dt)  # gradient of W_hh h + b_hh
        dxn = xp.empty((rows, hid), dt)  # gradient of the n part of the projection
        dh = xp.array(dhn._data, dtype=dt, order="C")
        tmp = xp.empty((dh.shape[0], hid), dt)
        for o, b in (steps if reverse else reversed(steps)):
            e = o + b
            dhb, d, dn = dh[:b], dhh[o:e], dxn[o:e]
            dhb += dy[o:e]
            xp.multiply(dhb, kn[o:e], out=dn)
            xp.multiply(dn, kr[o:e], out=d[:, :hid])
            xp.multiply(dhb, kz[o:e], out=d[:, hid:h2])
            xp.multiply(dn, r[o:e], out=d[:, h2:])
            dhb *= z[o:e]
            xp.matmul(d, w_hh, out=tmp[:b])
            dhb += tmp[:b]
        ed = ctx._edges
        dxw = dhh.copy()
        dxw[:, h2:] = dxn
        dx, dw_ih, db_ih = _input_grads(ctx, dxw, 1)
        return (dx, dw_ih, db_ih,
                _wrap(dhh.sum(0)) if ed[3] is not None else None,
                _wrap(dh) if ed[4] is not None else None, None,
                _wrap(dhh.T @ hp) if ed[6] is not None else None, None)


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


# ---------------------------------------------------------------------- create_graph path


def _merge(new, old, b):
    """``new`` for the first ``b`` rows, ``old`` for the others (sequences not running)."""
    return new if b == old.shape[0] else cat([new, old[b:]], 0)


def _acc(total, g):
    return g if total is None else total + g


def _graph_backward(ctx, kind, saved, grads, steps, reverse, relu=False):
    """The recurrence's backward written with ktrain ops on a forward recomputed from the
    saved inputs, so that ``create_graph=True`` gets a differentiable gradient."""
    x, w_ih, w_hh, w_hr, b_ih, b_hh, h0, c0 = saved
    dy, dh, dc = grads
    hid = w_hh.shape[0] // {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    bias = b_ih
    if kind != "GRU" and b_hh is not None:
        bias = b_hh if b_ih is None else b_ih + b_hh
    px, pw, pb = x, w_ih, bias
    if _amp.ANY_ACTIVE:  # the projection as F.linear computes it, autocast included
        px, pw, pb = _amp.cast_inputs("linear", px, pw, pb)
    xw = _Linear.apply(px, pw, pb)
    h, c, tape = h0, c0, []
    for o, b in (reversed(steps) if reverse else steps):
        xt, hb = xw[o:o + b], h[:b]
        if kind == "LSTM":
            cb = c[:b]
            i, f, g, og = (xt + hb @ w_hh.mT).split(hid, 1)
            i, f, g, og = i.sigmoid(), f.sigmoid(), g.tanh(), og.sigmoid()
            cn = f * cb + i * g
            tc = cn.tanh()
            m = og * tc
            hn = m if w_hr is None else m @ w_hr.mT
            tape.append((o, b, hb, (cb, i, f, g, og, tc, m)))
            c = _merge(cn, c, b)
        elif kind == "GRU":
            hh = hb @ w_hh.mT
            if b_hh is not None:
                hh = hh + b_hh
            (xr, xz, xn), (hr, hz, hnn) = xt.split(hid, 1), hh.split(hid, 1)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            nn_ = (xn + r * hnn).tanh()
            hn = nn_ + z * (hb - nn_)
            tape.append((o, b, hb, (r, z, nn_, hnn)))
        else:
            pre = xt + hb @ w_hh.mT
            hn = pre.relu() if relu else pre.tanh()
            tape.append((o, b, hb, (hn,)))
        h = _merge(hn, h, b)
    dxs, dw_hh, dw_hr, db_hh = {}, None, None, None
    for o, b, hb, saved_t in reversed(tape):
        d = dh[:b] + dy[o:o + b]
        if kind == "LSTM":
            cb, i, f, g, og, tc, m = saved_t
            if w_hr is not None:
                dw_hr = _acc(dw_hr, d.mT @ m)
                d = d @ w_hr
            dcb = dc[:b] + d * og * (1 - tc * tc)
            dx = dhh = cat([dcb * g * i * (1 - i), dcb * cb * f * (1 - f),
                            dcb * i * (1 - g * g), d * tc * og * (1 - og)], 1)
            dc = _merge(dcb * f, dc, b)
            dprev = dhh @ w_hh
        elif kind == "GRU":
            r, z, nn_, hnn = saved_t
            dn = d * (1 - z) * (1 - nn_ * nn_)
            dr = dn * hnn * r * (1 - r)
            dz = d * (hb - nn_) * z * (1 - z)
            dx, dhh = cat([dr, dz, dn], 1), cat([dr, dz, dn * r], 1)
            db_hh = _acc(db_hh, dhh.sum(0))
            dprev = d * z + dhh @ w_hh
        else:
            (hn,) = saved_t
            dx = dhh = d * ((hn > 0).to(d.dtype) if relu else 1 - hn * hn)
            dprev = dhh @ w_hh
        dxs[o] = dx
        dw_hh = _acc(dw_hh, dhh.mT @ hb)
        dh = _merge(dprev, dh, b)
    dxw = cat([dxs[o] for o, _ in steps], 0)
    e = ctx._edges
    db = dxw.sum(0)
    return (dxw @ w_ih if e[0] is not None else None,
            dxw.mT @ x if e[1] is not None else None,
            db if e[2] is not None else None,
            (db_hh if kind == "GRU" else db.clone()) if e[3] is not None else None,
            dh if e[4] is not None else None,
            dc if kind == "LSTM" and e[5] is not None else None,
            dw_hh if e[6] is not None else None,
            dw_hr if e[7] is not None else None)

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
