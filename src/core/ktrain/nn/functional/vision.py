"""Resampling: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, area),
``upsample`` aliases, ``pixel_shuffle`` / ``pixel_unshuffle``.

``interpolate`` checks its arguments, computes the output size and the per-axis
sampling scales, builds the per-axis matrices (``ops.resample``: 1, 2 or 4 non-zeros
per row, PyTorch's source-index formulas) and applies one op: ``Separable`` (two GEMMs)
for the linear modes, ``NearestGather`` for the nearest ones, adaptive average pooling
for 'area'. The pixel shuffles are a reshape and a permute.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...amp import autocast_mode as _amp
from ...ops.resample import (NearestGather, Separable, _cubic_matrix, _linear_matrix,
                             _nearest_index, _one_hot)
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


# ====================================================================== interpolate


def _sizes(input, size, scale_factor, recompute_scale_factor, dim):
    sp = list(input._data.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        out = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(out) != dim:
            raise ValueError(f"interpolate: input and output must have the same number of "
                             f"spatial dimensions, but got input with spatial dimensions of "
                             f"{sp} and output size of {out}. Please provide input tensor in "
                             f"(N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             f"...,oK) format.")
        out = [int(v) for v in out]
        return out, [None] * dim
    if scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    sf = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
    if len(sf) != dim:
        raise ValueError(f"interpolate: input and scale_factor must have the same number of "
                         f"spatial dimensions, but got input with spatial dimensions of {sp} "
                         f"and scale_factor of shape {sf}. Please provide input tensor in "
                         f"(N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                         f"format.")
    sf = [float(s) for s in sf]
    out = [int(math.floor(float(n) * s)) for n, s in zip(sp, sf)]
    if recompute_scale_factor:
        sf = [None] * dim
    return out, sf


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) ``input``.

    Args:
        size: output spatial size (int or tuple), or
        scale_factor: multiplier(s); the output size is ``floor(in * scale_factor)``, and
            the sampling uses ``1 / scale_factor`` unless ``recompute_scale_factor=True``
            (then it uses in/out from the computed size).
        mode: 'nearest' (PyTorch's legacy rounding), 'nearest-exact', 'linear' (3-D
            input), 'bilinear', 'bicubic' (4-D), 'area' (adaptive average pooling).
        align_corners: linear modes only. True maps corner pixel centres onto each other
            (src = dst * (in - 1) / (out - 1)); False (default) uses half-pixel centres.

    Example::

        >>> F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor input, got {type(input).__name__}")
    if _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("interpolate", input)
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}; expected one of "
                                  f"{' | '.join(_MODES)}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    nd = input._data.ndim
    dim = nd - 2
    if dim not in (1, 2):
        if mode == "trilinear" or dim == 3:
            raise NotImplementedError(f"interpolate: 5D inputs (mode {mode!r}) are not "
                                      "supported; use 3D or 4D inputs")
        raise ValueError(f"interpolate: only 3D and 4D input tensors are supported (got "
                         f"{nd}D, input shape {list(input.shape)}) for the modes: "
                         f"{' | '.join(_MODES)} (got {mode})")
    need = _MODE_DIMS.get(mode)
    if need is not None and need != dim:
        raise NotImplementedError(f"Got {nd}D input, but {mode} mode needs {need + 2}D input")
    if not input.is_floating_point() and mode not in ("nearest", "nearest-exact"):
        raise RuntimeError(f"interpolate: mode {mode!r} needs a floating point input, got "
                           f"{input.dtype}")
    out, sf = _sizes(input, size, scale_factor, recompute_scale_factor, dim)
    if any(v <= 0 for v in out):
        raise RuntimeError(f"interpolate: output size {out} must be positive (input shape "
                           f"{list(input.shape)})")
    if mode == "area":
        return (adaptive_avg_pool1d if dim == 1 else adaptive_avg_pool2d)(input, out)
    x = input.unsqueeze(2) if dim == 1 else input
    in_hw = x._data.shape[2:]
    if dim == 1:
        out, sf = [1] + out, [None] + sf
    dt = x._data.dtype if x.is_floating_point() else np.float32
    # the matrices are built in float64/float32 (PyTorch's accumulation type) and stored
    # in the input's dtype
    bdt = np.float64 if dt == np.float64 else np.float32
    xp = array_module(x._data)
    if mode in ("nearest", "nearest-exact"):
        idx = [None if n == o and s in (None, 1.0) else
               _nearest_index(n, o, s, mode == "nearest-exact")
               for n, o, s in zip(in_hw, out, sf)]
        mats = [None if i is None else xp.asarray(_one_hot(i, n, dt))
                for i, n in zip(idx, in_hw)]
        idx = [None if i is None else xp.asarray(i) for i in idx]
        y = NearestGather.apply(x, idx[0], idx[1], mats[0], mats[1])
    else:
        build = _cubic_matrix if mode == "bicubic" else _linear_matrix
        # an axis that keeps its size is the identity (PyTorch short-cuts it too)
        mats = [None if n == o and (mode != "bicubic" or align_corners or s in (None, 1.0))
                else xp.asarray(build(n, o, s, align_corners, bdt).astype(dt))
                for n, o, s in zip(in_hw, out, sf)]
        y = Separable.apply(x, mats[0], mats[1]) if mats[0] is not None or \
            mats[1] is not None else x.clone()
    return y.squeeze(2) if dim == 1 else y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use "
                  "nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use "
                  "nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ====================================================================== pixel shuffle


def _factor(v, op, what):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise RuntimeError(f"{op} expects {what} to be a positive integer, got {v!r}")
    return int(v)


def pixel_shuffle(input, upscale_factor):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r): channel blocks become spatial blocks."""
    r = _factor(upscale_factor, "pixel_shuffle", "upscale_factor")
    s = tuple(input.shape)
    if len(s) < 3:
        raise RuntimeError(f"pixel_shuffle expects its input to have at least 3 dimensions, "
                           f"but got input with {len(s)} dimension(s)")
    c, h, w = s[-3:]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{c} is not divisible by {r * r}")
    b = s[:-3]
    nb = len(b)
    y = input.reshape(b + (c // (r * r), r, r, h, w))
    y = y.permute(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return y.reshape(b + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of :func:`pixel_shuffle`."""
    r = _factor(downscale_factor, "pixel_unshuffle", "downscale_factor")
    s = tuple(input.shape)
    if len(s) < 3:
        raise RuntimeError(f"pixel_unshuffle expects its input to have at least 3 "
                           f"dimensions, but got input with {len(s)} dimension(s)")
    c, h, w = s[-3:]
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} and input.size(-1)={w} "
                           f"are not both divisible by {r}")
    b = s[:-3]
    nb = len(b)
    y = input.reshape(b + (c, h // r, r, w // r, r))
    y = y.permute(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return y.reshape(b + (c * r * r, h // r, w // r))
