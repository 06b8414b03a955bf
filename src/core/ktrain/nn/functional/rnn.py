"""Recurrent layers' plumbing (used by ``nn.modules.rnn``): the time-step tables of padded
and packed batches, and ``_layer``, which runs one layer and direction by applying one
fused recurrence op of ``ops.rnn`` (RNN, LSTM or GRU).
"""
from __future__ import annotations

from ...ops.rnn import _GRURecurrence, _LSTMRecurrence, _RNNRecurrence

__all__: list = []


_STEPS_CACHE: dict = {}


def _padded_steps(t, n):
    key = (t, n)
    s = _STEPS_CACHE.get(key)
    if s is None:
        if len(_STEPS_CACHE) > 256:
            _STEPS_CACHE.clear()
        s = _STEPS_CACHE[key] = tuple((i * n, n) for i in range(t))
    return s


def _packed_steps(batch_sizes):
    out, o = [], 0
    for b in batch_sizes:
        out.append((o, b))
        o += b
    return tuple(out)


_OPS = {"LSTM": _LSTMRecurrence, "GRU": _GRURecurrence}


def _layer(mode, x, h0, c0, weights, bias, steps, reverse):
    """One layer and direction over the 2-D rows ``x``: (y, h_n, c_n or None)."""
    if bias:
        w_ih, w_hh, b_ih, b_hh = weights[:4]
        w_hr = weights[4] if len(weights) > 4 else None
    else:
        (w_ih, w_hh), b_ih, b_hh = weights[:2], None, None
        w_hr = weights[2] if len(weights) > 2 else None
    op = _OPS.get(mode)
    if op is None:
        y, hn = _RNNRecurrence.apply(x, w_ih, b_ih, b_hh, h0, None, w_hh, None, steps=steps,
                                     reverse=reverse, relu=mode == "RNN_RELU")
        return y, hn, None
    out = op.apply(x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr, steps=steps, reverse=reverse)
    return out if mode == "LSTM" else (out[0], out[1], None)
