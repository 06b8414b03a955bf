"""Pooling: max/avg pooling (1-D and 2-D), adaptive pooling, max unpooling.

Windows are strided views of the (padded) input; a pooling op loops over the kh*kw
kernel offsets, each step one whole-tensor operation (never a loop over pixels). Max
pooling finds which offset won (the first one on ties, NaN wins, as PyTorch) and turns it
into PyTorch's flat per-plane indices; its backward scatters the gradient to those
positions (one fancy assignment for disjoint windows, a ``bincount`` scatter-add where
windows overlap) and that scatter's own backward is the matching gather, so
higher-order gradients work. Average pooling's backward spreads ``g / divisor`` through
the same strided windows.
Adaptive average pooling is separable: ``P_h @ x @ P_w.T`` with averaging matrices, which
also serves bilinear/nearest interpolation (``Separable``).
"""
from __future__ import annotations

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...autograd.function import Op
from .conv import _ntuple

__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d"]


# ====================================================================== geometry


def _pool_len(n, k, s, p, d, ceil):
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:  # the last window must start inside the input
        o -= 1
    return o


class _PoolGeom(tuple):
    """(kernel, stride, padding, dilation, out_hw, in_hw), each a pair."""

    __slots__ = ()

    def window(self, a, i, j):
        """The view of padded ``a`` seen by kernel offset (i, j) at every output position."""
        (kh, kw), (sh, sw), _, (dh, dw), (ho, wo), _ = self
        return a[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]

    def padded_hw(self):
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = self
        return (max(ph + h, (ho - 1) * sh + dh * (kh - 1) + 1),
                max(pw + w, (wo - 1) * sw + dw * (kw - 1) + 1))

    @property
    def overlapping(self):
        (kh, kw), (sh, sw), _, (dh, dw), _, _ = self
        return (kh - 1) * dh + 1 > sh or (kw - 1) * dw + 1 > sw


def _pad_fill(xp, x, geom, value):
    """``x`` inside a buffer of the padded size filled with ``value`` (or ``x`` itself)."""
    _, _, (ph, pw), _, _, (h, w) = geom
    hn, wn = geom.padded_hw()
    if hn == h and wn == w:
        return x
    n, c = x.shape[:2]
    out = xp.full((n, c, hn, wn), value, x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _lowest(dtype):
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


# ====================================================================== max pooling


def _max_pool(x, geom, need_arg):
    """(out, arg) where arg[..] is the winning kernel offset i*kw + j (or None)."""
    xp = array_module(x)
    xpd = _pad_fill(xp, x, geom, _lowest(x.dtype))
    kh, kw = geom[0]
    offs = [(i, j) for i in range(kh) for j in range(kw)]
    out = geom.window(xpd, 0, 0).copy()
    for i, j in offs[1:]:
        xp.maximum(out, geom.window(xpd, i, j), out=out)  # NaN propagates, as PyTorch
    if not need_arg:
        return out, None
    # the first offset holding the max (earlier offsets win ties) = the number of offsets
    # before the first hit: one compare, one and-not and one add per offset (a masked
    # copyto per offset, the obvious way, ran ~8x slower for 2x2 windows)
    arg = xp.zeros(out.shape, np.uint8 if kh * kw < 256 else np.int32)
    last = len(offs) - 1
    valid = _valid_masks(xp, geom)
    missed = xp.ones(out.shape, bool)  # no offset so far held the max
    hit = xp.empty(out.shape, bool)
    for k in range(last):  # the last offset wins where no earlier one did
        i, j = offs[k]
        xp.equal(geom.window(xpd, i, j), out, out=hit)
        if valid[k] is not None:  # a padding cell never wins (it could tie with -inf)
            hit &= valid[k]
        xp.greater(missed, hit, out=missed)  # missed & ~hit
        xp.add(arg, missed, out=arg)
    if x.dtype.kind not in "iub" and bool(xp.isnan(out).any()):  # a NaN window: first NaN
        for k in range(last, -1, -1):
            i, j = offs[k]
            xp.copyto(arg, k, where=xp.isnan(geom.window(xpd, i, j)))
    return out, arg


def _valid_masks(xp, geom):
    """Per kernel offset: (Ho, Wo) mask of the outputs whose cell lies inside the input,
    or None when all do."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = geom
    out = []
    for i in range(kh):
        r = np.arange(ho) * sh - ph + i * dh
        rv = (r >= 0) & (r < h)
        for j in range(kw):
            c = np.arange(wo) * sw - pw + j * dw
            cv = (c >= 0) & (c < w)
            out.append(None if rv.all() and cv.all() else xp.asarray(rv[:, None] & cv))
    return out


def _flat_indices(xp, arg, geom):
    """PyTorch's indices: the flat position h * W + w of each max in its input plane."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = geom
    base = (np.arange(ho)[:, None] * sh - ph) * w + (np.arange(wo) * sw - pw)
    k = np.arange(kh * kw)
    table = (k // kw) * dh * w + (k % kw) * dw
    return xp.asarray(table)[arg] + xp.asarray(base)


class MaxPool(Op):
    """Max over the windows of a (N, C, H, W) input. Backward scatters the gradient to
    each window's (first) maximum through PyTorch's flat indices (``ScatterFlat``)."""

    @staticmethod
    def compute(x, geom):
        return _max_pool(x, geom, False)[0]

    @staticmethod
    def forward(ctx, x, geom):
        out, arg = _max_pool(x, geom, True)
        ctx.meta = (_flat_indices(array_module(x), arg, geom), geom)
        return out

    @staticmethod
    def backward(ctx, g, *_):
        idx, geom = ctx.meta
        return ScatterFlat.apply(g, idx, geom[5], not geom.overlapping), None


class MaxPoolWithIndices(MaxPool):
    """``MaxPool`` that also returns PyTorch's flat int64 indices (not differentiable)."""

    n_outputs = 2
    nondiff_outputs = (1,)

    @staticmethod
    def compute(x, geom):
        out, arg = _max_pool(x, geom, True)
        return out, _flat_indices(array_module(x), arg, geom)

    @staticmethod
    def forward(ctx, x, geom):
        out, arg = _max_pool(x, geom, True)
        idx = _flat_indices(array_module(x), arg, geom)
        ctx.meta = (idx, geom)
        return out, idx


# ====================================================================== average pooling


def _avg_divisor(xp, geom, count_include_pad, divisor_override, dtype):
    """Per-output divisor (Ho, Wo) as PyTorch computes it, or a Python number."""
    if divisor_override:
        return float(divisor_override)
    (kh, kw), (sh, sw), (ph, pw), _, (ho, wo), (h, w) = geom

    def axis(o, k, s, p, n):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        full = end - start
        valid = np.minimum(end, n) - np.maximum(start, 0)
        return full if count_include_pad else valid

    dh, dw = axis(ho, kh, sh, ph, h), axis(wo, kw, sw, pw, w)
    if (dh == dh[0]).all() and (dw == dw[0]).all():
        return float(dh[0] * dw[0])
    return xp.asarray((dh[:, None] * dw[None, :]).astype(dtype))


def _avg_pool(x, geom, div):
    xp = array_module(x)
    xpd = _pad_fill(xp, x, geom, 0)
    kh, kw = geom[0]
    out = geom.window(xpd, 0, 0).copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                out += geom.window(xpd, i, j)
    if isinstance(div, float):
        out *= out.dtype.type(1.0 / div)
    else:
        out /= div
    return out


def _avg_scatter(g, geom, div):
    """Adjoint of ``_avg_pool``: ``g / div`` spread over each window."""
    xp = array_module(g)
    n, c = g.shape[:2]
    _, _, (ph, pw), _, _, (h, w) = geom
    hn, wn = geom.padded_hw()
    gd = g * g.dtype.type(1.0 / div) if isinstance(div, float) else g / div
    kh, kw = geom[0]
    if not geom.overlapping and (hn, wn) == (h, w):
        dx = xp.zeros((n, c, h, w), g.dtype)
        for i in range(kh):
            for j in range(kw):
                geom.window(dx, i, j)[...] = gd
        return dx
    dx = xp.zeros((n, c, hn, wn), g.dtype)
    for i in range(kh):
        for j in range(kw):
            geom.window(dx, i, j)[...] += gd
    if (hn, wn) != (h, w):
        dx = dx[:, :, ph:ph + h, pw:pw + w].copy()
    return dx


class AvgPool(Op):
    @staticmethod
    def compute(x, geom, div):
        return _avg_pool(x, geom, div)

    @staticmethod
    def forward(ctx, x, geom, div):
        ctx.meta = (geom, div)
        return _avg_pool(x, geom, div)

    @staticmethod
    def backward(ctx, g):
        return AvgScatter.apply(g, *ctx.meta), None, None


class AvgScatter(Op):
    @staticmethod
    def forward(ctx, g, geom, div):
        ctx.meta = (geom, div)
        return _avg_scatter(g, geom, div)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool.apply(gg, *ctx.meta), None, None


# ====================================================================== separable linear maps


def _sep_apply(x, ah, aw):
    """``ah @ x @ aw.T`` over the last two dims of (N, C, H, W); ``None`` = identity."""
    xp = array_module(x)
    n, c, h, w = x.shape
    t = x
    if aw is not None:
        t = xp.matmul(x.reshape(n * c * h, w), aw.T)
        w = aw.shape[0]
    if ah is not None:
        t = xp.tensordot(ah, t.reshape(n * c, h, w), axes=([1], [1]))  # (oh, N*C, w)
        h = ah.shape[0]
        t = xp.ascontiguousarray(t.transpose(1, 0, 2))
    if t.dtype != x.dtype:  # numpy's bfloat16 matmul answers in float32
        t = t.astype(x.dtype)
    return t.reshape(n, c, h, w)


class Separable(Op):
    """``ah @ x @ aw.T`` on the two spatial dims (adaptive average pooling, interpolation).

    ``ah`` (Ho, H) and ``aw`` (Wo, W) are raw arrays (or None for the identity); the
    backward is the same op with the transposed matrices.
    """

    @staticmethod
    def compute(x, ah, aw):
        return _sep_apply(x, ah, aw)

    @staticmethod
    def forward(ctx, x, ah, aw):
        ctx.mats = (ah, aw)
        return _sep_apply(x, ah, aw)

    @staticmethod
    def backward(ctx, g):
        ah, aw = ctx.mats
        return Separable.apply(g, None if ah is None else ah.T.copy(),
                               None if aw is None else aw.T.copy()), None, None


def _adaptive_matrix(n, o, dtype):
    """(o, n) averaging matrix of PyTorch's adaptive bins [floor(i n/o), ceil((i+1) n/o))."""
    i = np.arange(o)
    start = (i * n) // o
    end = ((i + 1) * n + o - 1) // o
    cols = np.arange(n)
    m = (cols >= start[:, None]) & (cols < end[:, None])
    return (m / (end - start)[:, None]).astype(dtype)


def _adaptive_bins(n, o):
    i = np.arange(o)
    return (i * n) // o, ((i + 1) * n + o - 1) // o


# ====================================================================== adaptive max pooling


def _adaptive_gather_index(n, o):
    """(o, kmax) positions of each bin, the last one repeated to a common length."""
    start, end = _adaptive_bins(n, o)
    kmax = int((end - start).max())
    idx = start[:, None] + np.arange(kmax)[None, :]
    return np.minimum(idx, end[:, None] - 1)


def _adaptive_max(x, out_hw):
    xp = array_module(x)
    n, c, h, w = x.shape
    oh, ow = out_hw
    ih = _adaptive_gather_index(h, oh)
    iw = _adaptive_gather_index(w, ow)
    kh, kw = ih.shape[1], iw.shape[1]
    v = x[:, :, xp.asarray(ih.reshape(oh, kh, 1, 1)), xp.asarray(iw.reshape(1, 1, ow, kw))]
    v = v.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw)  # (N, C, oh, ow, kh*kw)
    a = xp.argmax(v, axis=-1)[..., None]  # first max; NaN wins
    out = xp.take_along_axis(v, a, axis=-1)[..., 0]
    a = a[..., 0]
    rows = xp.asarray(ih)[xp.arange(oh)[:, None], a // kw]
    cols = xp.asarray(iw)[xp.arange(ow)[None, :], a % kw]
    return out, rows * w + cols


def _scatter_flat(g, idx, hw, unique=False):
    """zeros (N, C, H, W) with ``g`` added at the flat per-plane positions ``idx``.

    ``unique`` promises no position repeats within a plane (non-overlapping windows):
    one fancy assignment. Otherwise duplicates must add up, and ``bincount`` is the
    vectorised scatter-add (it accumulates in float64; the result is cast back).
    """
    xp = array_module(g)
    n, c = g.shape[:2]
    h, w = hw
    plane = (xp.arange(n * c, dtype=np.int64) * (h * w)).reshape((n, c) + (1,) * (idx.ndim - 2))
    flat = (idx + plane).reshape(-1)
    if unique:
        out = xp.zeros(n * c * h * w, g.dtype)
        out[flat] = g.reshape(-1)
        return out.reshape(n, c, h, w)
    out = xp.bincount(flat, weights=g.reshape(-1), minlength=n * c * h * w)
    return out.astype(g.dtype, copy=False).reshape(n, c, h, w)


def _gather_flat(gg, idx):
    xp = array_module(gg)
    n, c = gg.shape[:2]
    return xp.take_along_axis(gg.reshape(n, c, -1), idx.reshape(n, c, -1),
                              axis=2).reshape(idx.shape)


class AdaptiveMaxPool(Op):
    n_outputs = 2
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, x, out_hw):
        out, idx = _adaptive_max(x, out_hw)
        ctx.meta = (idx, x.shape[2:])
        return out, idx

    @staticmethod
    def backward(ctx, g, _):
        idx, hw = ctx.meta
        return ScatterFlat.apply(g, idx, hw), None


class ScatterFlat(Op):
    """zeros(N, C, *hw) with ``g`` added at flat per-plane indices (adjoint: GatherFlat)."""

    @staticmethod
    def forward(ctx, g, idx, hw, unique=False):
        ctx.idx = idx
        return _scatter_flat(g, idx, hw, unique)

    @staticmethod
    def backward(ctx, gg):
        return GatherFlat.apply(gg, ctx.idx), None, None, None


class GatherFlat(Op):
    """``x`` read at flat per-plane indices ``idx`` (N, C, ...); adjoint: ScatterFlat."""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.meta = (idx, x.shape[2:])
        return _gather_flat(x, idx)

    @staticmethod
    def backward(ctx, g):
        idx, hw = ctx.meta
        return ScatterFlat.apply(g, idx, tuple(hw)), None


# ====================================================================== argument handling


def _as_batched(input, nsp, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    nd = input._data.ndim
    if nd not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"{op}: expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) "
                           f"input, but got input of shape {list(input.shape)}")
    x = input if nd == nsp + 2 else input.unsqueeze(0)
    if nsp == 1:
        x = x.unsqueeze(2)
    return x, nd == nsp + 2


def _unbatch(y, batched, nsp):
    if nsp == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


def _geom(x, kernel_size, stride, padding, dilation, ceil_mode, nsp, op, avg=False):
    k = _ntuple(kernel_size, nsp, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _ntuple(stride, nsp, "stride", op)
    p = _ntuple(padding, nsp, "padding", op)
    d = _ntuple(dilation, nsp, "dilation", op)
    if any(v <= 0 for v in k + s + d):
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive, got "
                           f"kernel_size={list(k)}, stride={list(s)}, dilation={list(d)}")
    for kk, pp, dd in zip(k, p, d):
        limit = kk // 2 if avg else ((kk - 1) * dd + 1) // 2
        if pp < 0 or pp > limit:
            what = "kernel size" if avg else "effective kernel size"
            raise RuntimeError(f"{op}: pad should be at most half of {what}, but got "
                               f"padding={list(p)}, kernel_size={list(k)}"
                               + ("" if avg else f" and dilation={list(d)}"))
    if nsp == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    h, w = x._data.shape[2:]
    out = (_pool_len(h, k[0], s[0], p[0], d[0], ceil_mode),
           _pool_len(w, k[1], s[1], p[1], d[1], ceil_mode))
    if out[0] <= 0 or out[1] <= 0:
        sz = [h, w][2 - nsp:]
        osz = list(out)[2 - nsp:]
        raise RuntimeError(f"{op}: given input size {x._data.shape[1]}x"
                           f"{'x'.join(map(str, sz))}, the calculated output size "
                           f"{x._data.shape[1]}x{'x'.join(map(str, osz))} is too small "
                           f"(kernel_size={list(k[2 - nsp:])}, padding={list(p[2 - nsp:])})")
    return _PoolGeom((k, s, p, d, out, (h, w)))


def _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 nsp, op):
    x, batched = _as_batched(input, nsp, op)
    geom = _geom(x, kernel_size, stride, padding, dilation, ceil_mode, nsp, op)
    if return_indices:
        out, idx = MaxPoolWithIndices.apply(x, geom)
        return _unbatch(out, batched, nsp), _unbatch(idx, batched, nsp)
    return _unbatch(MaxPool.apply(x, geom), batched, nsp)


def _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, nsp, op):
    x, batched = _as_batched(input, nsp, op)
    if not x.is_floating_point():
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    geom = _geom(x, kernel_size, stride, padding, 1, ceil_mode, nsp, op, avg=True)
    div = _avg_divisor(array_module(x._data), geom, count_include_pad, divisor_override,
                       x._data.dtype)
    return _unbatch(AvgPool.apply(x, geom, div), batched, nsp)


def _adaptive_size(output_size, hw, nsp, op):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nsp:
            raise ValueError(f"{op}: output_size must have {nsp} elements, got "
                             f"{list(output_size)}")
        sizes = [hw[i] if v is None else v for i, v in enumerate(output_size)]
    else:
        sizes = [output_size] * nsp
    sizes = _ntuple(tuple(sizes), nsp, "output_size", op)
    if any(v < 0 for v in sizes):
        raise RuntimeError(f"{op}: output_size must be non-negative, got {list(sizes)}")
    return ((1,) + sizes) if nsp == 1 else sizes


# ====================================================================== public functions


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W) (or unbatched (C, H, W)).

    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the effective
    kernel) pads with -inf; ``ceil_mode`` rounds the output size up. With
    ``return_indices`` also returns, per output, the flat index ``h * W + w`` of the max
    in its input plane (int64), as ``max_unpool2d`` expects. The gradient goes to the
    maximum (the first one on ties).
    """
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, 2, "max_pool2d")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) (or (C, L)); see :func:`max_pool2d`."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, 1, "max_pool1d")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """``max_pool2d(..., return_indices=True)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """``max_pool1d(..., return_indices=True)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over (N, C, H, W) (or (C, H, W)).

    Each output is the window sum divided by: ``divisor_override`` when given, else the
    window size clipped to the padded input (``count_include_pad=True``) or the number of
    real input elements in the window (``False``).
    """
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, 2, "avg_pool2d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L) (or (C, L)); see :func:`avg_pool2d`."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        None, 1, "avg_pool1d")


def _adaptive_avg_nd(input, output_size, nsp, op):
    x, batched = _as_batched(input, nsp, op)
    if not x.is_floating_point():
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    h, w = x._data.shape[2:]
    oh, ow = _adaptive_size(output_size, (h, w)[2 - nsp:], nsp, op)
    if oh == 1 and ow == 1:
        y = x.mean((2, 3), keepdim=True)
    else:
        dt = x._data.dtype
        xp = array_module(x._data)
        ah = None if oh == h else xp.asarray(_adaptive_matrix(h, oh, dt))
        aw = None if ow == w else xp.asarray(_adaptive_matrix(w, ow, dt))
        y = Separable.apply(x, ah, aw) if (ah is not None or aw is not None) else x.clone()
    return _unbatch(y, batched, nsp)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (oh, ow) (an int for both; None keeps the
    input size). Bin i covers [floor(i*H/oh), ceil((i+1)*H/oh)), as PyTorch."""
    return _adaptive_avg_nd(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling of (N, C, L) to length ``output_size``."""
    return _adaptive_avg_nd(input, output_size, 1, "adaptive_avg_pool1d")


def _adaptive_max_nd(input, output_size, return_indices, nsp, op):
    x, batched = _as_batched(input, nsp, op)
    h, w = x._data.shape[2:]
    out_hw = _adaptive_size(output_size, (h, w)[2 - nsp:], nsp, op)
    if 0 in (h, w):
        raise RuntimeError(f"{op}: expected input with non-zero spatial size, got shape "
                           f"{list(input.shape)}")
    oh, ow = out_hw
    if oh and ow and h % oh == 0 and w % ow == 0:  # equal, disjoint bins: a plain max pool
        k = (h // oh, w // ow)
        geom = _PoolGeom((k, k, (0, 0), (1, 1), (oh, ow), (h, w)))
        if return_indices:
            out, idx = MaxPoolWithIndices.apply(x, geom)
        else:
            out, idx = MaxPool.apply(x, geom), None
    else:
        out, idx = AdaptiveMaxPool.apply(x, out_hw)
    out = _unbatch(out, batched, nsp)
    return (out, _unbatch(idx, batched, nsp)) if return_indices else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size (oh, ow), PyTorch's adaptive bins. With
    ``return_indices`` also returns the flat per-plane int64 index of each max."""
    return _adaptive_max_nd(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D adaptive max pooling of (N, C, L) to length ``output_size``."""
    return _adaptive_max_nd(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, nsp, op):
    x, batched = _as_batched(input, nsp, op)
    if not isinstance(indices, Tensor) or indices.shape != input.shape:
        got = list(indices.shape) if isinstance(indices, Tensor) else type(indices).__name__
        raise RuntimeError(f"{op}: expected indices of the input's shape "
                           f"{list(input.shape)}, got {got}")
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected integer indices, got {indices.dtype}")
    k = _ntuple(kernel_size, nsp, "kernel_size", op)
    s = k if stride is None else _ntuple(stride, nsp, "stride", op)
    p = _ntuple(padding, nsp, "padding", op)
    sp = x._data.shape[2:][2 - nsp:]
    default = [(n - 1) * ss - 2 * pp + kk for n, ss, pp, kk in zip(sp, s, p, k)]
    if output_size is None:
        out = default
    else:
        out = list(output_size)[-nsp:]
        for d, (o, dflt, ss) in enumerate(zip(out, default, s)):
            if not dflt - ss < o < dflt + ss:
                raise ValueError(f"{op}: invalid output_size {list(output_size)} (dim {d} "
                                 f"must be between {dflt - ss + 1} and {dflt + ss - 1})")
    hw = (1, out[0]) if nsp == 1 else tuple(out)
    idx = indices._data if batched else indices._data[None]
    if nsp == 1:
        idx = idx[:, :, None]
    size = hw[0] * hw[1]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size):
        raise RuntimeError(f"{op}: found an invalid max index (outside an output plane of "
                           f"{size} elements, output size {list(out)})")
    # PyTorch assigns (a repeated index keeps one value): no summing of duplicates
    y = ScatterFlat.apply(x, idx.astype(np.int64, copy=False), hw, True)
    return _unbatch(y, batched, nsp)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: zeros with ``input`` placed at ``indices``."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 2,
                          "max_unpool2d")


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 1,
                          "max_unpool1d")
