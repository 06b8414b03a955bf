"""dtype casts and device moves as differentiable ops (``Tensor.to``)."""
from __future__ import annotations

from .. import _backend as B
from .._tensor import Tensor, register_method
from ..autograd.function import Op


class ToDtype(Op):
    @staticmethod
    def forward(ctx, a, npd, copy):
        ctx.src = a.dtype
        return a.astype(npd, copy=True)

    @staticmethod
    def backward(ctx, g):
        return to_dtype(g, B.from_numpy_dtype(ctx.src), False), None, None


class ToDevice(Op):
    @staticmethod
    def forward(ctx, a, dev, copy):
        ctx.src = B.device_of(a)
        out = B.to_device(a, dev)
        return out.copy() if copy and out is a else out

    @staticmethod
    def backward(ctx, g):
        return to_device(g, ctx.src, False), None, None


def to_dtype(t: Tensor, dtype, copy=False) -> Tensor:
    """Cast to ``dtype`` (a no-op returning ``t`` when it already has it, unless copy)."""
    npd = B.to_numpy_dtype(dtype)
    if t._data.dtype == npd and not copy:
        return t
    if t._rg and not dtype.is_floating_point:
        # casting to an integer type cuts the graph, as in PyTorch
        return Tensor._make(t._data.astype(npd))
    return ToDtype.apply(t, npd, copy)


def to_device(t: Tensor, dev, copy=False) -> Tensor:
    """Move to device ``dev``; an op on the same device returns ``t`` unless copy."""
    src = B.device_of(t._data)
    if (src == dev or (dev.type == "cuda" and dev.index is None and src.type == "cuda")) \
            and not copy:
        return t
    return ToDevice.apply(t, dev, copy)


register_method("_to_dtype")(staticmethod(to_dtype))
register_method("_to_device")(staticmethod(to_device))
