"""Ops driven by a boolean mask: masked_fill, masked_select, masked_scatter (and the
in-place ``masked_fill_``/``masked_scatter_``), nonzero/argwhere.

Adjoint pair: ``masked_select`` <-> a masked scatter into zeros (``MaskedExpand``); the
mask broadcasts against the input as in PyTorch and never requires grad. ``nonzero`` and
``argwhere`` give int64 indices without a graph.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ._index_util import _check_same_dtype, _check_tensor, _fill_value
from ._util import inplace, needs, unbroadcast
from .arith import _result, where
from .scatter_gather import _pad_to

__all__ = ["masked_fill", "masked_select", "masked_scatter", "nonzero", "argwhere"]


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

# ---------------------------------------------------------------------- Tensor methods


for _n, _f in [("masked_fill", masked_fill), ("masked_select", masked_select),
               ("masked_scatter", masked_scatter), ("nonzero", nonzero), ("argwhere", argwhere),
               ("masked_fill_", _masked_fill_), ("masked_scatter_", _masked_scatter_)]:
    register_method(_n)(_f)
del _n, _f
