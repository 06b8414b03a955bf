"""Index-based ops: gather/scatter, index_*, masked_*, take, sort/topk, unique, search.

Every differentiable op here has a backward written with other ops of this module, in
adjoint pairs, so that higher-order gradients work:

* ``gather`` <-> ``scatter_add`` (gather's gradient scatters with accumulation, whose
  gradient with respect to ``src`` gathers again);
* ``index_select`` <-> ``index_add``;
* ``masked_select`` <-> a masked scatter into zeros.

Sorting ops (``sort``, ``topk``, ``kthvalue``, ``mode``) compute their indices without a
graph and get their values by gathering along ``dim``, so their gradients route through
the same gather/scatter_add pair. Index results are int64 and never require grad.

Indices must be int64 (``index_select``/``index_add``/``index_copy``/``index_fill`` also
accept int32, as PyTorch does) and in range; negative indices are an error except in
``take``, which wraps them like Python.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, _wrap_dim, register_method
from ..autograd.function import Op
from .arith import _result, where
from ._util import inplace, needs, to_scalar, unbroadcast

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_copy", "index_fill", "masked_fill", "masked_select", "masked_scatter",
           "take", "take_along_dim", "nonzero", "argwhere", "topk", "sort", "argsort", "msort",
           "unique", "unique_consecutive", "bincount", "searchsorted", "bucketize",
           "kthvalue", "mode"]

# the named tuples PyTorch calls torch.return_types.*
_SortResult = namedtuple("sort", ["values", "indices"])
_TopkResult = namedtuple("topk", ["values", "indices"])
_KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
_ModeResult = namedtuple("mode", ["values", "indices"])


class IndexOutOfRangeError(IndexError, RuntimeError):
    """An index outside its dimension (an IndexError that PyTorch code may catch as
    RuntimeError, which torch raises for gather/scatter)."""


# ---------------------------------------------------------------------- validation helpers


def _check_tensor(op, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got {type(x).__name__}")


def _check_index(op, index, ref, int32_ok=False, name="index"):
    _check_tensor(op, name, index)
    dt = index._data.dtype
    if dt != np.int64 and not (int32_ok and dt == np.int32):
        want = "int32 or int64" if int32_ok else "int64 (long)"
        raise RuntimeError(f"{op}(): Expected dtype {want} for {name}, got {index.dtype.name}")
    if type(index._data) is not type(ref._data):
        B.check_same_device(op, (ref._data, index._data))


def _check_same_dtype(op, input, other, name):
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{op}(): expected self and {name} to have the same dtype, but got "
                           f"self {input.dtype.name} and {name} {other.dtype.name}")
    if type(other._data) is not type(input._data):
        B.check_same_device(op, (input._data, other._data))


def _check_range(op, idx, size, dim, negative=False):
    """Raise naming the first offending value when ``idx`` leaves ``[0, size)``."""
    if idx.size == 0:
        return
    lo, hi = int(idx.min()), int(idx.max())
    low = -size if negative else 0
    if hi >= size or lo < low:
        bad = hi if hi >= size else lo
        raise IndexOutOfRangeError(f"{op}(): index {bad} is out of bounds for dimension {dim} "
                                   f"with size {size}")


def _dim(op, dim, ndim):
    try:
        dim = int(dim)
    except TypeError:
        raise TypeError(f"{op}(): argument 'dim' must be an int, got {type(dim).__name__}") \
            from None
    return _wrap_dim(dim, ndim, f"{op}()")


def _cast_scalar(op, value, npd):
    """A Python number of the kind of ``npd`` (PyTorch casts fill values to self's dtype)."""
    v = to_scalar(value)
    if v is None:
        if isinstance(value, Tensor) and value._data.size == 1:
            v = value.item()
        else:
            raise TypeError(f"{op}(): value must be a number, got {type(value).__name__}")
    if npd.kind == "b":
        return bool(v)
    if npd.kind in "iu":
        return int(v)
    return float(v)


# ---------------------------------------------------------------------- array helpers


def _ufunc_at(xp, name, out, idx, vals):
    """Unbuffered ``ufunc.at`` (repeated indices accumulate); host fallback if needed."""
    uf = getattr(xp, name)
    if xp is np:
        uf.at(out, idx, vals)
        return
    try:
        uf.at(out, idx, vals)
        return
    except (AttributeError, NotImplementedError, TypeError):  # pragma: no cover - gpu only
        pass
    host = out.get()  # pragma: no cover - gpu only
    h_idx = tuple(i.get() if hasattr(i, "get") else i for i in idx)
    getattr(np, name).at(host, h_idx, vals.get() if hasattr(vals, "get") else vals)
    out[...] = xp.asarray(host)


def _grid(xp, idx, dim):
    """The advanced index addressing ``out[..., idx[i,j,k], ...]`` for every element of idx."""
    nd = idx.ndim
    out = []
    for d in range(nd):
        if d == dim:
            out.append(idx)
        else:
            sh = [1] * nd
            sh[d] = idx.shape[d]
            out.append(xp.arange(idx.shape[d]).reshape(sh))
    return tuple(out)


def _part(arr, shape):
    """The leading ``shape`` block of ``arr`` (src may be larger than index)."""
    if arr.shape == tuple(shape):
        return arr
    return arr[tuple(slice(0, s) for s in shape)]


def _lead(shape, dim):
    return tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(shape))


def _along(dim, idx):
    return (slice(None),) * dim + (idx,)


def _as1d(t):
    return t.reshape(1) if isinstance(t, Tensor) and t._data.ndim == 0 else t


def _stable_argsort(xp, a, axis):
    if xp is np:
        return np.argsort(a, axis=axis, kind="stable")
    return xp.argsort(a, axis=axis)  # cupy's sort is stable  # pragma: no cover


def _argsort(xp, a, axis, descending=False):
    """Stable argsort; descending keeps equal elements in their original order and puts
    NaN first (PyTorch's order), by sorting the reversed array."""
    if not descending:
        r = _stable_argsort(xp, a, axis)
    else:
        n = a.shape[axis]
        r = (n - 1) - xp.flip(_stable_argsort(xp, xp.flip(a, axis=axis), axis), axis=axis)
    return xp.ascontiguousarray(r.astype(np.int64, copy=False))


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


class Sort(Gather):
    """Values of ``sort``: a gather by the sorting permutation."""


class Topk(Gather):
    """Values of ``topk``."""


class Kthvalue(Gather):
    """Values of ``kthvalue`` (keepdim layout)."""


class Mode(Gather):
    """Values of ``mode`` (keepdim layout)."""


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


# ---------------------------------------------------------------------- index_* ops


class IndexSelect(Op):
    """Slices of ``a`` along ``dim`` at ``idx`` (adjoint of IndexAddDim)."""

    @staticmethod
    def forward(ctx, a, idx, dim):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (a.shape, dim)
        return array_module(a).take(a, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        shape, dim = ctx.meta
        return IndexAddDim.apply(g.new_zeros(shape), index, g, dim, 1), None, None


class IndexAddDim(Op):
    """``a`` with ``alpha * src`` added to the slices at ``idx`` along ``dim``."""

    @staticmethod
    def forward(ctx, a, idx, src, dim, alpha):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (dim, alpha)
        out = a.copy()
        if idx.size:
            _ufunc_at(array_module(a), "add", out, _along(dim, idx),
                      src if alpha == 1 else src * alpha)
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        dim, alpha = ctx.meta
        ga = g if needs(ctx, 0) else None
        gs = None
        if needs(ctx, 2):
            gs = IndexSelect.apply(g, index, dim)
            if alpha != 1:
                gs = gs * alpha
        return ga, None, gs, None, None


class IndexCopyDim(Op):
    """``a`` with the slices at ``idx`` along ``dim`` replaced by ``src``."""

    @staticmethod
    def forward(ctx, a, idx, src, dim):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.dim = dim
        out = a.copy()
        out[_along(dim, idx)] = src
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        dim = ctx.dim
        ga = IndexFillDim.apply(g, index, 0, dim) if needs(ctx, 0) else None
        gs = IndexSelect.apply(g, index, dim) if needs(ctx, 2) else None
        return ga, None, gs, None


class IndexFillDim(IndexCopyDim):
    """``a`` with the slices at ``idx`` along ``dim`` set to ``value`` (number or 0-d);
    the forward is IndexCopyDim's, only the gradient of the value differs."""

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        dim = ctx.dim
        ga = IndexFillDim.apply(g, index, 0, dim) if needs(ctx, 0) else None
        gv = IndexSelect.apply(g, index, dim).sum() if needs(ctx, 2) else None
        return ga, None, gv, None


# ---------------------------------------------------------------------- masked ops


class MaskedFill(Op):
    """``where(mask, value, a)`` with broadcasting; ``value`` a number or a 0-d array."""

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.save_for_backward(ctx.inputs[1])
        ctx.shape = a.shape
        xp = array_module(a)
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        ga = unbroadcast(where(mask, 0.0, g), ctx.shape) if needs(ctx, 0) else None
        gv = where(mask, g, 0.0).sum() if needs(ctx, 2) else None
        return ga, None, gv


class MaskedSelect(Op):
    """The elements of ``a`` where ``mask`` holds (both broadcast), as a 1-D array."""

    @staticmethod
    def forward(ctx, a, mask):
        shape = np.broadcast_shapes(a.shape, mask.shape)
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (a.shape, shape)
        xp = array_module(a)
        return xp.broadcast_to(a, shape)[xp.broadcast_to(mask, shape)]

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        a_shape, shape = ctx.meta
        return unbroadcast(MaskedExpand.apply(g, mask, shape), a_shape), None


class MaskedExpand(Op):
    """Zeros of ``shape`` with the 1-D ``g`` written where ``mask`` holds."""

    @staticmethod
    def forward(ctx, g, mask, shape):
        ctx.save_for_backward(ctx.inputs[1])
        xp = array_module(g)
        out = xp.zeros(shape, g.dtype)
        out[xp.broadcast_to(mask, shape)] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        (mask,) = ctx.saved_tensors
        return MaskedSelect.apply(gg, mask), None, None


class MaskedScatter(Op):
    """``a`` (broadcast with mask) with consecutive elements of ``src`` where mask holds."""

    @staticmethod
    def forward(ctx, a, mask, src):
        xp = array_module(a)
        shape = np.broadcast_shapes(a.shape, mask.shape)
        m = xp.broadcast_to(mask, shape)
        n = int(m.sum())
        if src.size < n:
            raise RuntimeError(f"masked_scatter(): expected source to have at least {n} "
                               f"elements (the number of True values in the mask), but it has "
                               f"{src.size} (shape {list(src.shape)})")
        out = xp.broadcast_to(a, shape).copy()
        out[m] = src.reshape(-1)[:n]
        ctx.save_for_backward(ctx.inputs[1])
        ctx.meta = (a.shape, src.shape, src.size)
        return out

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        a_shape, src_shape, src_size = ctx.meta
        ga = unbroadcast(where(mask, 0.0, g), a_shape) if needs(ctx, 0) else None
        gs = None
        if needs(ctx, 2):
            gs = _pad_to(MaskedSelect.apply(g, mask), (src_size,)).reshape(src_shape)
        return ga, None, gs


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


# ---------------------------------------------------------------------- index_* API


def _index_prepare(op, input, dim, index):
    _check_tensor(op, "input", input)
    _check_index(op, index, input, int32_ok=True)
    i = index._data
    if i.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got index of shape "
                         f"{list(i.shape)}")
    nd = input._data.ndim
    ax = _dim(op, dim, nd)
    size = input._data.shape[ax] if nd else 1
    _check_range(op, i, size, ax)
    return (index.reshape(1) if i.ndim == 0 else index), ax


def index_select(input, dim, index, *, out=None):
    """The slices of ``input`` along ``dim`` at the positions in the 1-D ``index``."""
    idx, ax = _index_prepare("index_select", input, dim, index)
    if input._data.ndim == 0:
        r = IndexSelect.apply(input.reshape(1), idx, 0)
        return _result(r.reshape(()) if idx._data.size == 1 else r, out)
    return _result(IndexSelect.apply(input, idx, ax), out)


def _check_source(op, input, ax, idx, source):
    _check_tensor(op, "source", source)
    _check_same_dtype(op, input, source, "source")
    expect = list(input._data.shape)
    expect[ax] = idx._data.size
    if list(source._data.shape) != expect:
        raise RuntimeError(f"{op}(): source of shape {list(source.shape)} does not match the "
                           f"expected shape {expect} (self {list(input.shape)} with dimension "
                           f"{ax} replaced by the number of indices, {idx._data.size})")


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added to the slices along ``dim`` at
    ``index``; repeated indices accumulate."""
    idx, ax = _index_prepare("index_add", input, dim, index)
    if input._data.ndim == 0:
        r = index_add(input.reshape(1), 0, idx, _as1d(source), alpha=alpha)
        return r.reshape(())
    _check_source("index_add", input, ax, idx, source)
    if isinstance(alpha, float) and input._data.dtype.kind in "biu":
        raise RuntimeError("index_add(): for integral input tensors, argument alpha must not be "
                           f"a floating point number, got {alpha}")
    return IndexAddDim.apply(input, idx, source, ax, alpha)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices along ``dim`` at ``index`` replaced by
    ``source``'s slices."""
    idx, ax = _index_prepare("index_copy", input, dim, index)
    if input._data.ndim == 0:
        return index_copy(input.reshape(1), 0, idx, _as1d(source)).reshape(())
    _check_source("index_copy", input, ax, idx, source)
    return IndexCopyDim.apply(input, idx, source, ax)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with the slices along ``dim`` at ``index`` set to ``value`` (a
    number, or a 0-d tensor that then receives a gradient)."""
    idx, ax = _index_prepare("index_fill", input, dim, index)
    if input._data.ndim == 0:
        return index_fill(input.reshape(1), 0, idx, value).reshape(())
    value = _fill_value("index_fill", input, value)
    return IndexFillDim.apply(input, idx, value, ax)


def _fill_value(op, input, value):
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"{op}() only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s) (shape "
                               f"{list(value.shape)})")
        if type(value._data) is not type(input._data):
            value = value.to(input.device)
        return value.to(input.dtype)
    return _cast_scalar(op, value, input._data.dtype)


# ---------------------------------------------------------------------- masked API


def _check_mask(op, input, mask):
    _check_tensor(op, "mask", mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"{op}() only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.name}")
    if type(mask._data) is not type(input._data):
        B.check_same_device(op, (input._data, mask._data))
    try:
        return np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(f"{op}(): the shape of the mask {list(mask.shape)} and the shape of "
                           f"input {list(input.shape)} are not broadcastable") from None


def masked_fill(input, mask, value):
    """``value`` where the bool ``mask`` holds, ``input`` elsewhere (mask and input
    broadcast). ``value`` is a number or a 0-d tensor (which then receives a gradient)."""
    _check_tensor("masked_fill", "input", input)
    _check_mask("masked_fill", input, mask)
    return MaskedFill.apply(input, mask, _fill_value("masked_fill", input, value))


def masked_select(input, mask, *, out=None):
    """A 1-D tensor of the elements of ``input`` where the bool ``mask`` holds (the two
    broadcast against each other)."""
    _check_tensor("masked_select", "input", input)
    _check_mask("masked_select", input, mask)
    return _result(MaskedSelect.apply(input, mask), out)


def masked_scatter(input, mask, source):
    """A copy of ``input`` with consecutive elements of ``source`` (in row-major order)
    written where ``mask`` holds."""
    _check_tensor("masked_scatter", "input", input)
    _check_mask("masked_scatter", input, mask)
    _check_tensor("masked_scatter", "source", source)
    _check_same_dtype("masked_scatter", input, source, "source")
    return MaskedScatter.apply(input, mask, source)


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


# ---------------------------------------------------------------------- nonzero


def nonzero(input, *, out=None, as_tuple=False):
    """Indices of the non-zero elements: an int64 ``(n, ndim)`` tensor, or with
    ``as_tuple`` one 1-D tensor per dimension."""
    _check_tensor("nonzero", "input", input)
    d = input._data
    xp = array_module(d)
    if as_tuple:
        arrs = xp.nonzero(d.reshape(1) if d.ndim == 0 else d)
        return tuple(Tensor._make(a.astype(np.int64, copy=False)) for a in arrs)
    if d.ndim == 0:
        r = xp.zeros((int(bool(d)), 0), np.int64)
    else:
        r = xp.argwhere(d).astype(np.int64, copy=False)
    return _result(Tensor._make(r), out)


def argwhere(input):
    """Indices of the non-zero elements as an int64 ``(n, ndim)`` tensor."""
    return nonzero(input)


# ---------------------------------------------------------------------- sorting


def _sort_prepare(op, input, dim):
    _check_tensor(op, "input", input)
    nd = input._data.ndim
    ax = _dim(op, dim, nd)
    if nd == 0:
        return input.reshape(1), 0, True
    return input, ax, False


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """Sort along ``dim``; returns ``(values, indices)``. The sort is always stable, so
    equal elements keep their order (also when descending); NaN sorts as the largest."""
    x, ax, lifted = _sort_prepare("sort", input, dim)
    idx = Tensor._make(_argsort(array_module(x._data), x._data, ax, bool(descending)))
    vals = Sort.apply(x, idx, ax)
    if lifted:
        vals, idx = vals.reshape(()), idx.reshape(())
    return _pair(_SortResult, vals, idx, out)


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (stable)."""
    x, ax, lifted = _sort_prepare("argsort", input, dim)
    r = Tensor._make(_argsort(array_module(x._data), x._data, ax, bool(descending)))
    return r.reshape(()) if lifted else r


def msort(input, *, out=None):
    """``input`` sorted along its first dimension (values only)."""
    return _result(sort(input, 0).values, out)


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` and their int64 indices,
    ordered best first. ``sorted=False`` is accepted; the result is sorted anyway."""
    x, ax, lifted = _sort_prepare("topk", input, dim)
    n = x._data.shape[ax]
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k={k} out of range for dimension {ax} of "
                           f"size {n} (input shape {list(input.shape)})")
    d = x._data
    idx = Tensor._make(_topk_indices(array_module(d), d, ax, k, bool(largest)))
    vals = Topk.apply(x, idx, ax)
    if lifted and k == 1:
        vals, idx = vals.reshape(()), idx.reshape(())
    return _pair(_TopkResult, vals, idx, out)


def _topk_indices(xp, d, ax, k, largest):
    """Indices of the k best along ``ax``, best first (NaN counts as the largest)."""
    n = d.shape[ax]
    sl = [slice(None)] * d.ndim
    if k == 0 or 4 * k > n or d.dtype.kind == "b":
        sl[ax] = slice(0, k)
        return xp.ascontiguousarray(_argsort(xp, d, ax, largest)[tuple(sl)])
    # select candidates in O(n), then order only those (ties in original index order)
    part = xp.argpartition(d, n - k if largest else k - 1, axis=ax)
    sl[ax] = slice(n - k, n) if largest else slice(0, k)
    cand = xp.sort(part[tuple(sl)], axis=ax)
    order = _argsort(xp, xp.take_along_axis(d, cand, axis=ax), ax, largest)
    return xp.ascontiguousarray(xp.take_along_axis(cand, order, axis=ax).astype(np.int64))


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index."""
    x, ax, lifted = _sort_prepare("kthvalue", input, dim)
    d = x._data
    n = d.shape[ax]
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {ax} "
                           f"of size {n} (input shape {list(input.shape)})")
    xp = array_module(d)
    sl = [slice(None)] * d.ndim
    sl[ax] = slice(k - 1, k)
    if d.dtype.kind == "b":
        order = _argsort(xp, d, ax)
    else:  # a selection is enough (which of tied elements is reported is unspecified)
        order = xp.argpartition(d, k - 1, axis=ax)
    idx = Tensor._make(xp.ascontiguousarray(order[tuple(sl)]).astype(np.int64, copy=False))
    vals = Kthvalue.apply(x, idx, ax)
    return _pair(_KthvalueResult, *_unkeep(vals, idx, ax, keepdim, lifted), out)


def _unkeep(vals, idx, ax, keepdim, lifted):
    if lifted:
        return vals.reshape(()), idx.reshape(())
    if keepdim:
        return vals, idx
    return vals.squeeze(ax), idx.squeeze(ax)


def mode(input, dim=-1, keepdim=False, *, out=None):
    """The most frequent value along ``dim`` (the smallest one on ties) and the index of
    its last occurrence."""
    x, ax, lifted = _sort_prepare("mode", input, dim)
    d = x._data
    n = d.shape[ax]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {ax} to have non-zero size (input "
                         f"shape {list(input.shape)})")
    xp = array_module(d)
    moved = xp.moveaxis(d, ax, -1)
    lead = moved.shape[:-1]
    a2 = moved.reshape(-1, n)
    order = _argsort(xp, a2, 1)
    s = xp.take_along_axis(a2, order, axis=1)
    rows_n = s.shape[0]
    starts = xp.concatenate([xp.ones((rows_n, 1), bool), s[:, 1:] != s[:, :-1]], axis=1)
    run = xp.cumsum(starts.reshape(-1)) - 1  # global run ids (each row starts a run)
    length = xp.bincount(run)[run].reshape(rows_n, n)
    best = xp.argmax(length, axis=1)  # first maximum: the start of the smallest mode's run
    rows = xp.arange(rows_n)
    last = best + length[rows, best] - 1  # the run's end: the last occurrence (stable sort)
    mi = order[rows, last].reshape(lead + (1,))
    idx = Tensor._make(xp.ascontiguousarray(xp.moveaxis(mi, -1, ax)).astype(np.int64))
    vals = Mode.apply(x, idx, ax)
    return _pair(_ModeResult, *_unkeep(vals, idx, ax, keepdim, lifted), out)


def _pair(cls, vals, idx, out):
    if out is not None:
        _result(vals, out[0])
        _result(idx, out[1])
        return cls(out[0], out[1])
    return cls(vals, idx)


# ---------------------------------------------------------------------- unique


def _unique_rows(xp, a, dim, consecutive):
    """unique slices of ``a`` along ``dim``: (unique, inverse, counts) arrays."""
    moved = xp.moveaxis(a, dim, 0)
    n = moved.shape[0]
    rest = moved.shape[1:]
    flat = moved.reshape(n, -1)
    order = None
    if consecutive:
        s = flat
    else:
        if flat.shape[1] == 0:
            order = xp.arange(n)
        else:
            order = xp.lexsort(flat.T[::-1])  # column 0 is the primary key
        s = flat[order]
    change = (s[1:] != s[:-1]).any(axis=1) if n else xp.zeros((0,), bool)
    starts = xp.concatenate([xp.ones((min(n, 1),), bool), change])
    uniq = s[starts]
    ids = xp.cumsum(starts) - 1
    if order is None:
        inverse = ids
    else:
        inverse = xp.empty((n,), np.int64)
        inverse[order] = ids
    first = xp.nonzero(starts)[0]
    counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    out = xp.moveaxis(uniq.reshape((uniq.shape[0],) + rest), 0, dim)
    return xp.ascontiguousarray(out), inverse, counts


def _unique_flat(xp, d, consecutive):
    flat = d.reshape(-1)
    if not consecutive:
        u, inv, cnt = xp.unique(flat, return_inverse=True, return_counts=True)
        return u, inv.reshape(d.shape), cnt
    n = flat.shape[0]
    starts = xp.concatenate([xp.ones((min(n, 1),), bool), flat[1:] != flat[:-1]])
    first = xp.nonzero(starts)[0]
    counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    return flat[starts], (xp.cumsum(starts) - 1).reshape(d.shape), counts


def _unique(op, input, return_inverse, return_counts, dim, consecutive):
    _check_tensor(op, "input", input)
    d = input._data
    xp = array_module(d)
    if dim is None:
        u, inv, cnt = _unique_flat(xp, d, consecutive)
    else:
        if d.ndim == 0:
            raise IndexError(f"{op}(): dim={dim} given for a 0-d tensor")
        u, inv, cnt = _unique_rows(xp, d, _dim(op, dim, d.ndim), consecutive)
    res = [Tensor._make(u)]
    if return_inverse:
        res.append(Tensor._make(inv.astype(np.int64, copy=False)))
    if return_counts:
        res.append(Tensor._make(cnt.astype(np.int64, copy=False)))
    return res[0] if len(res) == 1 else tuple(res)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (or slices along ``dim``), in ascending order; optionally the
    int64 inverse indices (input's shape, or a vector along ``dim``) and counts."""
    return _unique("unique", input, return_inverse, return_counts, dim, False)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    return _unique("unique_consecutive", input, return_inverse, return_counts, dim, True)


# ---------------------------------------------------------------------- counting / search


def bincount(input, weights=None, minlength=0):
    """Occurrences of each value of a 1-D non-negative integer tensor (int64), or the sum
    of ``weights`` per value (float32 weights give float32, others float64)."""
    _check_tensor("bincount", "input", input)
    d = input._data
    if d.ndim != 1 or d.dtype.kind not in "iu":
        raise RuntimeError(f"bincount(): only supports 1-d non-negative integral inputs, got "
                           f"a {input.dtype.name} tensor of shape {list(d.shape)}")
    if d.size and int(d.min()) < 0:
        raise RuntimeError(f"bincount(): only supports non-negative inputs, got value "
                           f"{int(d.min())}")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength}")
    xp = array_module(d)
    if weights is None:
        return Tensor._make(xp.bincount(d, minlength=minlength).astype(np.int64, copy=False))
    _check_tensor("bincount", "weights", weights)
    w = weights._data
    if w.shape != d.shape:
        raise RuntimeError(f"bincount(): weights should be 1-d and have the same length as "
                           f"input, got weights {list(w.shape)} and input {list(d.shape)}")
    npd = np.float32 if w.dtype == np.float32 else np.float64
    r = xp.bincount(d, weights=w.astype(np.float64), minlength=minlength)
    return Tensor._make(r.astype(npd, copy=False))


def _batched_searchsorted(xp, seq, v, right):
    """searchsorted per row, without loops: one stable sort of sequence and values
    together, ties placing values before (left) or after (right) sequence elements."""
    n, k = seq.shape[-1], v.shape[-1]
    S = seq.reshape(-1, n)
    V = v.reshape(-1, k)
    R = S.shape[0]
    dt = xp.result_type(S.dtype, V.dtype)
    vals = xp.concatenate([S.astype(dt), V.astype(dt)], axis=1)
    is_v = xp.concatenate([xp.zeros((n,), bool), xp.ones((k,), bool)])
    tie = xp.broadcast_to(is_v if right else ~is_v, (R, n + k)).astype(np.int8)
    o1 = _stable_argsort(xp, tie, 1)
    o2 = _stable_argsort(xp, xp.take_along_axis(vals, o1, axis=1), 1)
    order = xp.take_along_axis(o1, o2, axis=1)
    seq_before = xp.cumsum(~is_v[order], axis=1)
    full = xp.empty((R, n + k), np.int64)
    full[xp.arange(R)[:, None], order] = seq_before
    return full[:, n:].reshape(v.shape)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """Indices where ``input`` would be inserted into the innermost dim of
    ``sorted_sequence`` to keep it sorted (``right``/``side='right'``: after equal
    elements). A 1-D sequence serves every value; an N-D one must match input's leading
    dims. ``sorter`` gives the order of an unsorted sequence."""
    op = "searchsorted"
    _check_tensor(op, "sorted_sequence", sorted_sequence)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"{op}(): side can only be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError(f"{op}(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    xp = array_module(seq)
    if seq.ndim == 0:
        raise RuntimeError(f"{op}(): boundaries tensor should have at least 1 dimension, got a "
                           "0-d tensor")
    if sorter is not None:
        _check_index(op, sorter, sorted_sequence, name="sorter")
        if sorter._data.shape != seq.shape:
            raise RuntimeError(f"{op}(): boundary and sorter must have the same size, got "
                               f"boundaries {list(seq.shape)} and sorter "
                               f"{list(sorter.shape)}")
        _check_range(op, sorter._data, seq.shape[-1], seq.ndim - 1)
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    if isinstance(input, Tensor):
        if type(input._data) is not type(seq):
            B.check_same_device(op, (seq, input._data))
        v = input._data
    else:
        if seq.ndim != 1:
            raise RuntimeError(f"{op}(): a scalar input needs a 1-D boundaries tensor, got "
                               f"boundaries of shape {list(seq.shape)}")
        v = xp.asarray(input)
    side_s = "right" if right else "left"
    if seq.ndim == 1:
        res = xp.searchsorted(seq, v, side=side_s)
    else:
        if v.ndim != seq.ndim or v.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"{op}(): boundaries tensor should be 1 dimension or the first "
                               f"N-1 dimensions of boundaries tensor and input value tensor "
                               f"must match, but we got boundaries tensor {list(seq.shape)} and "
                               f"input value tensor {list(v.shape)}")
        res = _batched_searchsorted(xp, seq, v, right)
    res = xp.asarray(res).astype(np.int32 if out_int32 else np.int64, copy=False)
    return _result(Tensor._make(res), out)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each element of ``input`` for the sorted 1-D ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``<= x <``)."""
    _check_tensor("bucketize", "boundaries", boundaries)
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries._data.ndim}) (shape {list(boundaries.shape)})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# ---------------------------------------------------------------------- Tensor methods


def _masked_fill_(self, mask, value):
    shape = _check_mask("masked_fill_", self, mask)
    if tuple(shape) != self._data.shape:
        raise RuntimeError(f"masked_fill_(): mask of shape {list(mask.shape)} is not "
                           f"broadcastable to self of shape {list(self.shape)}")
    return inplace(self, masked_fill, mask, value, name="masked_fill_")


def _masked_scatter_(self, mask, source):
    shape = _check_mask("masked_scatter_", self, mask)
    if tuple(shape) != self._data.shape:
        raise RuntimeError(f"masked_scatter_(): mask of shape {list(mask.shape)} is not "
                           f"broadcastable to self of shape {list(self.shape)}")
    return inplace(self, masked_scatter, mask, source, name="masked_scatter_")


def _scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    return inplace(self, scatter, dim, index, src, value, reduce=reduce, name="scatter_")


def _scatter_add_(self, dim, index, src):
    return inplace(self, scatter_add, dim, index, src, name="scatter_add_")


def _scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return inplace(self, scatter_reduce, dim, index, src, reduce, include_self=include_self,
                   name="scatter_reduce_")


def _index_add_(self, dim, index, source, *, alpha=1):
    return inplace(self, index_add, dim, index, source, alpha=alpha, name="index_add_")


def _index_copy_(self, dim, index, source):
    return inplace(self, index_copy, dim, index, source, name="index_copy_")


def _index_fill_(self, dim, index, value):
    return inplace(self, index_fill, dim, index, value, name="index_fill_")


for _n, _f in [("gather", gather), ("scatter", scatter), ("scatter_add", scatter_add),
               ("scatter_reduce", scatter_reduce), ("index_select", index_select),
               ("index_add", index_add), ("index_copy", index_copy),
               ("index_fill", index_fill), ("masked_fill", masked_fill),
               ("masked_select", masked_select), ("masked_scatter", masked_scatter),
               ("take", take), ("take_along_dim", take_along_dim), ("nonzero", nonzero),
               ("argwhere", argwhere), ("topk", topk), ("sort", sort), ("argsort", argsort),
               ("msort", msort), ("unique", unique),
               ("unique_consecutive", unique_consecutive), ("bincount", bincount),
               ("kthvalue", kthvalue), ("mode", mode), ("bucketize", bucketize),
               ("scatter_", _scatter_), ("scatter_add_", _scatter_add_),
               ("scatter_reduce_", _scatter_reduce_), ("index_add_", _index_add_),
               ("index_copy_", _index_copy_), ("index_fill_", _index_fill_),
               ("masked_fill_", _masked_fill_), ("masked_scatter_", _masked_scatter_)]:
    register_method(_n)(_f)


def _searchsorted_method(self, input, *, out_int32=False, right=False, side=None,
                         sorter=None):
    return searchsorted(self, input, out_int32=out_int32, right=right, side=side,
                        sorter=sorter)


register_method("searchsorted")(_searchsorted_method)
del _n, _f
