"""Pointwise arithmetic: + - * / // % ** neg abs reciprocal square lerp addcmul addcdiv,
and the Python operators of Tensor (``a + b``, ``a @ b`` is in ``linalg``).

Binary ops broadcast like numpy and promote like PyTorch; their backward sums the
gradient back to each input's shape through ``unbroadcast``. The piecewise ops
(maximum/minimum/where/clamp and rounding) live in ``piecewise`` and stay importable here.
"""
from __future__ import annotations

import operator as _operator

import numpy as np

from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd import function as _function
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ._out import _make_inplace, _result
from ._util import binary, needs, shape_of, unbroadcast
# moved to .piecewise; re-exported so ``ktrain.ops.arith.where`` & co. keep working
from .piecewise import (Ceil, Clamp, Floor, Frac, Maximum, Minimum, Round,  # noqa: F401
                        Sign, Trunc, Where, ceil, clamp, clip, floor, fmax, fmin, frac,
                        maximum, minimum, round, sign, trunc, where)

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "pow", "neg", "negative", "abs", "absolute",
           "reciprocal", "square", "lerp", "addcmul", "addcdiv"]


_ndarray = np.ndarray
_new = object.__new__
_slow_path = _function._slow_path


def _fast_binary(cls, name):
    """The Python-operator entry: inlines the common case (same dtype, CPU, no promotion)."""
    compute = cls.compute
    record = cls._record

    def fn(a, b):
        T = Tensor
        if _slow_path[0]:  # the profiler or the jit tracer watches Op.apply
            return binary(cls, a, b, name)
        if isinstance(a, T):
            da = a._data
            if isinstance(b, T):
                db = b._data
                if da.dtype is db.dtype and type(da) is _ndarray and type(db) is _ndarray:
                    if (a._rg or b._rg) and STATE.enabled:
                        return record((a, b), {})
                    out = compute(da, db)
                    if type(out) is not _ndarray:
                        out = np.asarray(out)
                    t = _new(T)
                    t._data = out
                    t._rg = False
                    t._version = [0]
                    return t
            elif type(b) is float and da.dtype.kind == "f":
                return cls.apply(a, b)
        return binary(cls, a, b, name)

    fn.__name__ = name
    return fn


def _reverse(fn):
    def r(a, b):
        return fn(b, a)

    return r


# ---------------------------------------------------------------------- binary ops


class Add(Op):
    compute = staticmethod(_operator.add)

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        return a + b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return (unbroadcast(g, sa) if needs(ctx, 0) else None,
                unbroadcast(g, sb) if needs(ctx, 1) else None)


class Sub(Op):
    compute = staticmethod(_operator.sub)

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        return a - b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return (unbroadcast(g, sa) if needs(ctx, 0) else None,
                unbroadcast(-g, sb) if needs(ctx, 1) else None)


class Mul(Op):
    compute = staticmethod(_operator.mul)

    @staticmethod
    def forward(ctx, a, b):
        x, y = ctx.inputs
        e = ctx._edges
        # keep an operand only when the *other* one needs its gradient
        ctx.save_for_backward(x if e[1] is not None else None, y if e[0] is not None else None)
        ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        return a * b

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = gb = None
        if needs(ctx, 0):
            ga = unbroadcast(g * y, sa)
        if needs(ctx, 1):
            gb = unbroadcast(g * x, sb)
        return ga, gb


def needs_any(ctx, other):
    """During forward: is the *other* operand's gradient wanted (so this one is saved)?"""
    return isinstance(other, Tensor) and other._rg


class Div(Op):
    compute = staticmethod(_operator.truediv)

    @staticmethod
    def forward(ctx, a, b):
        x, y = ctx.inputs
        ctx.save_for_backward(x if needs_any(ctx, y) else None, y)
        ctx.shapes = (shape_of(a), shape_of(b))
        return a / b

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = gb = None
        if needs(ctx, 0):
            ga = unbroadcast(g / y, sa)
        if needs(ctx, 1):
            gb = unbroadcast(-g * x / (y * y), sb)
        return ga, gb


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        x, y = ctx.inputs
        ctx.save_for_backward(x, y)
        if isinstance(b, int) and b < 0 and getattr(a, "dtype", np.float64).kind in "iu":
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        return a ** b

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        ga = gb = None
        if needs(ctx, 0):
            if isinstance(y, Tensor):
                ga = where(y == 0, 0.0, g * y * x ** (y - 1))
            elif y == 0:
                ga = g * 0.0
            else:
                ga = g * y * x ** (y - 1)
            ga = unbroadcast(ga, x.shape)
        if needs(ctx, 1):
            out = x ** y
            if isinstance(x, Tensor):
                lx = where((x == 0) & (y >= 0), 0.0, x.log())
            else:
                lx = float(np.log(x)) if x > 0 else (0.0 if x == 0 else float("nan"))
            gb = unbroadcast(g * out * lx, y.shape)
        return ga, gb


class FloorDivide(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        return array_module(a if hasattr(a, "shape") else b).floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        z = g * 0
        return (unbroadcast(z, sa) if needs(ctx, 0) else None,
                unbroadcast(z, sb) if needs(ctx, 1) else None)


class Remainder(Op):
    """Python-style modulus; ``Fmod`` below is the C-style one. d/db = -(quotient rounded)."""

    ufunc = "remainder"

    @classmethod
    def forward(cls, ctx, a, b):
        x, y = ctx.inputs
        ctx.save_for_backward(x, y)
        return getattr(array_module(a if hasattr(a, "shape") else b), cls.ufunc)(a, b)

    @staticmethod
    def quotient(x, y):
        return floor_divide(x, y)

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        ga = unbroadcast(g, shape_of(x)) if needs(ctx, 0) else None
        gb = unbroadcast(-g * cls.quotient(x, y), shape_of(y)) if needs(ctx, 1) else None
        return ga, gb


class Fmod(Remainder):
    ufunc = "fmod"

    @staticmethod
    def quotient(x, y):
        return (x / y).trunc()


# ---------------------------------------------------------------------- unary ops


class Neg(Op):
    compute = staticmethod(_operator.neg)

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(ctx.inputs[0])
        return array_module(a).abs(a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.sign()


# ---------------------------------------------------------------------- public functions

_add = _fast_binary(Add, "add")
_sub = _fast_binary(Sub, "sub")
_mul = _fast_binary(Mul, "mul")
_div = _fast_binary(Div, "div")


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with broadcasting and PyTorch type promotion."""
    if alpha != 1:
        other = other * alpha
    return _result(_add(input, other), out)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    if alpha != 1:
        other = other * alpha
    return _result(_sub(input, other), out)


subtract = sub


def mul(input, other, *, out=None):
    """Elementwise product with broadcasting."""
    return _result(_mul(input, other), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give the default float dtype); rounding_mode 'trunc'/'floor'."""
    if rounding_mode is None:
        if _int_like(input) and _int_like(other):  # integer true division gives floats
            from .._backend import get_default_dtype

            dt = get_default_dtype()
            input = input.to(dt) if isinstance(input, Tensor) else float(input)
            other = other.to(dt) if isinstance(other, Tensor) else float(other)
        r = _div(input, other)
    elif rounding_mode == "floor":
        r = floor_divide(input, other)
    elif rounding_mode == "trunc":
        r = trunc(_div(input, other)) if _is_float(input, other) else \
            _trunc_int_div(input, other)
    else:
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    return _result(r, out)


true_divide = divide = div


def _int_like(x):
    if isinstance(x, Tensor):
        return x._data.dtype.kind in "biu"
    return isinstance(x, int)


def _is_float(a, b):
    return any(isinstance(x, float) or (isinstance(x, Tensor) and x._data.dtype.kind == "f")
               for x in (a, b))


def _trunc_int_div(a, b):
    q = floor_divide(a, b)
    r = remainder(a, b)
    fix = (r != 0) & ((a < 0) ^ (b < 0)) if isinstance(b, Tensor) or isinstance(a, Tensor) else 0
    return q + fix.to(q.dtype)


def floor_divide(input, other, *, out=None):
    """Division rounded toward minus infinity (Python's //)."""
    return _result(binary(FloorDivide, input, other, "floor_divide"), out)


def remainder(input, other, *, out=None):
    """Python-style modulus: the result has the sign of the divisor."""
    return _result(binary(Remainder, input, other, "remainder"), out)


def fmod(input, other, *, out=None):
    """C-style modulus: the result has the sign of the dividend."""
    return _result(binary(Fmod, input, other, "fmod"), out)


def pow(input, exponent, *, out=None):  # noqa: A001 - PyTorch's name
    """``input ** exponent`` (either may be a scalar)."""
    return _result(binary(Pow, input, exponent, "pow"), out)


def neg(input, *, out=None):
    """``-input``, elementwise."""
    return _result(Neg.apply(input), out)


negative = neg


def abs(input, *, out=None):  # noqa: A001
    """``|input|``, elementwise; its gradient at 0 is 0 (``sign``)."""
    return _result(Abs.apply(input), out)


absolute = abs


def reciprocal(input, *, out=None):
    """``1 / input``; integer inputs give the default float dtype."""
    if input._data.dtype.kind in "biu":
        input = input.float()
    return _result(1.0 / input, out)


def square(input, *, out=None):
    """``input * input``."""
    return _result(input * input, out)


def lerp(input, end, weight, *, out=None):
    """``input + weight * (end - input)``."""
    return _result(input + weight * (end - input), out)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """``input + value * tensor1 * tensor2``."""
    return _result(input + value * tensor1 * tensor2, out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """``input + value * tensor1 / tensor2``."""
    return _result(input + value * tensor1 / tensor2, out)


# ---------------------------------------------------------------------- Tensor methods

for _name, _fn in [("__add__", _add), ("__radd__", _reverse(_add)), ("__sub__", _sub),
                   ("__rsub__", _reverse(_sub)), ("__mul__", _mul), ("__rmul__", _reverse(_mul)),
                   ("__truediv__", lambda a, b: div(a, b)),
                   ("__rtruediv__", lambda a, b: div(b, a)),
                   ("__floordiv__", floor_divide),
                   ("__rfloordiv__", lambda a, b: floor_divide(b, a)),
                   ("__mod__", remainder), ("__rmod__", lambda a, b: remainder(b, a)),
                   ("__pow__", pow), ("__rpow__", lambda a, b: pow(b, a)), ("__neg__", neg),
                   ("__pos__", lambda a: a), ("__abs__", abs),
                   ("add", add), ("sub", sub), ("subtract", sub), ("mul", mul),
                   ("multiply", mul), ("div", div), ("divide", div), ("true_divide", div),
                   ("floor_divide", floor_divide), ("remainder", remainder), ("fmod", fmod),
                   ("pow", pow), ("neg", neg), ("negative", neg), ("abs", abs),
                   ("absolute", abs), ("reciprocal", reciprocal), ("square", square),
                   ("lerp", lerp), ("addcmul", addcmul), ("addcdiv", addcdiv)]:
    register_method(_name)(_fn)

for _name, _fn in [("add", add), ("sub", sub), ("subtract", sub), ("mul", mul),
                   ("multiply", mul), ("div", div), ("divide", div), ("true_divide", div),
                   ("floor_divide", floor_divide), ("remainder", remainder), ("fmod", fmod),
                   ("pow", pow), ("neg", neg), ("negative", neg), ("abs", abs),
                   ("absolute", abs), ("reciprocal", reciprocal), ("square", square),
                   ("lerp", lerp), ("addcmul", addcmul), ("addcdiv", addcdiv)]:
    register_method(_name + "_")(_make_inplace(_fn, _name + "_"))

for _name, _fn in [("__iadd__", _add), ("__isub__", _sub), ("__imul__", _mul),
                   ("__itruediv__", div), ("__ifloordiv__", floor_divide),
                   ("__imod__", remainder), ("__ipow__", pow)]:
    register_method(_name)(_make_inplace(_fn, _name))
