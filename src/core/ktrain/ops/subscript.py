"""Subscripts: ``t[idx]`` and ``t[idx] = v`` with basic slices, integer arrays and masks;
``index_put`` and ``copy_`` (``copy_into``), which write into a tensor the same way.

Basic indexing (ints, slices, None, Ellipsis) returns a view; advanced indexing
(integer or boolean tensors/lists) returns a copy, as in PyTorch. The gradient of an
advanced index scatters with accumulation, so repeated indices add up.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor, register_method
from ..autograd.function import Op, _slow_path
from ..autograd.grad_mode import STATE
from ._util import inplace, unbroadcast

__all__ = ["index_put"]


def _convert_index(idx, xp, shape):
    """Turn a user index into one the array module accepts; report if it is advanced."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    advanced = False
    for i in idx:
        if isinstance(i, Tensor):
            a = i._data
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 f"tensors, got {i.dtype}")
            if a.ndim == 0 and a.dtype.kind != "b":
                out.append(int(a))
                continue
            if type(a) is not np.ndarray and xp is np:
                raise RuntimeError(f"indexing a cpu tensor with a tensor on {i.device}: move the "
                                   "index to the same device")
            if xp is not np and type(a) is np.ndarray:
                a = xp.asarray(a)
            out.append(a)
            advanced = True
        elif isinstance(i, (list, np.ndarray)) or (hasattr(i, "__cuda_array_interface__")):
            a = xp.asarray(i)
            if a.dtype.kind == "f":
                raise IndexError("indices must be integers or booleans, got floats")
            out.append(a)
            advanced = True
        elif i is None or i is Ellipsis or isinstance(i, slice):
            if isinstance(i, slice):
                i = slice(_int_or_none(i.start), _int_or_none(i.stop), _int_or_none(i.step))
                if i.step is not None and i.step <= 0:
                    raise ValueError("step must be greater than zero")
            out.append(i)
        elif isinstance(i, (bool, np.bool_)):
            out.append(xp.asarray(bool(i)))
            advanced = True
        else:
            try:
                out.append(int(i))
            except TypeError:
                raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long "
                                 f"or byte Variables are valid indices (got "
                                 f"{type(i).__name__})") from None
    return tuple(out), advanced


def _int_or_none(v):
    if v is None:
        return None
    if isinstance(v, Tensor):
        return int(v.item())
    return int(v)


def _checked(fn, shape, idx_repr):
    try:
        return fn()
    except IndexError as e:
        raise IndexError(f"index {idx_repr} is out of bounds for tensor of shape {list(shape)}: "
                         f"{e}") from None


class GetItem(Op):
    @staticmethod
    def forward(ctx, a, idx, advanced):
        ctx.meta = (a.shape, a.dtype, idx, advanced)
        r = a[idx]
        return r

    @staticmethod
    def backward(ctx, g):
        shape, dtype, idx, advanced = ctx.meta
        return IndexAdd.apply(g, shape, idx, advanced), None, None


class IndexAdd(Op):
    """zeros(shape) with g added at ``idx`` (the adjoint of GetItem)."""

    @staticmethod
    def forward(ctx, g, shape, idx, advanced):
        ctx.meta = (idx, advanced)
        xp = B.array_module(g)
        z = xp.zeros(shape, g.dtype)
        if advanced:
            if xp is np:
                np.add.at(z, idx, g)
            else:
                xp.add.at(z, idx, g)
        else:
            z[idx] = g
        return z

    @staticmethod
    def backward(ctx, gg):
        idx, advanced = ctx.meta
        return GetItem.apply(gg, idx, advanced), None, None, None


class IndexPut(Op):
    """``a`` with ``v`` written at ``idx`` (out of place)."""

    @staticmethod
    def forward(ctx, a, v, idx, accumulate):
        ctx.meta = (idx, B.array_module(a).shape(v) if hasattr(v, "shape") else (), accumulate)
        out = a.copy()
        if accumulate:
            xp = B.array_module(a)
            xp.add.at(out, idx, v)
        else:
            out[idx] = v
        return out

    @staticmethod
    def backward(ctx, g):
        idx, vshape, accumulate = ctx.meta
        ga = gv = None
        if ctx._edges[0] is not None:
            ga = g if accumulate else ZeroAt.apply(g, idx)
        if ctx._edges[1] is not None:
            sel = GetItem.apply(g, idx, True)
            gv = unbroadcast(sel, tuple(vshape))
        return ga, gv, None, None


class ZeroAt(Op):
    """``g`` with zeros written at ``idx`` (self-adjoint)."""

    @staticmethod
    def forward(ctx, g, idx):
        ctx.idx = idx
        out = g.copy()
        out[idx] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        return ZeroAt.apply(gg, ctx.idx), None


def getitem(self, index):
    d = self._data
    xp = B.array_module(d)
    idx, advanced = _convert_index(index, xp, d.shape)
    if len(idx) == 1 and type(idx[0]) is int and d.ndim >= 1:  # the common t[i] fast path
        i = idx[0]
        if not -d.shape[0] <= i < d.shape[0]:
            raise IndexError(f"index {i} is out of bounds for dimension 0 with size {d.shape[0]}")
    if not (self._rg and STATE.enabled) and not _slow_path[0]:  # watched: through the op
        r = _checked(lambda: d[idx], d.shape, index)
        if isinstance(r, np.generic):
            r = np.asarray(r)
        out = Tensor._make(r)
    else:
        out = _checked(lambda: GetItem.apply(self, idx, advanced), d.shape, index)
    if not advanced:
        out._view_of(self)
    return out


def setitem(self, index, value):
    d = self._data
    xp = B.array_module(d)
    idx, advanced = _convert_index(index, xp, d.shape)
    if isinstance(value, Tensor):
        if type(value._data) is not type(d):
            B.check_same_device("index_put_", (d, value._data))
        recording = STATE.enabled and (self._rg or value._rg)
    else:
        recording = STATE.enabled and self._rg
        if not hasattr(value, "shape"):
            value = _scalar_check(value, d.dtype)
        else:
            value = xp.asarray(value)
    if not recording and not _slow_path[0]:  # watched (tracer, profiler): through the op
        v = value._data if isinstance(value, Tensor) else value
        _checked(lambda: d.__setitem__(idx, v), d.shape, index)
        self._version[0] += 1
        return
    if not isinstance(value, Tensor):
        value = Tensor._make(xp.asarray(value, dtype=d.dtype))
    elif value._data.dtype != d.dtype:
        value = value.to(B.from_numpy_dtype(d.dtype))
    _checked(lambda: inplace(self, lambda t, v: IndexPut.apply(t, v, idx, False), value,
                             name="index_put_"), d.shape, index)


def _scalar_check(value, npd):
    if isinstance(value, float) and npd.kind in "biu":
        return int(value) if npd.kind != "b" else bool(value)
    return value


def index_put(input, indices, values, accumulate=False):
    """Out-of-place ``input[indices] = values`` (``+=`` with accumulate, adding repeats)."""
    d = input._data
    idx, _ = _convert_index(tuple(indices), B.array_module(d), d.shape)
    if not isinstance(values, Tensor):
        values = input.new_tensor(values)
    if values._data.dtype != d.dtype:
        values = values.to(input.dtype)
    return IndexPut.apply(input, values, idx, accumulate)


class CopyFrom(Op):
    @staticmethod
    def forward(ctx, a, src):
        ctx.src_meta = (src.shape, src.dtype)
        xp = B.array_module(a)
        return xp.broadcast_to(src.astype(a.dtype, copy=False), a.shape).copy()

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.src_meta
        gs = None
        if ctx._edges[1] is not None:
            gs = unbroadcast(g.to(B.from_numpy_dtype(dtype)), tuple(shape))
        return None, gs


def copy_into(self: Tensor, src) -> Tensor:
    """``self.copy_(src)``: broadcast, cast and move ``src`` into self's storage."""
    if not isinstance(src, Tensor):
        src = self.new_tensor(src)
    if src.device != self.device:
        src = src.to(self.device)
    try:
        np.broadcast_shapes(src._data.shape, self._data.shape)
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {list(src.shape)} can't be broadcast to "
                           f"the destination of shape {list(self.shape)}") from None
    if not (STATE.enabled and (self._rg or src._rg)) and not _slow_path[0]:
        self._data[...] = src._data
        self._version[0] += 1
        return self
    return inplace(self, lambda t, s: CopyFrom.apply(t, s), src, name="copy_")


@register_method("copy_")
def _copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast, cast, moved across devices) into self; differentiable."""
    return copy_into(self, src)


def _index_put_(self, indices, values, accumulate=False):
    return inplace(self, index_put, indices, values, accumulate, name="index_put_")


register_method("__getitem__")(getitem)
register_method("__setitem__")(setitem)
register_method("index_put")(index_put)
register_method("index_put_")(_index_put_)
