"""Helpers shared by every op family: un-broadcasting, type promotion, in-place plumbing."""
from __future__ import annotations

import numbers

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
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
    from ..creation import tensor

    return tensor(x, device=ref.device)


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
    return x.shape if hasattr(x, "shape") else ()


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
        raise RuntimeError(
            f"{name}: in-place modification of a view is not supported while autograd "
            "records a graph; use the out-of-place op, or .clone() the view first")
    snap = Tensor._make(t._data.copy(), t.grad_fn, t._rg)
    snap._output_nr = t._output_nr
    r = fn(snap, *args, **kwargs)
    _store(t, r._data, name)
    t.grad_fn = r.grad_fn
    t._output_nr = r._output_nr
    t._rg = r._rg
    return t


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
