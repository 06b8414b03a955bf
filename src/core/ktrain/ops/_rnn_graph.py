"""The create_graph path of the fused recurrences in ``ops.rnn``: their backward written
with ktrain ops on a forward recomputed from the saved inputs, so that a gradient taken
with ``create_graph=True`` is itself differentiable (double backward, gradient penalties).
The first-order backward of ``ops.rnn`` works on raw arrays and stays the fast path."""
from __future__ import annotations

from ..amp import autocast_mode as _amp
from .join import cat
from .linear import _Linear


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
