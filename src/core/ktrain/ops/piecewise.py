"""Piecewise pointwise ops: maximum/minimum/fmax/fmin, where, clamp, and the rounding
family sign/floor/ceil/round/trunc/frac.

Their gradients pass through (or are split at ties, or are zero) piece by piece; binary
ones broadcast like numpy and sum the gradient back through ``unbroadcast``.
"""
from __future__ import annotations

from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ._out import _make_inplace, _result
from ._util import binary, binary_operands, needs, shape_of, unbroadcast

__all__ = ["maximum", "minimum", "fmax", "fmin", "where", "clamp", "clip", "sign", "floor",
           "ceil", "round", "trunc", "frac"]


# ---------------------------------------------------------------------- ops


class _Extremum(Op):
    """maximum / minimum: ``ufunc`` picks, ``wins(x, y)`` says where x was picked."""

    ufunc = wins = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return getattr(array_module(a), cls.ufunc)(a, b)

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        # ties split the gradient evenly, as PyTorch does
        w = cls.wins(x, y).to(g.dtype) + (x == y).to(g.dtype) * 0.5
        return (unbroadcast(g * w, x.shape) if needs(ctx, 0) else None,
                unbroadcast(g * (1 - w), y.shape) if needs(ctx, 1) else None)


class Maximum(_Extremum):
    ufunc = "maximum"

    @staticmethod
    def wins(x, y):
        return x > y


class Minimum(_Extremum):
    ufunc = "minimum"

    @staticmethod
    def wins(x, y):
        return x < y


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b):
        c = ctx.inputs[0]
        ctx.save_for_backward(c)
        ctx.shapes = (shape_of(a), shape_of(b))
        xp = array_module(cond)
        return xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        z = g.new_zeros(())
        return (None,
                unbroadcast(where(c, g, z), sa) if needs(ctx, 1) else None,
                unbroadcast(where(c, z, g), sb) if needs(ctx, 2) else None)


class Clamp(Op):
    @staticmethod
    def forward(ctx, a, lo, hi):
        xp = array_module(a)
        ctx.save_for_backward(ctx.inputs[0])
        ctx.bounds = (lo, hi)
        if lo is not None and hi is not None:
            return xp.minimum(xp.maximum(a, lo), hi)
        if lo is not None:
            return xp.maximum(a, lo)
        return xp.minimum(a, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            m2 = x <= hi
            mask = m2 if mask is None else mask & m2
        return g * mask.to(g.dtype), None, None


class _ZeroGrad(Op):
    """Piecewise-constant ops: the gradient is zero everywhere it exists."""

    fn = None

    @classmethod
    def forward(cls, ctx, a, *params):
        return cls.fn(array_module(a), a, *params)

    @staticmethod
    def backward(ctx, g):
        return (g * 0,) + (None,) * 3


class Sign(_ZeroGrad):
    fn = staticmethod(lambda xp, a: xp.sign(a))


class Floor(_ZeroGrad):
    fn = staticmethod(lambda xp, a: xp.floor(a) if a.dtype.kind == "f" else a.copy())


class Ceil(_ZeroGrad):
    fn = staticmethod(lambda xp, a: xp.ceil(a) if a.dtype.kind == "f" else a.copy())


class Round(_ZeroGrad):
    fn = staticmethod(lambda xp, a, decimals: xp.round(a, decimals))


class Trunc(_ZeroGrad):
    fn = staticmethod(lambda xp, a: xp.trunc(a) if a.dtype.kind == "f" else a.copy())


class Frac(Op):
    @staticmethod
    def forward(ctx, a):
        return a - array_module(a).trunc(a)

    @staticmethod
    def backward(ctx, g):
        return g


# ---------------------------------------------------------------------- public functions


def maximum(input, other, *, out=None):
    """Elementwise maximum (ties split the gradient, as PyTorch does)."""
    return _result(binary(Maximum, input, other, "maximum"), out)


def minimum(input, other, *, out=None):
    """Elementwise minimum."""
    return _result(binary(Minimum, input, other, "minimum"), out)


def fmax(input, other, *, out=None):
    """Maximum that ignores NaN when the other value is a number."""
    o = maximum(input, other)
    return _result(where(input.isnan(), other, where(_as_t(other, input).isnan(), input, o)), out)


def fmin(input, other, *, out=None):
    """Minimum that ignores NaN when the other value is a number."""
    o = minimum(input, other)
    return _result(where(input.isnan(), other, where(_as_t(other, input).isnan(), input, o)), out)


def _as_t(x, ref):
    return x if isinstance(x, Tensor) else ref.new_tensor(x)


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` holds, else ``other``; ``where(cond)`` gives indices."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where: condition must be a bool Tensor")
    if condition._data.dtype.kind != "b":
        condition = condition.bool()
    try:
        a, b = binary_operands(input, other, "where")
    except Exception:
        a, b = input, other
        if isinstance(a, Tensor) and not isinstance(b, Tensor):
            b = float(b) if a._data.dtype.kind == "f" else b
    return _result(Where.apply(condition, a, b), out)


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002
    """Clamp into [min, max]; bounds may be numbers or tensors (gradient passes inside)."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        r = input
        if min is not None:
            r = maximum(r, min)
        if max is not None:
            r = minimum(r, max)
        return _result(r, out)
    if input._data.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
        input = input.float()
    return _result(Clamp.apply(input, min, max), out)


clip = clamp


def sign(input, *, out=None):
    """-1, 0 or 1 by the sign of each element (zero gradient)."""
    return _result(Sign.apply(input), out)


def floor(input, *, out=None):
    """Largest integer <= x, elementwise (zero gradient; integers are copied)."""
    return _result(Floor.apply(input), out)


def ceil(input, *, out=None):
    """Smallest integer >= x, elementwise (zero gradient; integers are copied)."""
    return _result(Ceil.apply(input), out)


def round(input, *, decimals=0, out=None):  # noqa: A001
    """Round half to even, as PyTorch does."""
    return _result(Round.apply(input, decimals), out)


def trunc(input, *, out=None):
    """x rounded toward zero, elementwise (zero gradient; integers are copied)."""
    return _result(Trunc.apply(input), out)


def frac(input, *, out=None):
    """``x - trunc(x)``, the fractional part with the sign of x (gradient 1)."""
    return _result(Frac.apply(input), out)


# ---------------------------------------------------------------------- Tensor methods

for _name, _fn in [("maximum", maximum), ("minimum", minimum), ("fmax", fmax), ("fmin", fmin),
                   ("clamp", clamp), ("clip", clip), ("sign", sign), ("floor", floor),
                   ("ceil", ceil), ("round", round), ("trunc", trunc), ("frac", frac)]:
    register_method(_name)(_fn)
for _name, _fn in [("clamp", clamp), ("clip", clip), ("sign", sign), ("floor", floor),
                   ("ceil", ceil), ("round", round), ("trunc", trunc), ("frac", frac),
                   ("maximum", maximum), ("minimum", minimum)]:
    register_method(_name + "_")(_make_inplace(_fn, _name + "_"))
