"""Matrix products: matmul (@) with PyTorch's 1-D and batch-broadcast rules, mm, bmm..."""
from __future__ import annotations

from .._tensor import Tensor, register_method
from ..amp import autocast_mode as _amp
from ..autograd.function import Op
from ._util import binary_operands, unbroadcast
from .arith import _result

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "addmm", "baddbmm"]


def _mm(a, b):
    out = a @ b
    if out.dtype != a.dtype:  # numpy computes bfloat16 (ml_dtypes) products in float32
        out = out.astype(a.dtype)
    return out


class Matmul(Op):
    compute = staticmethod(_mm)

    @staticmethod
    def forward(ctx, a, b):
        x, y = ctx.inputs
        ctx.save_for_backward(x if y._rg else None, y if x._rg else None)
        ctx.shapes = (a.shape, b.shape)
        return _mm(a, b)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        sa, sb = ctx.shapes
        # shapes with 1-D operands promoted to matrices, as numpy does internally
        a2 = sa if len(sa) > 1 else (1,) + sa
        b2 = sb if len(sb) > 1 else sb + (1,)
        k = (len(sa) > 1) + (len(sb) > 1)  # matrix dims that survive in the output
        gs = g._data.shape
        o2 = gs[:len(gs) - k] + (a2[-2], b2[-1])
        g2 = g.reshape(o2) if gs != o2 else g
        ga = gb = None
        if ctx._edges[0] is not None:
            yy = y.reshape(b2) if y.ndim == 1 else y
            ga = unbroadcast(g2 @ yy.mT, a2)
            if len(sa) == 1:
                ga = ga.reshape(sa)
        if ctx._edges[1] is not None:
            xx = x.reshape(a2) if x.ndim == 1 else x
            gb = unbroadcast(xx.mT @ g2, b2)
            if len(sb) == 1:
                gb = gb.reshape(sb)
        return ga, gb


def matmul(input, other, *, out=None):
    """Matrix product with numpy/PyTorch rules: 1-D operands are vectors, batch dims broadcast."""
    if _amp.ANY_ACTIVE:
        input, other = _amp.cast_inputs("matmul", input, other)
    if out is None and isinstance(input, Tensor) and isinstance(other, Tensor):
        da, db = input._data, other._data
        if da.dtype is db.dtype and da.ndim and db.ndim:  # the common case: no checks needed
            try:
                return Matmul.apply(input, other)
            except ValueError:
                pass  # fall through to the checks below for a clear message
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul: both operands must be Tensors")
    if input._data.ndim == 0 or other._data.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{input._data.ndim}D and {other._data.ndim}D")
    sa, sb = input._data.shape, other._data.shape
    ka = sa[-1]
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if ka != kb:
        raise RuntimeError(f"matmul: mat1 and mat2 shapes cannot be multiplied "
                           f"({_mshape(sa)} and {_mshape(sb)}); inner dimensions {ka} and {kb} "
                           "differ")
    if input._data.dtype != other._data.dtype:
        input, other = binary_operands(input, other, "matmul")
    try:
        r = Matmul.apply(input, other)
    except ValueError as e:
        raise RuntimeError(f"matmul: shapes {list(sa)} and {list(sb)} do not broadcast: {e}") \
            from None
    return _result(r, out)


def _mshape(s):
    return "x".join(str(v) for v in s)


def mm(input, mat2, *, out=None):
    """Product of two 2-D matrices."""
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input._data.ndim}-D and "
                           f"{mat2._data.ndim}-D")
    return matmul(input, mat2, out=out)


def bmm(input, mat2, *, out=None):
    """Batched product of (b, n, m) and (b, m, p) tensors."""
    if input._data.ndim != 3 or mat2._data.ndim != 3:
        raise RuntimeError("bmm: expected 3-D tensors, got "
                           f"{input._data.ndim}-D and {mat2._data.ndim}-D")
    if input._data.shape[0] != mat2._data.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ ({input._data.shape[0]} and "
                           f"{mat2._data.shape[0]})")
    return matmul(input, mat2, out=out)


def mv(input, vec, *, out=None):
    """Matrix-vector product ``input @ vec``."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError("mv: expected a 2-D matrix and a 1-D vector")
    return matmul(input, vec, out=out)


def dot(input, other, *, out=None):
    """Dot product of two 1-D tensors (``vdot`` is the same for real tensors)."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError("1D tensors expected, but got "
                           f"{input._data.ndim}D and {other._data.ndim}D tensors")
    return matmul(input, other, out=out)


vdot = dot


def inner(input, other):
    """Inner product over the last dimension of both inputs."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    return matmul(input, other.mT if other._data.ndim > 1 else other) \
        if other._data.ndim <= 2 else (input.unsqueeze(-2) * other).sum(-1)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)``."""
    if _amp.ANY_ACTIVE:
        input, mat1, mat2 = _amp.cast_inputs("addmm", input, mat1, mat2)
    p = mm(mat1, mat2)
    r = (input if beta == 1 else beta * input) + (p if alpha == 1 else alpha * p)
    return _result(r, out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices."""
    if _amp.ANY_ACTIVE:
        input, batch1, batch2 = _amp.cast_inputs("baddbmm", input, batch1, batch2)
    p = bmm(batch1, batch2)
    r = (input if beta == 1 else beta * input) + (p if alpha == 1 else alpha * p)
    return _result(r, out)


for _n, _f in [("__matmul__", matmul), ("__rmatmul__", lambda a, b: matmul(b, a)),
               ("matmul", matmul), ("mm", mm), ("bmm", bmm), ("mv", mv), ("dot", dot),
               ("vdot", vdot), ("inner", inner), ("addmm", addmm), ("baddbmm", baddbmm)]:
    register_method(_n)(_f)
