"""Gather and scatter along a dim: gather, scatter, scatter_add, scatter_reduce, take,
take_along_dim (and the in-place ``scatter_``/``scatter_add_``/``scatter_reduce_``).

Every differentiable op here has a backward written with ktrain ops, in adjoint pairs, so
that higher-order gradients work: ``gather`` <-> ``scatter_add`` (gather's gradient
scatters with accumulation, whose gradient with respect to ``src`` gathers again).
``take`` and ``take_along_dim`` are gathers. The sorting ops (``sorting.py``) get their
values through the same ``Gather``. Indices must be int64 and in range; negative indices
are an error except in ``take``, which wraps them like Python.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ._index_util import (_as1d, _cast_scalar, _check_index, _check_range, _check_same_dtype,
                          _check_tensor, _dim, _grid, _lead, _part, _ufunc_at)
from ._util import inplace, needs
from .arith import _result, where

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim"]


# ---------------------------------------------------------------------- gather / scatter ops


class Gather(Op):
    """``out[i][j][k] = a[i][idx[i][j][k]][k]`` (for dim 1); adjoint of ScatterAdd."""

    @staticmethod
    def forward(ctx, a, idx, dim):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (a.shape, dim)
        return array_module(a).take_along_axis(a[_lead(idx.shape, dim)], idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        shape, dim = ctx.meta
        return ScatterAdd.apply(g.new_zeros(shape), index, g, dim), None, None


class ScatterAdd(Op):
    """``a`` with ``src`` added at ``idx`` along ``dim``; repeated indices accumulate."""

    @staticmethod
    def forward(ctx, a, idx, src, dim):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (src.shape, dim)
        xp = array_module(a)
        out = a.copy()
        if idx.size:
            _ufunc_at(xp, "add", out, _grid(xp, idx, dim), _part(src, idx.shape))
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        src_shape, dim = ctx.meta
        ga = g if needs(ctx, 0) else None
        gs = _pad_to(Gather.apply(g, index, dim), src_shape) if needs(ctx, 2) else None
        return ga, None, gs, None


class Scatter(Op):
    """``a`` with ``src`` (or the scalar ``value``) written at ``idx`` along ``dim``."""

    @staticmethod
    def forward(ctx, a, idx, src, dim, value):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (None if src is None else src.shape, dim)
        xp = array_module(a)
        out = a.copy()
        if idx.size:
            out[_grid(xp, idx, dim)] = _part(src, idx.shape) if src is not None else value
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        src_shape, dim = ctx.meta
        ga = Scatter.apply(g, index, None, dim, 0) if needs(ctx, 0) else None
        gs = _pad_to(Gather.apply(g, index, dim), src_shape) if needs(ctx, 2) else None
        return ga, None, gs, None, None


def _identity(reduce, npd):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if npd.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if npd.kind == "b":
        return reduce == "amin"
    info = np.iinfo(npd)
    return info.min if reduce == "amax" else info.max


_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum",
          "amin": "minimum"}


class ScatterReduce(Op):
    """``a`` with ``src`` reduced into it at ``idx`` (sum, prod, mean, amax, amin)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, idx, src, dim, reduce, include_self):
        xp = array_module(a)
        ctx.save_for_backward(*ctx.inputs[:3])
        ctx.meta = (dim, reduce, include_self, src.shape)
        out = a.copy()
        cnt = xp.zeros(a.shape, np.int64)
        if idx.size:
            grid = _grid(xp, idx, dim)
            _ufunc_at(xp, "add", cnt, grid, xp.ones(idx.shape, np.int64))
            if not include_self:
                out[grid] = _identity(reduce, a.dtype)
            _ufunc_at(xp, _UFUNC[reduce], out, grid, _part(src, idx.shape))
        ctx.cnt = cnt
        if reduce == "mean":
            n = xp.maximum(cnt + (1 if include_self else 0), 1)
            if a.dtype.kind == "f":
                out = out / n.astype(a.dtype)
            else:
                out = xp.floor_divide(out, n).astype(a.dtype)
        return out

    @staticmethod
    def backward(ctx, g):
        x, index, src = ctx.saved_tensors
        dim, reduce, include_self, src_shape = ctx.meta
        cnt = Tensor._make(ctx.cnt)
        hit = cnt > 0
        sp = src if tuple(src_shape) == index._data.shape else \
            src[tuple(slice(0, s) for s in index._data.shape)]
        ga = gs = None
        if reduce == "sum":
            if needs(ctx, 0):
                ga = g if include_self else where(hit, 0.0, g)
            if needs(ctx, 2):
                gs = Gather.apply(g, index, dim)
        elif reduce == "mean":
            n = (cnt + int(include_self)).clamp(min=1).to(g.dtype)
            if needs(ctx, 0):
                ga = g / n if include_self else where(hit, 0.0, g)
            if needs(ctx, 2):
                gs = Gather.apply(g / n, index, dim)
        elif reduce in ("amax", "amin"):
            # the gradient is shared evenly between all elements equal to the result
            r = ctx.saved_output.detach()
            self_w = (x.detach() == r) if include_self else (cnt == 0)
            self_w = self_w.to(g.dtype)
            src_w = (sp.detach() == Gather.apply(r, index, dim)).to(g.dtype)
            n = (self_w + ScatterAdd.apply(g.new_zeros(x.shape), index, src_w, dim)).clamp(min=1)
            if needs(ctx, 0):
                ga = g * self_w / n
            if needs(ctx, 2):
                gs = Gather.apply(g / n, index, dim) * src_w
        else:  # prod: products of "everything else", without dividing by zero
            if needs(ctx, 0):
                if include_self:
                    ga = g * ScatterReduce.apply(g.new_ones(x.shape), index, src, dim, "prod",
                                                 True)
                else:
                    ga = where(hit, 0.0, g)
            if needs(ctx, 2):
                r = ctx.saved_output
                zs = sp.detach() == 0
                base = where(x.detach() == 0, 1.0, x) if include_self else g.new_ones(x.shape)
                p_nz = ScatterReduce.apply(base, index, where(zs, 1.0, sp), dim, "prod", True)
                zc = ScatterAdd.apply(g.new_zeros(x.shape), index, zs.to(g.dtype), dim)
                if include_self:
                    zc = zc + (x.detach() == 0).to(g.dtype)
                only_zero = Gather.apply(zc, index, dim) == 1
                others = where(zs, where(only_zero, Gather.apply(p_nz, index, dim), 0.0),
                               Gather.apply(r, index, dim) / where(zs, 1.0, sp))
                gs = Gather.apply(g, index, dim) * others
        if gs is not None:
            gs = _pad_to(gs, src_shape)
        return ga, None, gs, None, None, None


class PadTo(Op):
    """Zeros of ``shape`` with ``a`` in the leading block (adjoint of slicing it back)."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.sl = tuple(slice(0, s) for s in a.shape)
        out = array_module(a).zeros(shape, a.dtype)
        out[ctx.sl] = a
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.sl], None


def _pad_to(t, shape):
    shape = tuple(shape)
    return t if t._data.shape == shape else PadTo.apply(t, shape)


# ---------------------------------------------------------------------- gather family API


def gather(input, dim, index, *, sparse_grad=False, out=None):
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[i][index[i][j]]``
    for ``dim=1``. ``index`` is int64 with input's number of dims and no larger than input
    in the other dims; the result has index's shape. ``sparse_grad`` is accepted and
    ignored (gradients are dense)."""
    _check_tensor("gather", "input", input)
    _check_index("gather", index, input)
    d, i = input._data, index._data
    if d.ndim == 0 or i.ndim == 0:
        if d.ndim > 1 or i.ndim > 1:
            raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions "
                               f"as input tensor, got index {list(i.shape)} and input "
                               f"{list(d.shape)}")
        _dim("gather", dim, 0)
        return _result(gather(_as1d(input), 0, _as1d(index)).reshape(i.shape), out)
    ax = _dim("gather", dim, d.ndim)
    if i.ndim != d.ndim:
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions as "
                           f"input tensor, got index {list(i.shape)} ({i.ndim} dims) and input "
                           f"{list(d.shape)} ({d.ndim} dims)")
    for k in range(d.ndim):
        if k != ax and i.shape[k] > d.shape[k]:
            raise RuntimeError(f"gather(): Size does not match at dimension {k}: expected index "
                               f"{list(i.shape)} to be no larger than input {list(d.shape)} "
                               f"apart from dimension {ax}")
    _check_range("gather", i, d.shape[ax], ax)
    return _result(Gather.apply(input, index, ax), out)


def _scatter_checks(op, input, ax, index, src):
    d, i = input._data, index._data
    if i.ndim != d.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"self tensor, got index {list(i.shape)} and self {list(d.shape)}")
    if src is not None:
        _check_tensor(op, "src", src)
        _check_same_dtype(op, input, src, "src")
        if src._data.ndim != i.ndim:
            raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                               f"src tensor, got index {list(i.shape)} and src "
                               f"{list(src.shape)}")
    for k in range(d.ndim):
        if k != ax and i.shape[k] > d.shape[k]:
            raise RuntimeError(f"{op}(): Expected index {list(i.shape)} to be no larger than "
                               f"self {list(d.shape)} apart from dimension {ax}")
        if src is not None and i.shape[k] > src._data.shape[k]:
            raise RuntimeError(f"{op}(): Expected index {list(i.shape)} to be no larger than "
                               f"src {list(src.shape)}")
    _check_range(op, i, d.shape[ax], ax)


def _scatter_prepare(op, input, dim, index, src):
    """Validate; returns (input, index, src, axis, unlift) with 0-d tensors lifted to 1-D."""
    _check_tensor(op, "input", input)
    _check_index(op, index, input)
    if input._data.ndim == 0:
        _dim(op, dim, 0)
        return _as1d(input), _as1d(index), _as1d(src), 0, True
    ax = _dim(op, dim, input._data.ndim)
    return input, index, src, ax, False


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Write ``src`` (a tensor) or ``value`` (a number) into a copy of ``input`` at
    ``index`` along ``dim``: ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``. With
    repeated indices one of the writes wins. ``reduce='add'`` or ``'multiply'`` combines
    instead of replacing."""
    if src is None and value is None:
        raise TypeError("scatter(): expected a 'src' tensor or a scalar 'value'")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src  # scatter(dim, index, 1.5)
    if value is not None:
        value = _cast_scalar("scatter", value, input._data.dtype)
    x, idx, s, ax, lifted = _scatter_prepare("scatter", input, dim, index, src)
    _scatter_checks("scatter", x, ax, idx, s)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"scatter(): reduce argument must be either 'add' or 'multiply', "
                               f"got {reduce!r}")
        if s is None:
            s = x.new_full(idx._data.shape, value)
        r = ScatterReduce.apply(x, idx, s, ax, "sum" if reduce == "add" else "prod", True)
    else:
        r = Scatter.apply(x, idx, s, ax, value)
    return r.reshape(()) if lifted else r


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices
    accumulate: ``out[i][index[i][j]] += src[i][j]`` for ``dim=1``."""
    x, idx, s, ax, lifted = _scatter_prepare("scatter_add", input, dim, index, src)
    _check_tensor("scatter_add", "src", src)
    _scatter_checks("scatter_add", x, ax, idx, s)
    r = ScatterAdd.apply(x, idx, s, ax)
    return r.reshape(()) if lifted else r


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce`` in
    'sum', 'prod', 'mean', 'amax', 'amin'. Without ``include_self`` the scattered-to
    positions ignore input's values. Ties of amax/amin share the gradient evenly."""
    if reduce not in _UFUNC:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of 'sum', 'prod', "
                           f"'mean', 'amax', 'amin', got {reduce!r}")
    x, idx, s, ax, lifted = _scatter_prepare("scatter_reduce", input, dim, index, src)
    _check_tensor("scatter_reduce", "src", src)
    _scatter_checks("scatter_reduce", x, ax, idx, s)
    r = ScatterReduce.apply(x, idx, s, ax, reduce, bool(include_self))
    return r.reshape(()) if lifted else r


# ---------------------------------------------------------------------- take API


def take(input, index):
    """Elements of ``input`` seen as 1-D at ``index`` (int64; negatives count from the
    end); the result has index's shape."""
    _check_tensor("take", "input", input)
    _check_index("take", index, input)
    n = input._data.size
    i = index._data
    _check_range("take", i, n, 0, negative=True)
    flat_idx = Tensor._make(array_module(i).where(i < 0, i + n, i).reshape(-1))
    return Gather.apply(input.reshape(-1), flat_idx, 0).reshape(i.shape)


def take_along_dim(input, indices, dim=None, *, out=None):
    """``gather`` with broadcasting: ``input`` and ``indices`` broadcast in every dim but
    ``dim``. With ``dim=None`` both are flattened first."""
    _check_tensor("take_along_dim", "input", input)
    _check_index("take_along_dim", indices, input, name="indices")
    if dim is None:
        return _result(gather(input.reshape(-1), 0, indices.reshape(-1)), out)
    d, i = input._data, indices._data
    if d.ndim != i.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number "
                           f"of dimensions, but got {d.ndim} dimensions for input {list(d.shape)}"
                           f" and {i.ndim} dimensions for indices {list(i.shape)}")
    if d.ndim == 0:
        return _result(gather(input, dim, indices), out)
    ax = _dim("take_along_dim", dim, d.ndim)
    xs, ys = list(d.shape), list(i.shape)
    xs[ax] = ys[ax] = 1
    try:
        b = list(np.broadcast_shapes(tuple(xs), tuple(ys)))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): input {list(d.shape)} and indices "
                           f"{list(i.shape)} are not broadcastable apart from dimension "
                           f"{ax}") from None
    bx, bi = list(b), list(b)
    bx[ax], bi[ax] = d.shape[ax], i.shape[ax]
    return _result(gather(input.expand(bx), ax, indices.expand(bi)), out)


def _scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    return inplace(self, scatter, dim, index, src, value, reduce=reduce, name="scatter_")


def _scatter_add_(self, dim, index, src):
    return inplace(self, scatter_add, dim, index, src, name="scatter_add_")


def _scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return inplace(self, scatter_reduce, dim, index, src, reduce, include_self=include_self,
                   name="scatter_reduce_")

# ---------------------------------------------------------------------- Tensor methods


for _n, _f in [("gather", gather), ("scatter", scatter), ("scatter_add", scatter_add),
               ("scatter_reduce", scatter_reduce), ("take", take),
               ("take_along_dim", take_along_dim), ("scatter_", _scatter_),
               ("scatter_add_", _scatter_add_), ("scatter_reduce_", _scatter_reduce_)]:
    register_method(_n)(_f)
del _n, _f
