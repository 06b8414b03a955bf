"""Extrema: max/min (values and indices, or ``maximum`` with a tensor), amax/amin, aminmax,
argmax/argmin, median/nanmedian.

Ops whose result picks input elements route the gradient to the picked element (with
``dim``) or split it evenly among ties (without, and for amax/amin), as PyTorch does.
Results with indices are named tuples of the ``ktrain.return_types`` family.
"""
from __future__ import annotations

from collections import namedtuple

from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ._dims import (_check_nonempty, _check_numel, _int64, _one_dim, expand_back,
                    keepdim_shape, norm_dims)
from .piecewise import maximum, minimum, where

__all__ = ["max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "median", "nanmedian"]


def _rt(name, fields):
    cls = namedtuple(name, fields)
    cls.__module__ = "ktrain.return_types"
    cls.__doc__ = f"Result of ktrain.{name}: a tuple with fields {', '.join(fields)}."
    return cls


_RT = {n: _rt(n, ("values", "indices")) for n in ("max", "min", "median", "nanmedian")}
_AminmaxRT = _rt("aminmax", ("min", "max"))


# ---------------------------------------------------------------------- max / min / median


def _median_index(xp, a, axis, propagate_nan):
    """Index (keepdim shape) of the lower median along ``axis``; NaN-aware."""
    n = a.shape[axis]
    order = xp.argsort(a, axis=axis, kind="stable")  # NaNs sort last
    kshape = keepdim_shape(a.shape, (axis,))
    if a.dtype.kind == "f":
        n_nan = xp.isnan(a).sum(axis=axis, keepdims=True)
        valid = n - n_nan
        if propagate_nan:  # median: any NaN makes the result NaN (the first NaN's index)
            pos = xp.where(n_nan > 0, valid, (n - 1) // 2)
        else:  # nanmedian: the lower median of the non-NaN values
            pos = xp.maximum(valid - 1, 0) // 2
    else:
        pos = xp.full(kshape, (n - 1) // 2, dtype=_int64)
    return xp.take_along_axis(order, pos.astype(_int64, copy=False), axis=axis)


class _Select(Op):
    """amax / amin / median over ``axes``: the gradient is split evenly among the elements
    equal to the result (NaN matches NaN), as PyTorch's evenly_distribute_backward."""

    save_output = True

    @staticmethod
    def forward(ctx, a, kind, axes, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.meta = (axes, keepdim)
        if kind == "amax":
            return a.max(axis=axes, keepdims=keepdim)
        if kind == "amin":
            return a.min(axis=axes, keepdims=keepdim)
        xp = array_module(a)
        flat = a.reshape(-1)
        if flat.size == 0:
            return xp.full((), xp.nan, a.dtype)
        return flat[_median_index(xp, flat, 0, kind == "median")].reshape(())

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        xd = x._data
        v = ctx.saved_output._data
        if not keepdim:
            v = v.reshape(keepdim_shape(xd.shape, axes))
        mask = xd == v
        if xd.dtype.kind == "f":
            xp = array_module(xd)
            mask |= xp.isnan(xd) & xp.isnan(v)
        w = mask.astype(xd.dtype)
        w /= w.sum(axis=axes, keepdims=True)
        return expand_back(g, xd.shape, axes, keepdim) * Tensor._make(w), None, None, None


class _SelectIndex(Op):
    """max / min / median along one axis: (values, int64 indices); the gradient goes to the
    selected element only."""

    n_outputs = 2
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, a, kind, axis, keepdim):
        xp = array_module(a)
        if kind == "max":
            idx = xp.argmax(a, axis=axis, keepdims=True)
        elif kind == "min":
            idx = xp.argmin(a, axis=axis, keepdims=True)
        else:
            idx = _median_index(xp, a, axis, kind == "median")
        idx = idx.astype(_int64, copy=False)
        vals = xp.take_along_axis(a, idx, axis=axis)
        ctx.meta = (a.shape, axis, keepdim, idx)
        if not keepdim:
            return vals.squeeze(axis), idx.squeeze(axis).copy()
        return vals, idx.copy()

    @staticmethod
    def backward(ctx, g, _g_indices=None):
        shape, axis, keepdim, idx = ctx.meta
        xp = array_module(idx)
        hit = xp.arange(shape[axis]).reshape([-1 if i == axis else 1 for i in range(len(shape))])
        if not keepdim:
            g = g.unsqueeze(axis)
        return where(Tensor._make(hit == idx), g, 0.0), None, None, None


def _select_all(input, kind, op):
    _check_numel(input, op)
    return _Select.apply(input, kind, tuple(range(input._data.ndim)), False)


def _select_dim(input, kind, dim, keepdim, op):
    axis = _one_dim(dim, input, op)
    rt = _RT[op]
    if axis is None:  # a 0-d tensor: itself, at index 0
        return rt(input.clone(), Tensor._make(input._xp().zeros((), _int64)))
    _check_nonempty(input, (axis,), op)
    return rt(*_SelectIndex.apply(input, kind, axis, keepdim))


def max(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """``max(input)``: the largest element. ``max(input, dim, keepdim=False)``: a
    ``(values, indices)`` named tuple. ``max(input, other_tensor)``: ``maximum``.

    Without ``dim`` the gradient is split evenly among tied maxima; with ``dim`` it goes to
    the element at ``indices``.
    """
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return _select_all(input, "amax", "max")
    return _select_dim(input, "max", dim, keepdim, "max")


def min(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """``min(input)``, ``min(input, dim, keepdim=False) -> (values, indices)`` or
    ``min(input, other_tensor)`` (``minimum``); see ``max``."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return _select_all(input, "amin", "min")
    return _select_dim(input, "min", dim, keepdim, "min")


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (all when ``()``); the gradient is split evenly among ties."""
    axes = norm_dims(dim, input._data.ndim, "amax", input._data.shape)
    _check_nonempty(input, axes, "amax")
    return _Select.apply(input, "amax", axes, keepdim)


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim`` (all when ``()``); the gradient is split evenly among ties."""
    axes = norm_dims(dim, input._data.ndim, "amin", input._data.shape)
    _check_nonempty(input, axes, "amin")
    return _Select.apply(input, "amin", axes, keepdim)


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` named tuple of ``amin`` and ``amax`` over ``dim`` (all when None)."""
    d = () if dim is None else dim
    return _AminmaxRT(amin(input, d, keepdim), amax(input, d, keepdim))


def _arg(input, dim, keepdim, op):
    d = input._data
    xp = array_module(d)
    fn = xp.argmax if op == "argmax" else xp.argmin
    if dim is None:
        _check_numel(input, op)
        r = xp.asarray(fn(d.reshape(-1)))
        if keepdim:
            r = r.reshape((1,) * d.ndim)
    else:
        axis = _one_dim(dim, input, op)
        if axis is None:
            r = xp.zeros((), _int64)
        else:
            _check_nonempty(input, (axis,), op)
            r = xp.asarray(fn(d, axis=axis, keepdims=keepdim))
    return Tensor._make(r.astype(_int64, copy=False))


def argmax(input, dim=None, keepdim=False):
    """Index (int64) of the first maximum over ``dim``, or into the flattened input."""
    return _arg(input, dim, keepdim, "argmax")


def argmin(input, dim=None, keepdim=False):
    """Index (int64) of the first minimum over ``dim``, or into the flattened input."""
    return _arg(input, dim, keepdim, "argmin")


def median(input, dim=None, keepdim=False):
    """``median(input)``: the lower median of all elements (NaN if any is NaN).
    ``median(input, dim, keepdim=False)``: a ``(values, indices)`` named tuple."""
    if dim is None:
        return _Select.apply(input, "median", tuple(range(input._data.ndim)), False)
    return _select_dim(input, "median", dim, keepdim, "median")


def nanmedian(input, dim=None, keepdim=False):
    """``median`` that ignores NaN values (NaN only where all values are NaN)."""
    if dim is None:
        return _Select.apply(input, "nanmedian", tuple(range(input._data.ndim)), False)
    return _select_dim(input, "nanmedian", dim, keepdim, "nanmedian")


# ---------------------------------------------------------------------- Tensor methods

for _name, _fn in [("max", max), ("min", min), ("amax", amax), ("amin", amin),
                   ("aminmax", aminmax), ("argmax", argmax), ("argmin", argmin),
                   ("median", median), ("nanmedian", nanmedian)]:
    register_method(_name)(_fn)
