"""Reductions: sum mean var std prod max/min amax/amin argmax/argmin median logsumexp
softmax log_softmax cumsum cumprod norm all/any count_nonzero nansum nanmean aminmax.

``dim`` may be None (all), an int or a tuple of ints, negative allowed; ``keepdim``
keeps reduced dimensions with size 1. Backward re-expands the gradient over the
reduced dimensions (``expand_back``). Ops whose result picks input elements (max, min,
median) route the gradient to the picked element (with ``dim``) or split it evenly among
ties (without, and for amax/amin), as PyTorch does.
"""
from __future__ import annotations

import builtins as _builtins
import operator as _operator
from collections import namedtuple

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, register_method
from ..amp import autocast_mode as _amp
from ..autograd.function import Op
from ._util import inplace
from .arith import maximum, minimum, where

__all__ = ["sum", "mean", "var", "std", "var_mean", "std_mean", "prod", "max", "min", "amax",
           "amin", "aminmax", "argmax", "argmin", "median", "nanmedian", "logsumexp", "softmax",
           "log_softmax", "cumsum", "cumprod", "norm", "all", "any", "count_nonzero", "nansum",
           "nanmean"]

_INF = float("inf")
_int64 = np.dtype(np.int64)


# ---------------------------------------------------------------------- dim helpers


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


def _rt(name, fields):
    cls = namedtuple(name, fields)
    cls.__module__ = "ktrain.return_types"
    cls.__doc__ = f"Result of ktrain.{name}: a tuple with fields {', '.join(fields)}."
    return cls


_RT = {n: _rt(n, ("values", "indices")) for n in ("max", "min", "median", "nanmedian")}
_AminmaxRT = _rt("aminmax", ("min", "max"))


# ---------------------------------------------------------------------- sum / mean


def _sum_compute(a, axes, keepdim, npd):
    return a.sum(axis=axes, keepdims=keepdim, dtype=npd)


class Sum(Op):
    compute = staticmethod(_sum_compute)

    @staticmethod
    def forward(ctx, a, axes, keepdim, npd):
        ctx.meta = (a.shape, axes, keepdim, a.dtype)
        return a.sum(axis=axes, keepdims=keepdim, dtype=npd)

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim, dt = ctx.meta
        if g._data.dtype != dt:  # sum(x, dtype=...) : the gradient keeps the input's dtype
            g = g.to(dt)
        return expand_back(g, shape, axes, keepdim), None, None, None


def _sum_dtype(t, dtype):
    if dtype is not None:
        return B.to_numpy_dtype(dtype)
    k = t._data.dtype.kind
    if k in "biu":  # integer sums accumulate in int64, as in PyTorch
        return _int64
    return None


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all dims when None). Integer and bool inputs sum in int64."""
    if _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("sum", input)
    axes = norm_dims(dim, input._data.ndim, "sum", input._data.shape)
    return Sum.apply(input, axes, keepdim, _sum_dtype(input, dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over ``dim``; floating inputs only (as in PyTorch)."""
    if _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("mean", input)
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name}")
    axes = norm_dims(dim, input._data.ndim, "mean", input._data.shape)
    return Mean.apply(input, axes, keepdim)


def _mean_compute(a, axes, keepdim):
    return a.mean(axis=axes, keepdims=keepdim)


class Mean(Op):
    """One node (``MeanBackward0``): the gradient is spread evenly over the reduced axes."""

    compute = staticmethod(_mean_compute)

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.meta = (a.shape, axes, keepdim, _numel(a.shape, axes))
        return _mean_compute(a, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim, n = ctx.meta
        return expand_back(g / n, shape, axes, keepdim), None, None


# ---------------------------------------------------------------------- var / std


def _var(a, axes, keepdim, n, denom):
    with np.errstate(divide="ignore", invalid="ignore"):
        d = a - a.sum(axis=axes, keepdims=True) / n
        return (d * d).sum(axis=axes, keepdims=keepdim) / denom


def _var_backward(g, x, axes, keepdim, denom):
    scale = 2.0 / denom if denom > 0 else _INF
    d = x - x.mean(axes, keepdim=True)
    return expand_back(g, x.shape, axes, keepdim) * d * scale


class Var(Op):
    """Variance with Bessel-style ``correction`` (``sum((x - mean)^2) / (N - correction)``)."""

    @staticmethod
    def forward(ctx, a, axes, correction, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        n = _numel(a.shape, axes)
        denom = _builtins.max(n - correction, 0)
        ctx.meta = (axes, keepdim, denom)
        return _var(a, axes, keepdim, n, denom)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim, denom = ctx.meta
        return _var_backward(g, x, axes, keepdim, denom), None, None, None


class Std(Op):
    """sqrt(var); its gradient is 0 where the std is 0, as in PyTorch."""

    save_output = True

    @staticmethod
    def forward(ctx, a, axes, correction, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        n = _numel(a.shape, axes)
        denom = _builtins.max(n - correction, 0)
        ctx.meta = (axes, keepdim, denom)
        return array_module(a).sqrt(_var(a, axes, keepdim, n, denom))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim, denom = ctx.meta
        gv = g / (2 * _nonzero(ctx.saved_output))
        return _var_backward(gv, x, axes, keepdim, denom), None, None, None


def _nonzero(t):
    """``t`` with zeros replaced by inf, so ``x / _nonzero(t)`` is 0 there (and so is its grad)."""
    return where(t == 0, _INF, t)


def _var_args(op, input, dim, unbiased, correction):
    _require_float(input, op)
    if isinstance(dim, bool):  # the legacy overload var(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{op}(): got unbiased twice (as dim={dim} and unbiased={unbiased})")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}(): cannot specify both unbiased={unbiased} and "
                           f"correction={correction}; use only correction")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return norm_dims(dim, input._data.ndim, op, input._data.shape), correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``: ``sum((x - mean)^2) / max(0, N - correction)``.

    ``correction`` defaults to 1 (unbiased); the older ``unbiased=False`` means
    ``correction=0``. Example: ``ktrain.var(x, dim=1, keepdim=True)``.
    """
    axes, c = _var_args("var", input, dim, unbiased, correction)
    return Var.apply(input, axes, c, keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``: ``sqrt(var(input, dim, correction=...))``."""
    axes, c = _var_args("std", input, dim, unbiased, correction)
    return Std.apply(input, axes, c, keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(input, ...), mean(input, ...))`` over the same ``dim``."""
    axes, c = _var_args("var_mean", input, dim, unbiased, correction)
    return Var.apply(input, axes, c, keepdim), mean(input, axes, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(input, ...), mean(input, ...))`` over the same ``dim``."""
    axes, c = _var_args("std_mean", input, dim, unbiased, correction)
    return Std.apply(input, axes, c, keepdim), mean(input, axes, keepdim)


# ---------------------------------------------------------------------- prod


class Prod(Op):
    """Product; backward is exact with zeros in the input (no division by zero)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.meta = (axes, keepdim)
        return a.prod(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        shape = x.shape
        G = expand_back(g, shape, axes, keepdim)
        zero = x._data == 0
        if not zero.any():
            return G * expand_back(ctx.saved_output, shape, axes, keepdim) / x, None, None
        # d prod / dx_i = prod_{j != i} x_j = (P1 / x1_i) * Q_i, where x1 is x with zeros
        # replaced by 1, P1 its product, and Q_i the product of the *other* zeros: 1 when
        # there are none, that zero itself (value 0, derivative 1) when there is one, else 0
        # (first derivatives of a product of >= 2 zeros vanish too).
        m = Tensor._make(zero)
        x1 = where(m, 1.0, x)
        p1 = Prod.apply(x1, axes, True)
        others = zero.sum(axis=axes, keepdims=True) - zero  # zeros in the slice except x_i
        ym = where(m, x, 0.0)
        q = where(Tensor._make(others == 0), 1.0,
                  where(Tensor._make(others == 1), ym.sum(axes, keepdim=True) - ym, 0.0))
        return G * (p1 / x1) * q, None, None


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of the elements over ``dim`` (all when None). Integer/bool inputs give int64."""
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(B.int64)
    axes = norm_dims(dim, input._data.ndim, "prod", input._data.shape)
    return Prod.apply(input, axes, keepdim)


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


# ---------------------------------------------------------------------- logsumexp / softmax


class Logsumexp(Op):
    """``log(sum(exp(x)))`` computed as ``m + log(sum(exp(x - m)))`` with m the max."""

    save_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.meta = (axes, keepdim)
        xp = array_module(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            if a.size == 0:  # an empty sum: log(0) = -inf
                return xp.log(xp.exp(a).sum(axis=axes, keepdims=keepdim))
            m = a.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or an inf) must not give inf - inf
            out = xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m
        return out if keepdim else out.reshape([s for i, s in enumerate(a.shape)
                                                 if i not in axes])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        out = expand_back(ctx.saved_output, x.shape, axes, keepdim)
        return expand_back(g, x.shape, axes, keepdim) * (x - out).exp(), None, None


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))``, numerically stable. Integer inputs become float."""
    if not input.is_floating_point():
        input = input.to(B.get_default_dtype())
    axes = norm_dims(dim, input._data.ndim, "logsumexp", input._data.shape)
    return Logsumexp.apply(input, axes, keepdim)


class Softmax(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        if a.size == 0:
            return a.copy()
        xp = array_module(a)
        e = xp.exp(a - a.max(axis=axes, keepdims=True))
        e /= e.sum(axis=axes, keepdims=True)
        return e

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_output
        return y * (g - (g * y).sum(ctx.axes, keepdim=True)), None


class LogSoftmax(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        if a.size == 0:
            return a.copy()
        xp = array_module(a)
        s = a - a.max(axis=axes, keepdims=True)
        s -= xp.log(xp.exp(s).sum(axis=axes, keepdims=True))
        return s

    @staticmethod
    def backward(ctx, g):
        return g - ctx.saved_output.exp() * g.sum(ctx.axes, keepdim=True), None


def _softmax_input(input, dim, dtype, op):
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, op)
    axis = _one_dim(dim, input, op)
    return input, (() if axis is None else (axis,))


def softmax(input, dim, dtype=None):
    """``exp(x) / sum(exp(x), dim)`` (stable); ``dtype`` casts the input first."""
    if dtype is None and _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("softmax", input)
    input, axes = _softmax_input(input, dim, dtype, "softmax")
    return Softmax.apply(input, axes)


def log_softmax(input, dim, dtype=None):
    """``x - logsumexp(x, dim, keepdim=True)`` (stable); ``dtype`` casts the input first."""
    if dtype is None and _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("log_softmax", input)
    input, axes = _softmax_input(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, axes)


# ---------------------------------------------------------------------- cumulative


class Cumsum(Op):
    """Cumulative sum along ``axis`` (from the end when ``reverse``): each is the other's
    backward."""

    @staticmethod
    def forward(ctx, a, axis, reverse):
        ctx.meta = (axis, reverse)
        xp = array_module(a)
        if reverse:
            return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)
        return xp.cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis, reverse = ctx.meta
        return Cumsum.apply(g, axis, not reverse), None, None


class Cumprod(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, axis):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.axis = axis
        return array_module(a).cumprod(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axis = ctx.axis
        # grad_i = sum_{j >= i} g_j out_j / x_i, exact wherever x_i != 0
        rev = Cumsum.apply(g * ctx.saved_output, axis, True)
        zero = x._data == 0
        if not zero.any():
            return rev / x, None
        # at the first zero z of a slice: grad_z = sum_{j >= z} g_j prod_{k <= j, k != z} x_k,
        # a reverse cumsum against the cumprod of x with that zero replaced by 1; past z the
        # formula above gives the right value 0 (out_j = 0 there).
        xp = array_module(zero)
        first = Tensor._make(zero & (xp.cumsum(zero, axis=axis) == 1))
        p = Cumprod.apply(where(first, 1.0, x), axis)
        return where(first, Cumsum.apply(g * p, axis, True),
                     rev / where(Tensor._make(zero), 1.0, x)), None


def _cum_input(input, dim, dtype, op):
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":  # integer cumulative ops accumulate in int64
        input = input.to(B.int64)
    return input, _one_dim(dim, input, op)


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``; integer/bool inputs give int64."""
    input, axis = _cum_input(input, dim, dtype, "cumsum")
    return input.clone() if axis is None else Cumsum.apply(input, axis, False)


def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``; integer/bool inputs give int64."""
    input, axis = _cum_input(input, dim, dtype, "cumprod")
    return input.clone() if axis is None else Cumprod.apply(input, axis)


# ---------------------------------------------------------------------- norm


class Norm(Op):
    """Vector p-norm over ``axes`` (p in {0, 1, 2, inf, -inf} or any other number)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, p, axes, keepdim):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.meta = (p, axes, keepdim)
        xp = array_module(a)
        kw = {"axis": axes, "keepdims": keepdim}
        if p == 2.0:
            return xp.sqrt((a * a).sum(**kw))
        if p == 1.0:
            return xp.abs(a).sum(**kw)
        if p == _INF:
            return xp.abs(a).max(**kw)
        if p == -_INF:
            return xp.abs(a).min(**kw)
        if p == 0.0:
            return (a != 0).sum(**kw).astype(a.dtype)
        with np.errstate(divide="ignore"):
            return (xp.abs(a) ** p).sum(**kw) ** (1.0 / p)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p, axes, keepdim = ctx.meta
        shape = x.shape
        G = expand_back(g, shape, axes, keepdim)
        if p == 0.0:
            return G * 0.0, None, None, None
        if p == 1.0:
            return G * x.sign(), None, None, None
        n = expand_back(ctx.saved_output, shape, axes, keepdim)
        if p == 2.0:  # x / norm, and 0 where the norm is 0 (PyTorch's subgradient)
            return G * x / _nonzero(n), None, None, None
        if p in (_INF, -_INF):  # split evenly among the elements of extreme |x|
            xd = x._data
            mask = (array_module(xd).abs(xd) == n._data).astype(xd.dtype)
            mask /= mask.sum(axis=axes, keepdims=True)
            return G * x.sign() * Tensor._make(mask), None, None, None
        ax = x.abs()
        if p < 1.0:  # |x|^(p-1) blows up at 0, where the subgradient is taken as 0
            z = x == 0
            t = where(z, 0.0, x.sign() * where(z, 1.0, ax) ** (p - 1))
            return G * t * n ** (1.0 - p), None, None, None
        return G * x.sign() * ax ** (p - 1) / _nonzero(n) ** (p - 1), None, None, None


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector norm of ``input`` over ``dim`` (all elements when None).

    ``p``: ``'fro'`` or 2 (Euclidean, the default), 1, 0 (count of non-zeros), ``inf``
    (max |x|), ``-inf`` (min |x|) or any other number (``sum(|x|^p)^(1/p)``).
    The gradient of the 2-norm at 0 is 0, as in PyTorch.
    """
    if _amp.ANY_ACTIVE:
        (input,) = _amp.cast_inputs("norm", input)
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "norm")
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm(): p='nuc' (nuclear norm) is not supported; use "
                                      "the sum of singular values")
        if p != "fro":
            raise ValueError(f"norm(): unknown norm type p={p!r}; expected a number, 'fro' "
                             "or 'nuc'")
        if isinstance(dim, (list, tuple)) and len(dim) > 2:
            raise RuntimeError(f"norm(): p='fro' needs at most 2 dims, got dim={dim}")
        p = 2.0
    p = 2.0 if p is None else float(p)
    axes = norm_dims(dim, input._data.ndim, "norm", input._data.shape)
    if p in (_INF, -_INF):
        _check_nonempty(input, axes, "norm")
    return Norm.apply(input, p, axes, keepdim)


# ---------------------------------------------------------------------- logical / counting


def _logical(input, dim, keepdim, op):
    d = input._data
    axes = norm_dims(dim, d.ndim, op, d.shape)
    xp = array_module(d)
    return Tensor._make(xp.asarray(getattr(xp, op)(d, axis=axes, keepdims=keepdim)))


def all(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """Whether all elements over ``dim`` are non-zero (a bool tensor)."""
    return _logical(input, dim, keepdim, "all")


def any(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """Whether any element over ``dim`` is non-zero (a bool tensor)."""
    return _logical(input, dim, keepdim, "any")


def count_nonzero(input, dim=None):
    """Number (int64) of non-zero elements over ``dim`` (all when None)."""
    d = input._data
    axes = norm_dims(dim, d.ndim, "count_nonzero", d.shape)
    return Tensor._make(array_module(d).asarray((d != 0).sum(axis=axes, dtype=_int64)))


def _nan_zeroed(input):
    if not input.is_floating_point():
        return input
    return where(input.isnan(), 0.0, input)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """``sum`` treating NaN as zero (no gradient flows to the NaN elements)."""
    return sum(_nan_zeroed(input), dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements over ``dim`` (NaN where all are NaN)."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "nanmean")
    axes = norm_dims(dim, input._data.ndim, "nanmean", input._data.shape)
    d = input._data
    count = (~array_module(d).isnan(d)).sum(axis=axes, keepdims=keepdim).astype(d.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sum(_nan_zeroed(input), axes, keepdim) / Tensor._make(count)


# ---------------------------------------------------------------------- Tensor methods

for _name, _fn in [("sum", sum), ("mean", mean), ("var", var), ("std", std), ("prod", prod),
                   ("max", max), ("min", min), ("amax", amax), ("amin", amin),
                   ("aminmax", aminmax), ("argmax", argmax), ("argmin", argmin),
                   ("median", median), ("nanmedian", nanmedian), ("logsumexp", logsumexp),
                   ("softmax", softmax), ("log_softmax", log_softmax), ("cumsum", cumsum),
                   ("cumprod", cumprod), ("norm", norm), ("all", all), ("any", any),
                   ("count_nonzero", count_nonzero), ("nansum", nansum), ("nanmean", nanmean)]:
    register_method(_name)(_fn)

register_method("cumsum_")(lambda self, dim, *, dtype=None: inplace(
    self, cumsum, dim, dtype=dtype, name="cumsum_"))
register_method("cumprod_")(lambda self, dim, *, dtype=None: inplace(
    self, cumprod, dim, dtype=dtype, name="cumprod_"))
