"""Cumulative ops along one dim: cumsum, cumprod (and their in-place methods).

Integer and bool inputs accumulate in int64, as in PyTorch; cumprod's backward is exact
where the input has zeros.
"""
from __future__ import annotations

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, register_method
from ..autograd.function import Op
from ._dims import _one_dim
from ._util import inplace
from .piecewise import where

__all__ = ["cumsum", "cumprod"]


# ---------------------------------------------------------------------- cumulative


class Cumsum(Op):
    """Cumulative sum along ``axis`` (from the end when ``reverse``): each is the other's
    backward."""

    @staticmethod
    def forward(ctx, a, axis, reverse):
        ctx.meta = (axis, reverse)
        xp = array_module(a)
        if reverse:
            return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)
        return xp.cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis, reverse = ctx.meta
        return Cumsum.apply(g, axis, not reverse), None, None


class Cumprod(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, axis):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.axis = axis
        return array_module(a).cumprod(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axis = ctx.axis
        # grad_i = sum_{j >= i} g_j out_j / x_i, exact wherever x_i != 0
        rev = Cumsum.apply(g * ctx.saved_output, axis, True)
        zero = x._data == 0
        if not zero.any():
            return rev / x, None
        # at the first zero z of a slice: grad_z = sum_{j >= z} g_j prod_{k <= j, k != z} x_k,
        # a reverse cumsum against the cumprod of x with that zero replaced by 1; past z the
        # formula above gives the right value 0 (out_j = 0 there).
        xp = array_module(zero)
        first = Tensor._make(zero & (xp.cumsum(zero, axis=axis) == 1))
        p = Cumprod.apply(where(first, 1.0, x), axis)
        return where(first, Cumsum.apply(g * p, axis, True),
                     rev / where(Tensor._make(zero), 1.0, x)), None


def _cum_input(input, dim, dtype, op):
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":  # integer cumulative ops accumulate in int64
        input = input.to(B.int64)
    return input, _one_dim(dim, input, op)


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``; integer/bool inputs give int64."""
    input, axis = _cum_input(input, dim, dtype, "cumsum")
    return input.clone() if axis is None else Cumsum.apply(input, axis, False)


def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``; integer/bool inputs give int64."""
    input, axis = _cum_input(input, dim, dtype, "cumprod")
    return input.clone() if axis is None else Cumprod.apply(input, axis)


# ---------------------------------------------------------------------- Tensor methods

register_method("cumsum")(cumsum)
register_method("cumprod")(cumprod)
register_method("cumsum_")(lambda self, dim, *, dtype=None: inplace(
    self, cumsum, dim, dtype=dtype, name="cumsum_"))
register_method("cumprod_")(lambda self, dim, *, dtype=None: inplace(
    self, cumprod, dim, dtype=dtype, name="cumprod_"))
