"""Dropout: ``F.dropout`` (elementwise), ``F.dropout1d/2d/3d`` (whole channels),
``F.alpha_dropout`` and ``F.feature_alpha_dropout`` (SELU-preserving).

Masks are drawn from ktrain's default generator of the input's device (so
``ktrain.manual_seed`` makes them reproducible); kept values are scaled by ``1 / (1 - p)``
so the expectation is unchanged. Outside training, or with ``p == 0``, the input is
returned as is, as PyTorch does. Dropout needs no op of its own: the mask is drawn as one
raw array and applied with the ``mul`` op (``mul_`` in place), whose backward is the
mask again.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import _backend as B
from ... import _fast
from ..._tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # -SELU's negative saturation value, scale * alpha


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep(input, shape, p, value=1.0):
    """A float array of ``input``'s dtype: ``value`` with probability ``1 - p``, else 0."""
    from ...random import rand

    dt = input._data.dtype
    draw = B.float64 if dt == np.float64 else B.float32
    u = rand(*shape, dtype=draw, device=input.device)._data
    if u.dtype == dt and _fast.use(u) and u.flags.c_contiguous:  # one compiled pass
        from ...ops import _act_kernels as K

        K.dropout_mask(u.reshape(-1), dt.type(1.0 - p), dt.type(value), u.reshape(-1))
        return u
    keep = u < (1.0 - p)
    if u.dtype == dt:
        xp = B.array_module(u)
        return xp.multiply(keep, dt.type(value), out=u)
    m = keep.astype(dt)
    if value != 1.0:
        m *= dt.type(value)
    return m


def _scaled_mask(input, shape, p):
    return Tensor._make(_keep(input, shape, p, 1.0 / (1.0 - p)))


def _apply(input, mask, inplace):
    if inplace:
        return input.mul_(mask)
    return input * mask


def _dropout(input, p, training, inplace, shape):
    _check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if not input.is_floating_point():
        raise RuntimeError(f"dropout: expected a floating point input, got {input.dtype.name}")
    if p == 1.0:
        return _apply(input, Tensor._make(input._xp().zeros((), input._data.dtype)), inplace)
    return _apply(input, _scaled_mask(input, shape, p), inplace)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    return _dropout(input, p, training, inplace, tuple(input.shape))


def _feature_shape(input):
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def _feature(input, p, training, inplace):
    return _dropout(input, p, training, inplace, _feature_shape(input))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` (or unbatched ``(C, L)``) inputs."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input (shape "
            f"{list(input.shape)}). Note that dropout1d exists to provide channel-wise dropout "
            "on inputs with 1 spatial dimension, a channel dimension, and an optional batch "
            "dimension (i.e. 2D or 3D inputs).")
    if input.ndim == 2:
        if inplace:
            _feature(input.unsqueeze(0), p, training, True)
            return input
        return _feature(input.unsqueeze(0), p, training, False).squeeze(0)
    return _feature(input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` inputs (a 3-D input is taken as
    ``(N, C, L)``, as PyTorch does, with its warning)."""
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead. Note "
                      "that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _feature(input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``) inputs."""
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release. Note that "
                      "dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", stacklevel=2)
    if input.ndim == 4:
        if inplace:
            _feature(input.unsqueeze(0), p, training, True)
            return input
        return _feature(input.unsqueeze(0), p, training, False).squeeze(0)
    return _feature(input, p, training, inplace)


def _alpha(input, p, training, inplace, shape):
    _check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _apply(input, Tensor._make(input._xp().zeros((), input._data.dtype)), inplace)
    keep = _keep(input, shape, p)
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p))
    # y = x * keep * a + (keep - 1) * alpha * a + alpha * a * p (PyTorch's affine correction)
    shift = (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p
    keep *= keep.dtype.type(a)
    mask, shift = Tensor._make(keep), Tensor._make(shift.astype(keep.dtype, copy=False))
    if inplace:
        return input.mul_(mask).add_(shift)
    return input * mask + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps the mean and variance of SELU activations: dropped values are set
    to SELU's negative saturation and an affine correction is applied."""
    return _alpha(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """``alpha_dropout`` of whole channels."""
    return _alpha(input, p, training, inplace, _feature_shape(input))
