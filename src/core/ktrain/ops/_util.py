"""Helpers shared by every op family: un-broadcasting, type promotion, in-place plumbing.

Layer: the bottom of ``ops`` (above ``creation``); it also attaches ``Tensor.fill_``,
whose autograd path is in-place plumbing.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _backend as B
from .._tensor import Tensor, register_method
from ..autograd import function as _function
from ..autograd.function import Op
from ..creation import tensor as _tensor_of
from ..autograd.grad_mode import STATE

_generic = np.generic


def unbroadcast(g: Tensor, shape) -> Tensor:
    """Sum gradient ``g`` back to ``shape``, undoing broadcasting (the one shared helper)."""
    gs = g._data.shape
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and gs[i + lead] != 1)
    if axes:
        g = g.sum(axes)
    if g._data.shape != shape:
        g = g.reshape(shape)
    return g


def to_scalar(x):
    """A Python number for numpy scalars; None when ``x`` is not a number."""
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, _generic):
        return x.item()
    if isinstance(x, numbers.Number):
        return complex(x) if isinstance(x, complex) else float(x)
    return None


def as_tensor_like(x, ref: Tensor) -> Tensor:
    """Turn an array-like operand into a Tensor on ``ref``'s device."""
    return _tensor_of(x, device=ref.device)


def binary_operands(a, b, op: str):
    """Prepare the operands of a binary op with PyTorch's promotion.

    Returns ``(a, b)`` where each is a Tensor or a Python scalar, both promoted to the
    result dtype (scalars stay weakly typed: ``float32_tensor * 2.5`` stays float32).
    """
    if not isinstance(a, Tensor):
        s = to_scalar(a)
        if s is None:
            a = as_tensor_like(a, b)
        else:
            a = s
    if not isinstance(b, Tensor):
        s = to_scalar(b)
        if s is None:
            b = as_tensor_like(b, a)
        else:
            b = s
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if type(a._data) is not type(b._data) or (type(a._data) is not np.ndarray
                                                      and a._data.device != b._data.device):
                B.check_same_device(op, (a._data, b._data))
            if da is db or da == db:
                return a, b
            return _promote_pair(a, b)
        return a, _scalar_for(a, b)
    if isinstance(b, Tensor):
        return _scalar_for(b, a), b
    raise TypeError(f"{op}: expected at least one Tensor operand")


def _promote_pair(a, b):
    ta, tb = B.from_numpy_dtype(a._data.dtype), B.from_numpy_dtype(b._data.dtype)
    dims = [t for t, x in ((ta, a), (tb, b)) if x._data.ndim > 0]
    zero = [t for t, x in ((ta, a), (tb, b)) if x._data.ndim == 0]
    r = B.result_type(dims, zero)
    if ta is not r:
        a = a.to(r)
    if tb is not r:
        b = b.to(r)
    return a, b


def _scalar_for(t: Tensor, s):
    """Cast tensor ``t`` up when the scalar ``s`` has a higher category; return the scalar."""
    kind = t._data.dtype.kind
    if isinstance(s, bool):
        return s
    if isinstance(s, int):
        if kind == "b":
            raise _Upcast(B.int64)
        return s
    if isinstance(s, float):
        if kind in "biu":
            raise _Upcast(B.get_default_dtype())
        return s
    raise TypeError(f"unsupported scalar operand of type {type(s).__name__}")


class _Upcast(Exception):
    def __init__(self, dtype):
        self.dtype = dtype


def binary(op_cls, a, b, name):
    """Apply a binary ``Op`` after promotion; handles scalar-forced upcasts."""
    try:
        a, b = binary_operands(a, b, name)
    except _Upcast as up:
        if isinstance(a, Tensor):
            a = a.to(up.dtype)
        if isinstance(b, Tensor):
            b = b.to(up.dtype)
        a, b = binary_operands(a, b, name)
    return op_cls.apply(a, b)


def needs(ctx, i) -> bool:
    """Whether input ``i`` of the node wants a gradient (cheap needs_input_grad[i])."""
    return ctx._edges[i] is not None


def shape_of(x):
    return getattr(x, "shape", ())


def inplace(t: Tensor, fn, *args, name=None, **kwargs):
    """Run the out-of-place ``fn(t, *args)`` and write its result into ``t``'s storage.

    With a graph being recorded, ``t`` takes the result's history (PyTorch's rebase),
    after the history's own inputs were given a snapshot of ``t``'s old values.
    """
    name = name or getattr(fn, "__name__", "op") + "_"
    recording = STATE.enabled and (t._rg or any(isinstance(a, Tensor) and a._rg for a in args)
                                   or any(isinstance(v, Tensor) and v._rg
                                          for v in kwargs.values()))
    if not recording:
        prev = STATE.enabled
        STATE.enabled = False
        try:
            r = fn(t, *args, **kwargs)
        finally:
            STATE.enabled = prev
        _store(t, r._data, name)
        return t
    if t.grad_fn is None and t._rg:
        raise RuntimeError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({name}); do it under `with ktrain.no_grad():` or use the out-of-place op")
    if t._base is not None:
        return _inplace_on_view(t, fn, args, kwargs, name)
    snap = Tensor._make(t._data.copy(), t.grad_fn, t._rg)
    snap._output_nr = t._output_nr
    r = fn(snap, *args, **kwargs)
    _store(t, r._data, name)
    t.grad_fn = r.grad_fn
    t._output_nr = r._output_nr
    t._rg = r._rg
    return t


def inplace_over(t: Tensor, over, fn, *, name):
    """In-place ``fn(t)`` for an elementwise op without tensor arguments whose backward
    needs only its output (PyTorch's ``relu_``, which saves its result, not its input).

    ``over`` is the same Op writing its result over its input array, with
    ``save_output``. One pass over ``t`` and no snapshot of its old values (nothing needs
    them; a node that saved them sees the version bump); the node keeps ``t``'s storage as
    its output, checked against ``t``'s version counter. A view covering its whole base
    (a reshape, as ``batch_norm`` returns) is rebased with one reshape node for the base;
    other views, and dtypes the op cannot write over, take :func:`inplace` with ``fn``.
    """
    if t._data.dtype.kind not in "fiu":
        return inplace(t, fn, name=name)
    if not (STATE.enabled and t._rg):
        over.apply(t)  # no graph: a plain write over the array
        t._version[0] += 1
        return t
    base = t._base
    if t.grad_fn is None or (base is not None and not _whole_view(t._data, base)):
        return inplace(t, fn, name=name)  # leaf error, or CopySlices for a partial view
    node = over.apply(t).grad_fn
    t._version[0] += 1
    node._out = (t._data, t._version, t._version[0])
    t.grad_fn = node
    t._output_nr = 0
    if base is not None:  # the base's new history: the result in the base's shape
        base.grad_fn = t.reshape(base.shape).grad_fn
        base._output_nr = 0
        base._rg = True
    return t


def _whole_view(arr, base):
    """Whether ``arr`` is the whole C-contiguous storage of ``base`` (a reshape of it)."""
    b = base._data
    return (base._rg and base.grad_fn is not None and arr.size == b.size
            and arr.dtype == b.dtype and arr.flags.c_contiguous and b.flags.c_contiguous
            and _ptr(arr) == _ptr(b))


def _store(t: Tensor, arr, name):
    d = t._data
    if arr.dtype != d.dtype:
        if d.dtype.kind in "biu" and arr.dtype.kind == "f" or d.dtype.kind == "b" and \
                arr.dtype.kind != "b":
            raise RuntimeError(
                f"{name}: result type {B.from_numpy_dtype(arr.dtype).name} can't be cast to the "
                f"desired output type {B.from_numpy_dtype(d.dtype).name}")
    if arr.shape != d.shape:
        raise RuntimeError(
            f"{name}: output with shape {list(d.shape)} doesn't match the broadcast shape "
            f"{list(arr.shape)}")
    if arr is not d:
        d[...] = arr
    t._version[0] += 1


# ---------------------------------------------------------------------- in-place on views
# Writing into a view changes its base, so the base's history must change too (PyTorch's
# CopySlices): the base becomes "old base with the view's region replaced by the result",
# and the view's history is re-derived from the base's new node. A view's region inside
# its base is described by (offset, strides) in elements of the C-contiguous base storage.


def _region(view_arr, base_arr, name):
    if not base_arr.flags.c_contiguous or view_arr.dtype != base_arr.dtype:
        raise RuntimeError(
            f"{name}: in-place modification of this view under autograd needs a contiguous "
            "base of the same dtype; use the out-of-place op or .clone() the view first")
    item = base_arr.itemsize
    off = _ptr(view_arr) - _ptr(base_arr)
    return (off // item, tuple(s // item for s in view_arr.strides), view_arr.shape,
            base_arr.shape)


def _ptr(a):
    return a.__array_interface__["data"][0] if type(a) is np.ndarray else a.data.ptr


def _strided(flat, region):
    off, strides, shape, _ = region
    xp = B.array_module(flat)
    item = flat.itemsize
    return xp.lib.stride_tricks.as_strided(flat[off:], shape, tuple(s * item for s in strides))


class ViewGather(Op):
    """The region of a (C-contiguous) base described by ``region``: a view, no copy."""

    @staticmethod
    def forward(ctx, a, region):
        ctx.region = region
        return _strided(a.reshape(-1), region)

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(g, ctx.region), None


class ViewScatter(Op):
    """zeros(base shape) with ``g`` added into the region (adjoint of ViewGather)."""

    @staticmethod
    def forward(ctx, g, region):
        ctx.region = region
        xp = B.array_module(g)
        z = xp.zeros(region[3], g.dtype)
        _strided(z.reshape(-1), region)[...] += g
        return z

    @staticmethod
    def backward(ctx, gg):
        return ViewGather.apply(gg.contiguous(), ctx.region), None


class ZeroRegion(Op):
    """``g`` with the region set to zero (self-adjoint)."""

    @staticmethod
    def forward(ctx, g, region):
        ctx.region = region
        out = B.array_module(g).ascontiguousarray(g).copy()
        _strided(out.reshape(-1), region)[...] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        return ZeroRegion.apply(gg, ctx.region), None


class CopySlices(Op):
    """The base after its region was overwritten by ``src`` (storage already updated)."""

    @staticmethod
    def forward(ctx, base, src, region):
        ctx.region = region
        return base

    @staticmethod
    def backward(ctx, g):
        g = g.contiguous()
        gb = ZeroRegion.apply(g, ctx.region) if ctx._edges[0] is not None else None
        gs = ViewGather.apply(g, ctx.region) if ctx._edges[1] is not None else None
        return gb, gs, None


def _inplace_on_view(t, fn, args, kwargs, name):
    base = t._base
    if base.grad_fn is None and base._rg:
        raise RuntimeError(
            f"a view of a leaf Variable that requires grad is being used in an in-place "
            f"operation ({name}); do it under `with ktrain.no_grad():`")
    region = _region(t._data, base._data, name)
    alias = Tensor._make(base._data, base.grad_fn, base._rg)
    alias._output_nr = base._output_nr
    old = ViewGather.apply(alias, region)  # the view's old values, history from the base
    old._data = old._data.copy()
    r = fn(old, *args, **kwargs)
    _store(t, r._data, name)
    node = CopySlices.apply(alias, r, region).grad_fn
    if node is None:
        return t
    base.grad_fn = node
    base._output_nr = 0
    base._rg = True
    t.grad_fn = ViewGather.apply(base, region).grad_fn
    t._output_nr = 0
    t._rg = True
    return t


@register_method("fill_")
def fill_(self: Tensor, value) -> Tensor:
    """Fill with a number or a 0-d tensor (differentiable in the value, like PyTorch)."""
    if not (STATE.enabled and (self._rg or isinstance(value, Tensor) and value._rg)) \
            and not _function._slow_path[0]:  # watched (tracer, profiler): through ops
        v = value._data if isinstance(value, Tensor) else value
        self._data[...] = v
        self._version[0] += 1
        return self

    def filled(t, v):
        z = t * 0  # keeps the shape, dtype and device; the old values get no gradient
        return (z + v) if isinstance(v, Tensor) else z.detach() + v

    return inplace(self, filled, value, name="fill_")

