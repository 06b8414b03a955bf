"""Reductions: sum and mean (more reductions join this module).

``dim`` may be None (all), an int or a tuple of ints, negative allowed; ``keepdim``
keeps reduced dimensions with size 1. Backward re-expands the gradient over the
reduced dimensions.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor, register_method
from ..autograd.function import Op

__all__ = ["sum", "mean"]


def norm_dims(dim, ndim, op="reduction"):
    """A sorted tuple of non-negative axes for ``dim`` (None means all axes)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        dims = dim
    else:
        dims = (dim,)
    n = ndim if ndim > 0 else 1
    out = []
    for d in dims:
        d = int(d)
        if not -n <= d < n:
            raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {d})")
        d = d % n
        if d in out:
            raise RuntimeError(f"{op}: dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out)) if ndim > 0 else ()


def keepdim_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def expand_back(g: Tensor, shape, axes, keepdim) -> Tensor:
    """Re-insert reduced axes of ``g`` (when not kept) and broadcast it to ``shape``."""
    if not keepdim and axes:
        g = g.reshape(keepdim_shape(shape, axes))
    return g.expand(shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, a, axes, keepdim, npd):
        ctx.meta = (a.shape, axes, keepdim)
        return a.sum(axis=axes, keepdims=keepdim, dtype=npd)

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim = ctx.meta
        return expand_back(g, shape, axes, keepdim), None, None, None


def _sum_dtype(t, dtype):
    if dtype is not None:
        return B.to_numpy_dtype(dtype)
    k = t._data.dtype.kind
    if k in "biu":  # integer sums accumulate in int64, as in PyTorch
        return np.dtype(np.int64)
    return None


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all dims when None). Integer inputs sum in int64."""
    axes = norm_dims(dim, input._data.ndim, "sum")
    return Sum.apply(input, axes, keepdim, _sum_dtype(input, dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over ``dim``; floating inputs only (as in PyTorch)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name}")
    axes = norm_dims(dim, input._data.ndim, "mean")
    n = 1
    for a in axes:
        n *= input._data.shape[a]
    s = Sum.apply(input, axes, keepdim, None)
    return s / n if n != 1 else s * 1.0


register_method("sum")(sum)
register_method("mean")(mean)
