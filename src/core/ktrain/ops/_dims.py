"""The ``dim`` arguments of reductions: normalising them to sorted axes, re-expanding a
reduced gradient, and the checks (floating input, non-empty dims) with PyTorch's messages.

``dim`` may be None (all), an int or a tuple of ints, negative allowed; ``keepdim``
keeps reduced dimensions with size 1.
"""
from __future__ import annotations

import operator as _operator

import numpy as np

from .._tensor import Tensor

_INF = float("inf")
_int64 = np.dtype(np.int64)


def norm_dims(dim, ndim, op="reduction", shape=None):
    """A sorted tuple of non-negative axes for ``dim`` (None or () means all axes)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        dims = dim
    else:
        dims = (dim,)
    n = ndim if ndim > 0 else 1
    where_ = f" for input of shape {list(shape)}" if shape is not None else ""
    out = []
    for d in dims:
        try:
            d = _operator.index(d)
        except TypeError:
            raise TypeError(f"{op}(): dim must be an int or a tuple of ints, got "
                            f"{type(d).__name__} ({d!r})") from None
        if not -n <= d < n:
            raise IndexError(f"{op}(): Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {d}){where_}")
        d = d % n
        if d in out:
            raise RuntimeError(f"{op}(): dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out)) if ndim > 0 else ()


def _one_dim(dim, t, op):
    """The single axis an op like ``max(dim)`` works on; None for a 0-d input."""
    if dim is None or isinstance(dim, (list, tuple)):
        raise TypeError(f"{op}(): dim must be a single int, got {dim!r}")
    axes = norm_dims(dim, t._data.ndim, op, t._data.shape)
    return axes[0] if axes else None


def keepdim_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def expand_back(g: Tensor, shape, axes, keepdim) -> Tensor:
    """Re-insert reduced axes of ``g`` (when not kept) and broadcast it to ``shape``."""
    if not keepdim and axes:
        g = g.reshape(keepdim_shape(shape, axes))
    return g.expand(shape)


def _numel(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _require_float(t, op):
    if not t.is_floating_point():
        raise RuntimeError(f"{op}(): expected a floating point input, got {t.dtype.name} "
                           f"(shape {list(t.shape)}); convert it with .float() or pass dtype=")


def _check_nonempty(t, axes, op):
    shape = t._data.shape
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                             f"(input shape {list(shape)}).")


def _check_numel(t, op):
    if t._data.size == 0:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0"
                           f" (input shape {list(t.shape)}). Specify the reduction dim with the "
                           "'dim' argument.")
