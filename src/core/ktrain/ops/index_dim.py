"""Whole slices along one dim at a list of indices: index_select, index_add, index_copy,
index_fill (and their in-place forms).

Adjoint pair: ``index_select`` <-> ``index_add``; each backward is written with these
ops, so higher-order gradients work. Indices are int64 or int32 (as PyTorch accepts for
this family), 0-D or 1-D, and in range.
"""
from __future__ import annotations

from .._backend import array_module
from .._tensor import register_method
from ..autograd.function import Op
from ._index_util import (_along, _as1d, _check_index, _check_range, _check_same_dtype,
                          _check_tensor, _dim, _fill_value, _ufunc_at)
from ._util import inplace, needs
from .arith import _result

__all__ = ["index_select", "index_add", "index_copy", "index_fill"]


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


def _index_add_(self, dim, index, source, *, alpha=1):
    return inplace(self, index_add, dim, index, source, alpha=alpha, name="index_add_")


def _index_copy_(self, dim, index, source):
    return inplace(self, index_copy, dim, index, source, name="index_copy_")


def _index_fill_(self, dim, index, value):
    return inplace(self, index_fill, dim, index, value, name="index_fill_")

# ---------------------------------------------------------------------- Tensor methods


for _n, _f in [("index_select", index_select), ("index_add", index_add),
               ("index_copy", index_copy), ("index_fill", index_fill), ("index_add_", _index_add_),
               ("index_copy_", _index_copy_), ("index_fill_", _index_fill_)]:
    register_method(_n)(_f)
del _n, _f
