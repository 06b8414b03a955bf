"""Pooling: max/avg pooling (1-D and 2-D), adaptive pooling, max unpooling, PyTorch's
signatures, checks and output sizes.

Each wrapper validates its arguments, builds the window geometry (a 1-D pool is a 2-D
one over a height-1 image) and applies one op of ``ops.pool`` (``MaxPool``,
``MaxPoolWithIndices``, ``AvgPool``, ``AdaptiveMaxPool``, ``ScatterFlat`` for unpooling)
or, for adaptive average pooling, ``ops.resample.Separable`` with averaging matrices.
"""
from __future__ import annotations

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...ops.pool import (AdaptiveMaxPool, AvgPool, AvgScatter, GatherFlat,  # noqa: F401
                         MaxPool, MaxPoolWithIndices, ScatterFlat, _adaptive_matrix,
                         _avg_divisor, _pool_len, _PoolGeom)
from ...ops.resample import Separable  # noqa: F401  (its old path)
from .conv import _ntuple

__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d"]


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
    """``adaptive_max_pool2d(..., return_indices=True)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    """``adaptive_max_pool1d(..., return_indices=True)``."""
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
