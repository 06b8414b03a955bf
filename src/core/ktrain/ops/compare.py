"""Comparisons and logical ops: results are bool tensors and carry no gradient."""
from __future__ import annotations

from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ._util import binary_operands, _Upcast

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
           "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "isclose", "allclose", "equal"]


class Compare(Op):
    """Elementwise ``ufunc`` (a numpy ufunc name: comparisons, logical and bitwise ops) of
    two operands, as one op so that tracers and profilers see it. No gradient: the
    wrappers hand it operands detached from any graph (bool or integer results)."""

    @staticmethod
    def compute(x, y, ufunc, kw=None):
        xp = array_module(x if hasattr(x, "shape") else y)
        f = getattr(xp, ufunc)
        return xp.asarray(f(x, y) if kw is None else f(x, y, *kw))

    @staticmethod
    def forward(ctx, x, y, ufunc, kw=None):
        return Compare.compute(x, y, ufunc, kw)

    @staticmethod
    def backward(ctx, g):  # pragma: no cover - operands never require grad
        return None, None, None, None


class Invert(Op):
    """Elementwise ``logical_not`` or ``invert`` (a numpy ufunc name); no gradient."""

    @staticmethod
    def compute(x, ufunc):
        return getattr(array_module(x), ufunc)(x)

    @staticmethod
    def forward(ctx, x, ufunc):
        return Invert.compute(x, ufunc)

    @staticmethod
    def backward(ctx, g):  # pragma: no cover - the operand never requires grad
        return None, None


def _plain(t):
    return t.detach() if isinstance(t, Tensor) and t._rg else t


def _operands(a, b, name):
    try:
        a, b = binary_operands(a, b, name)
    except _Upcast as up:  # e.g. int tensor vs float scalar: compare in floating point
        a = a.to(up.dtype) if isinstance(a, Tensor) else a
        b = b.to(up.dtype) if isinstance(b, Tensor) else b
    return _plain(a), _plain(b)


def _cmp(ufunc_name, name):
    def fn(input, other, *, out=None):
        x, y = _operands(input, other, name)
        return Compare.apply(x, y, ufunc_name)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{ufunc_name}`` as a bool tensor (broadcasting)."
    return fn


eq = _cmp("equal", "eq")
ne = not_equal = _cmp("not_equal", "ne")
lt = less = _cmp("less", "lt")
le = less_equal = _cmp("less_equal", "le")
gt = greater = _cmp("greater", "gt")
ge = greater_equal = _cmp("greater_equal", "ge")
logical_and = _cmp("logical_and", "logical_and")
logical_or = _cmp("logical_or", "logical_or")
logical_xor = _cmp("logical_xor", "logical_xor")


def _bitwise(ufunc_name, name):
    def fn(input, other):
        x, y = _operands(input, other, name)
        for v in (x, y):
            d = v._data if isinstance(v, Tensor) else v
            if getattr(d, "dtype", None) is not None and d.dtype.kind == "f":
                raise RuntimeError(f"{name}: not implemented for floating point tensors")
        return Compare.apply(x, y, ufunc_name)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{ufunc_name}`` of integer or bool tensors (broadcasting)."
    return fn


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")


def logical_not(input):
    """Elementwise logical NOT as a bool tensor."""
    return Invert.apply(_plain(input), "logical_not")


def bitwise_not(input):
    """Elementwise bitwise NOT of an integer or bool tensor (``~a``)."""
    if input._data.dtype.kind == "f":
        raise RuntimeError("bitwise_not: not implemented for floating point tensors")
    return Invert.apply(_plain(input), "invert")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` elementwise, as a bool tensor."""
    x, y = _operands(input, other, "isclose")
    return Compare.apply(x, y, "isclose", (rtol, atol, equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether ``isclose`` holds for every element (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def equal(input, other) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(eq(input, other).all())


for _n, _f in [("__eq__", eq), ("__ne__", ne), ("__lt__", lt), ("__le__", le), ("__gt__", gt),
               ("__ge__", ge), ("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt),
               ("ge", ge), ("not_equal", ne), ("less", lt), ("less_equal", le),
               ("greater", gt), ("greater_equal", ge), ("logical_and", logical_and),
               ("logical_or", logical_or), ("logical_xor", logical_xor),
               ("logical_not", logical_not), ("bitwise_and", bitwise_and),
               ("bitwise_or", bitwise_or), ("bitwise_xor", bitwise_xor),
               ("bitwise_not", bitwise_not), ("__and__", bitwise_and), ("__or__", bitwise_or),
               ("__xor__", bitwise_xor), ("__invert__", bitwise_not),
               ("__rand__", lambda a, b: bitwise_and(b, a)),
               ("__ror__", lambda a, b: bitwise_or(b, a)),
               ("__rxor__", lambda a, b: bitwise_xor(b, a)),
               ("isclose", isclose), ("allclose", allclose), ("equal", equal)]:
    register_method(_n)(_f)
# defining __eq__ would make instances unhashable; tensors hash by identity, as in PyTorch
register_method("__hash__")(object.__hash__)
