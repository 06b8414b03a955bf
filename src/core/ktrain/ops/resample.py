"""Separable resampling ops: ``Separable`` applies ``ah @ x @ aw.T`` on the two spatial
dims of (N, C, H, W) (adaptive average pooling, linear/cubic interpolation) and
``NearestGather`` gathers rows and columns (nearest interpolation), with the per-axis
matrices built by PyTorch's source-index formulas. The wrappers (``F.interpolate``,
``F.adaptive_avg_pool2d`` ...) are in ``nn.functional.vision`` and ``nn.functional.pool``.

Along each spatial axis an interpolation is a fixed linear map of the input, an
(out, in) matrix with 1 (nearest), 2 (linear) or 4 (cubic) non-zeros per row. Linear
modes apply the two matrices with GEMMs; nearest gathers in the forward pass. Both
backward passes are the transposed matrices through the same GEMMs, which is the
scatter-add the adjoint needs (no per-pixel loop, no ``add.at``).
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from ..autograd.function import Op

__all__: list = []  # op classes only; the public functions live in nn.functional.vision


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
        return _adjoint(g, *ctx.mats), None, None


def _adjoint(g, ah, aw):
    """``Separable`` with the transposed matrices: the backward of both resampling ops."""
    return Separable.apply(g, None if ah is None else ah.T.copy(),
                           None if aw is None else aw.T.copy())


# ====================================================================== per-axis matrices


def _scale(n_in, n_out, sf, align_corners):
    """PyTorch's area_pixel_compute_scale."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / sf if sf is not None and sf > 0 else n_in / n_out


def _nearest_index(n_in, n_out, sf, exact):
    """Source index of each output position (float32 arithmetic, as PyTorch)."""
    if n_out == n_in:
        return np.arange(n_out)
    scale = np.float32(1.0 / sf if sf is not None and sf > 0 else n_in / n_out)
    dst = np.arange(n_out, dtype=np.float32)
    if exact:
        dst = dst + np.float32(0.5)
    src = np.floor(dst * scale).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _one_hot(idx, n_in, dtype):
    m = np.zeros((len(idx), n_in), dtype)
    m[np.arange(len(idx)), idx] = 1
    return m


def _linear_matrix(n_in, n_out, sf, align_corners, dtype):
    """(n_out, n_in) matrix of linear interpolation (PyTorch's indices and lambdas)."""
    m = np.zeros((n_out, n_in), dtype)
    rows = np.arange(n_out)
    if n_out == n_in and not align_corners:
        m[rows, rows] = 1
        return m
    ft = np.dtype(dtype).type
    scale = ft(_scale(n_in, n_out, sf, align_corners))
    dst = rows.astype(dtype)
    src = scale * dst if align_corners else np.maximum(scale * (dst + ft(0.5)) - ft(0.5), 0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    l1 = np.clip(src - i0, 0, 1).astype(dtype)
    i1 = i0 + (i0 < n_in - 1)
    m[rows, i0] = 1 - l1
    m[rows, i1] += l1
    return m


def _cubic_matrix(n_in, n_out, sf, align_corners, dtype):
    """(n_out, n_in) matrix of bicubic interpolation (A = -0.75, clamped borders)."""
    ft = np.dtype(dtype).type
    a = ft(-0.75)
    rows = np.arange(n_out)
    scale = ft(_scale(n_in, n_out, sf, align_corners))
    dst = rows.astype(dtype)
    src = scale * dst if align_corners else scale * (dst + ft(0.5)) - ft(0.5)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - i0, 0, 1).astype(dtype)

    def cc1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def cc2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    coeffs = (cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t))
    m = np.zeros((n_out, n_in), dtype)
    for k, c in enumerate(coeffs):
        m[rows, np.clip(i0 - 1 + k, 0, n_in - 1)] += c
    return m


# ====================================================================== nearest


class NearestGather(Op):
    """``x[:, :, ih][:, :, :, iw]``; backward through the one-hot matrices' transposes."""

    @staticmethod
    def compute(x, ih, iw, ah, aw):
        return _gather(x, ih, iw)

    @staticmethod
    def forward(ctx, x, ih, iw, ah, aw):
        ctx.mats = (ah, aw)
        return _gather(x, ih, iw)

    @staticmethod
    def backward(ctx, g):
        return _adjoint(g, *ctx.mats), None, None, None, None


def _gather(x, ih, iw):
    xp = array_module(x)
    if ih is not None:
        x = xp.take(x, ih, axis=2)
    if iw is not None:
        x = xp.take(x, iw, axis=3)
    return x if ih is not None or iw is not None else x.copy()
