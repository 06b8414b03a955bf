"""Padding: ``pad`` (``nn.functional.pad``: constant, reflect, replicate, circular) and
``constant_pad_nd``.

Negative widths crop. The constant pad is its own adjoint with negated widths; the other
modes go back through ``PadNdAdjoint`` (which folds the padded borders back onto the
entries they copy), so higher-order gradients work.
"""
from __future__ import annotations

from .._backend import array_module
from ..autograd.function import Op
from .join import Slice, _at, _int_list, _shape_str

__all__ = ["constant_pad_nd"]


# ====================================================================== pad


class ConstantPadNd(Op):
    """Pad (or crop, for negative widths) every dim with a constant; self-adjoint with -w."""

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.widths = widths
        xp = array_module(a)
        out_shape = tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, widths))
        out = xp.zeros(out_shape, a.dtype) if value == 0 else xp.full(out_shape, value, a.dtype)
        src, dst = [], []
        for s, (lo, hi) in zip(a.shape, widths):
            cl, ch = max(-lo, 0), max(-hi, 0)
            n = max(0, s - cl - ch)
            src.append(slice(cl, cl + n))
            dst.append(slice(max(lo, 0), max(lo, 0) + n))
        if out.size and a.size:
            out[tuple(dst)] = a[tuple(src)]
        return out

    @staticmethod
    def backward(ctx, g):
        return ConstantPadNd.apply(g, tuple((-lo, -hi) for lo, hi in ctx.widths), 0), None, None


class PadNd(Op):
    """reflect / replicate ('edge') / circular ('wrap') padding with non-negative widths."""

    @staticmethod
    def forward(ctx, a, widths, mode):
        ctx.meta = (widths, mode)
        return array_module(a).pad(a, widths, mode=mode)

    @staticmethod
    def backward(ctx, g):
        widths, mode = ctx.meta
        return PadNdAdjoint.apply(g, widths, mode), None, None


class PadNdAdjoint(Op):
    """The adjoint of PadNd: fold the padded borders back onto the entries they copy."""

    @staticmethod
    def forward(ctx, g, widths, mode):
        ctx.meta = (widths, mode)
        xp = array_module(g)
        for d, (lo, hi) in enumerate(widths):
            if lo == 0 and hi == 0:
                continue
            m = g.shape[d]
            n = m - lo - hi
            out = g[_at(d, slice(lo, lo + n))].copy()
            left = g[_at(d, slice(0, lo))]
            right = g[_at(d, slice(lo + n, m))]
            if mode == "reflect":
                if lo:
                    out[_at(d, slice(1, lo + 1))] += xp.flip(left, axis=d)
                if hi:
                    out[_at(d, slice(n - 1 - hi, n - 1))] += xp.flip(right, axis=d)
            elif mode == "edge":
                if lo:
                    out[_at(d, slice(0, 1))] += left.sum(axis=d, keepdims=True)
                if hi:
                    out[_at(d, slice(n - 1, n))] += right.sum(axis=d, keepdims=True)
            else:  # wrap
                if lo:
                    out[_at(d, slice(n - lo, n))] += left
                if hi:
                    out[_at(d, slice(0, hi))] += right
            g = out
        return g

    @staticmethod
    def backward(ctx, gg):
        widths, mode = ctx.meta
        return PadNd.apply(gg, widths, mode), None, None


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_widths(shape, pad, op):
    pad = _int_list(pad, op, "pad")
    if len(pad) % 2:
        raise RuntimeError(f"{op}: padding length must be divisible by 2, got {len(pad)} "
                           f"values {list(pad)}")
    k = len(pad) // 2
    nd = len(shape)
    if k > nd:
        raise RuntimeError(f"{op}: padding length too large: {list(pad)} pads {k} dims but the "
                           f"input of shape {_shape_str(shape)} has only {nd}")
    widths = [(0, 0)] * nd
    for j in range(k):
        widths[nd - 1 - j] = (pad[2 * j], pad[2 * j + 1])
    return widths


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims (``torch.nn.functional.pad``).

    ``pad`` lists (left, right) widths starting from the last dim: ``(l, r)`` pads the
    last dim, ``(l, r, t, b)`` the last two. ``mode``: 'constant' (``value``, default 0;
    negative widths crop), 'reflect' (mirror without the edge), 'replicate' (repeat the
    edge) or 'circular' (wrap around).
    """
    shape = input._data.shape
    widths = _pad_widths(shape, pad, "pad")
    if mode == "constant":
        for d, (s, (lo, hi)) in enumerate(zip(shape, widths)):
            if s + lo + hi < 0:
                raise RuntimeError(f"pad: the input size {s}, plus negative padding {lo} and "
                                   f"{hi} resulted in a negative output size, which is invalid."
                                   f" Check dimension {d} of your input of shape "
                                   f"{_shape_str(shape)}.")
        return ConstantPadNd.apply(input, tuple(widths), 0 if value is None else value)
    npmode = _PAD_MODES.get(mode)
    if npmode is None:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; expected "
                                  "'constant', 'reflect', 'replicate' or 'circular'")
    if value is not None:
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    # negative widths crop first (a narrow), then the rest pads
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        idx = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(shape, widths))
        if any(sl.stop < sl.start for sl in idx):
            raise RuntimeError(f"pad: negative padding {list(pad)} is larger than the input of "
                               f"shape {_shape_str(shape)}")
        input = Slice.apply(input, idx)
        shape = input._data.shape
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    for d, (s, (lo, hi)) in enumerate(zip(shape, widths)):
        if not (lo or hi):
            continue
        if mode == "reflect" and (lo >= s or hi >= s):
            raise RuntimeError(f"pad: padding size should be less than the corresponding input "
                               f"dimension in reflect mode, but got: padding ({lo}, {hi}) at "
                               f"dimension {d} of input {_shape_str(shape)}")
        if mode == "circular" and (lo > s or hi > s):
            raise RuntimeError(f"pad: padding value ({lo}, {hi}) at dimension {d} of input "
                               f"{_shape_str(shape)} causes wrapping around more than once in "
                               "circular mode")
        if mode == "replicate" and s == 0:
            raise RuntimeError(f"pad: cannot replicate-pad the empty dimension {d} of input "
                               f"{_shape_str(shape)}")
    if all(lo == 0 and hi == 0 for lo, hi in widths):
        return input.clone()
    return PadNd.apply(input, tuple(widths), npmode)


_pad = pad


def constant_pad_nd(input, pad, value=0):
    """Constant padding of the last ``len(pad) // 2`` dims (negative widths crop)."""
    return _pad(input, pad, "constant", value)
