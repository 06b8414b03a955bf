"""Pointwise arithmetic: + - * / // % ** neg abs, maximum/minimum/where, clamp, rounding.

Binary ops broadcast like numpy and promote like PyTorch; their backward sums the
gradient back to each input's shape through ``unbroadcast``.
"""
from __future__ import annotations

import operator as _operator

import numpy as np

from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ._util import binary, binary_operands, inplace, needs, shape_of, unbroadcast

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "pow", "neg", "negative", "abs", "absolute",
           "maximum", "minimum", "fmax", "fmin", "where", "clamp", "clip", "sign", "floor",
           "ceil", "round", "trunc", "frac", "reciprocal", "square", "lerp", "addcmul",
           "addcdiv"]


_ndarray = np.ndarray
_new = object.__new__


def _fast_binary(cls, name):
    """The Python-operator entry: inlines the common case (same dtype, CPU, no promotion)."""
    compute = cls.compute
    record = cls._record

    def fn(a, b):
        T = Tensor
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


class Maximum(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return array_module(a).maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        # ties split the gradient evenly, as PyTorch does
        w = (x > y).to(g.dtype) + (x == y).to(g.dtype) * 0.5
        return (unbroadcast(g * w, x.shape) if needs(ctx, 0) else None,
                unbroadcast(g * (1 - w), y.shape) if needs(ctx, 1) else None)


class Minimum(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return array_module(a).minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        w = (x < y).to(g.dtype) + (x == y).to(g.dtype) * 0.5
        return (unbroadcast(g * w, x.shape) if needs(ctx, 0) else None,
                unbroadcast(g * (1 - w), y.shape) if needs(ctx, 1) else None)


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
    return _result(Neg.apply(input), out)


negative = neg


def abs(input, *, out=None):  # noqa: A001
    return _result(Abs.apply(input), out)


absolute = abs


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
    return _result(Sign.apply(input), out)


def floor(input, *, out=None):
    return _result(Floor.apply(input), out)


def ceil(input, *, out=None):
    return _result(Ceil.apply(input), out)


def round(input, *, decimals=0, out=None):  # noqa: A001
    """Round half to even, as PyTorch does."""
    return _result(Round.apply(input, decimals), out)


def trunc(input, *, out=None):
    return _result(Trunc.apply(input), out)


def frac(input, *, out=None):
    return _result(Frac.apply(input), out)


def reciprocal(input, *, out=None):
    if input._data.dtype.kind in "biu":
        input = input.float()
    return _result(1.0 / input, out)


def square(input, *, out=None):
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


def _result(r, out):
    if out is None:
        return r
    if STATE.enabled and (r._rg or out._rg):
        raise RuntimeError("out= arguments don't support automatic differentiation, but one of "
                           "the arguments requires grad")
    if out._data.shape != r._data.shape:
        out._data = r._data.astype(out._data.dtype, copy=True)
    else:
        out._data[...] = r._data
    out._version[0] += 1
    return out


# ---------------------------------------------------------------------- Tensor methods

Tensor.__add__ = _add
Tensor.__radd__ = _reverse(_add)
Tensor.__sub__ = _sub
Tensor.__rsub__ = _reverse(_sub)
Tensor.__mul__ = _mul
Tensor.__rmul__ = _reverse(_mul)
Tensor.__truediv__ = lambda a, b: div(a, b)
Tensor.__rtruediv__ = lambda a, b: div(b, a)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = lambda a, b: floor_divide(b, a)
Tensor.__mod__ = remainder
Tensor.__rmod__ = lambda a, b: remainder(b, a)
Tensor.__pow__ = pow
Tensor.__rpow__ = lambda a, b: pow(b, a)
Tensor.__neg__ = neg
Tensor.__pos__ = lambda a: a
Tensor.__abs__ = abs

for _name, _fn in [("add", add), ("sub", sub), ("subtract", sub), ("mul", mul),
                   ("multiply", mul), ("div", div), ("divide", div), ("true_divide", div),
                   ("floor_divide", floor_divide), ("remainder", remainder), ("fmod", fmod),
                   ("pow", pow), ("neg", neg), ("negative", neg), ("abs", abs),
                   ("absolute", abs), ("maximum", maximum), ("minimum", minimum),
                   ("fmax", fmax), ("fmin", fmin), ("clamp", clamp), ("clip", clip),
                   ("sign", sign), ("floor", floor), ("ceil", ceil), ("round", round),
                   ("trunc", trunc), ("frac", frac), ("reciprocal", reciprocal),
                   ("square", square), ("lerp", lerp), ("addcmul", addcmul),
                   ("addcdiv", addcdiv)]:
    register_method(_name)(_fn)


def _make_inplace(fn, name):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, name=name, **kwargs)

    method.__name__ = name
    return method


for _name, _fn in [("add", add), ("sub", sub), ("subtract", sub), ("mul", mul),
                   ("multiply", mul), ("div", div), ("divide", div), ("true_divide", div),
                   ("floor_divide", floor_divide), ("remainder", remainder), ("fmod", fmod),
                   ("pow", pow), ("neg", neg), ("negative", neg), ("abs", abs),
                   ("absolute", abs), ("clamp", clamp), ("clip", clip), ("sign", sign),
                   ("floor", floor), ("ceil", ceil), ("round", round), ("trunc", trunc),
                   ("frac", frac), ("reciprocal", reciprocal), ("square", square),
                   ("lerp", lerp), ("addcmul", addcmul), ("addcdiv", addcdiv),
                   ("maximum", maximum), ("minimum", minimum)]:
    register_method(_name + "_")(_make_inplace(_fn, _name + "_"))

Tensor.__iadd__ = _make_inplace(_add, "__iadd__")
Tensor.__isub__ = _make_inplace(_sub, "__isub__")
Tensor.__imul__ = _make_inplace(_mul, "__imul__")
Tensor.__itruediv__ = _make_inplace(div, "__itruediv__")
Tensor.__ifloordiv__ = _make_inplace(floor_divide, "__ifloordiv__")
Tensor.__imod__ = _make_inplace(remainder, "__imod__")
Tensor.__ipow__ = _make_inplace(pow, "__ipow__")
