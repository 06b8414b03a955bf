"""Reductions: sum mean var std (var_mean, std_mean) prod norm all/any count_nonzero
nansum nanmean.

``dim`` may be None (all), an int or a tuple of ints, negative allowed; ``keepdim``
keeps reduced dimensions with size 1 (the helpers are in ``_dims``). Backward re-expands
the gradient over the reduced dimensions (``expand_back``). The other reductions live by
family and stay importable from here: ``extrema`` (max min amax amin aminmax argmax
argmin median nanmedian), ``softmax_family`` (logsumexp softmax log_softmax) and
``cumulative`` (cumsum cumprod).
"""
from __future__ import annotations

import builtins as _builtins

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, register_method
from ..amp import autocast_mode as _amp
from ..autograd.function import Op
from ._dims import (_INF, _check_nonempty, _int64, _numel, _require_float,  # noqa: F401
                    expand_back, keepdim_shape, norm_dims)
from .piecewise import where
# moved by family; re-exported so ``ktrain.ops.reduce.softmax`` & co. keep working
from .cumulative import Cumprod, Cumsum, cumprod, cumsum  # noqa: F401
from .extrema import (aminmax, amax, amin, argmax, argmin, max, median, min,  # noqa: F401
                      nanmedian)
from .softmax_family import (LogSoftmax, Logsumexp, Softmax, log_softmax,  # noqa: F401
                             logsumexp, softmax)

__all__ = ["sum", "mean", "var", "std", "var_mean", "std_mean", "prod", "norm", "all", "any",
           "count_nonzero", "nansum", "nanmean"]


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
                   ("norm", norm), ("all", all), ("any", any), ("count_nonzero", count_nonzero),
                   ("nansum", nansum), ("nanmean", nanmean)]:
    register_method(_name)(_fn)
