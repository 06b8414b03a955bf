"""Triangles and diagonals: tril/triu (and in place), diagonal/diag_embed/diag/trace,
tril_indices/triu_indices, block_diag.

``diagonal`` is a writable view sharing storage and the version counter with its input,
as in PyTorch; its adjoint is ``diag_embed`` (and back), so higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, _wrap_dim, register_method
from ..autograd.function import Op
from ._util import inplace
from .join import _int, _promote, _shape_str, cat
from .padding import ConstantPadNd

__all__ = ["tril", "triu", "diag", "diagonal", "diag_embed", "trace", "tril_indices",
           "triu_indices", "block_diag"]


# ====================================================================== tril / triu


class Tril(Op):
    fn = "tril"

    @classmethod
    def forward(cls, ctx, a, k):
        ctx.k = k
        return getattr(array_module(a), cls.fn)(a, k)

    @classmethod
    def backward(cls, ctx, g):
        return cls.apply(g, ctx.k), None


class Triu(Tril):
    fn = "triu"


def _tri(cls, input, diagonal):
    if input._data.ndim < 2:
        raise RuntimeError(f"{cls.fn}: input tensor must have at least 2 dimensions, got a "
                           f"tensor of shape {_shape_str(input._data.shape)}")
    return cls.apply(input, _int(diagonal, cls.fn, "diagonal"))


def tril(input, diagonal=0, *, out=None):
    """Lower triangle of the last two dims (batched): elements with col - row <= diagonal."""
    r = _tri(Tril, input, diagonal)
    if out is not None:
        from .arith import _result

        return _result(r, out)
    return r


def triu(input, diagonal=0, *, out=None):
    """Upper triangle of the last two dims (batched): elements with col - row >= diagonal."""
    r = _tri(Triu, input, diagonal)
    if out is not None:
        from .arith import _result

        return _result(r, out)
    return r


# ====================================================================== diagonals


def _writable(v, base):
    # numpy gives read-only diagonal views; PyTorch's diagonal is a writable view
    if type(v) is np.ndarray and not v.flags.writeable and base.flags.writeable:
        v.flags.writeable = True
    return v


class Diagonal(Op):
    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.meta = (a.shape, offset, d1, d2)
        return _writable(a.diagonal(offset, d1, d2), a)

    @staticmethod
    def backward(ctx, g):
        shape, offset, d1, d2 = ctx.meta
        return DiagEmbed.apply(g, shape, offset, d1, d2), None, None, None


class DiagEmbed(Op):
    """zeros(shape) with ``g`` on the (offset, d1, d2) diagonal (adjoint of Diagonal)."""

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.meta = (offset, d1, d2)
        out = array_module(g).zeros(shape, g.dtype)
        _writable(out.diagonal(offset, d1, d2), out)[...] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        offset, d1, d2 = ctx.meta
        return Diagonal.apply(gg, offset, d1, d2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes as a view, appended as the last dim.

    ``offset > 0`` is above the main diagonal, ``< 0`` below.
    """
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"diagonal(): expected a tensor with at least 2 dimensions, but got "
                           f"a tensor of shape {_shape_str(input._data.shape)}")
    d1 = _wrap_dim(dim1, nd, "diagonal")
    d2 = _wrap_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = _int(offset, "diagonal", "offset")
    return Diagonal.apply(input, offset, d1, d2)._view_of(input)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Place the last dim of ``input`` on the ``offset`` diagonal of new (dim1, dim2) planes."""
    if input._data.ndim == 0:
        raise RuntimeError("diag_embed(): expected a tensor with at least 1 dimension")
    nd = input._data.ndim + 1
    d1 = _wrap_dim(dim1, nd, "diag_embed")
    d2 = _wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = _int(offset, "diag_embed", "offset")
    s = input._data.shape
    n = s[-1] + abs(offset)
    batch = iter(s[:-1])
    shape = tuple(n if i in (d1, d2) else next(batch) for i in range(nd))
    return DiagEmbed.apply(input, shape, offset, d1, d2)


def diag(input, diagonal=0):
    """1-D -> square matrix with ``input`` on the ``diagonal``-th diagonal;
    2-D -> that diagonal as a new 1-D tensor."""
    nd = input._data.ndim
    k = _int(diagonal, "diag", "diagonal")
    if nd == 1:
        return diag_embed(input, k, 0, 1)
    if nd == 2:
        return Diagonal.apply(input, k, 0, 1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D (shape "
                       f"{_shape_str(input._data.shape)})")


def trace(input):
    """Sum of the main diagonal of a 2-D tensor (integer inputs sum in int64)."""
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                           f"{input._data.ndim} (shape {_shape_str(input._data.shape)})")
    return Diagonal.apply(input, 0, 0, 1).sum()


# ====================================================================== triangle indices, blocks


def _tri_indices(fn, row, col, offset, dtype, device):
    from ..creation import tensor

    r, c = fn(int(row), int(offset), int(col))
    arr = np.stack([r, c]).astype(np.int64) if len(r) else np.zeros((2, 0), np.int64)
    return tensor(arr, dtype=dtype or B.int64, device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Indices (2, N) of the lower triangle of a row x col matrix, row-major order."""
    return _tri_indices(np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Indices (2, N) of the upper triangle of a row x col matrix, row-major order."""
    return _tri_indices(np.triu_indices, row, col, offset, dtype, device)


def block_diag(*tensors):
    """A block-diagonal matrix from 0-, 1- or 2-D tensors (1-D become one row)."""
    if not tensors:
        from ..creation import empty

        return empty(1, 0)
    mats = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"block_diag(): argument {i} must be a Tensor, got "
                            f"{type(t).__name__}")
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {nd} dimensions")
        mats.append(t.reshape(1, -1) if nd == 1 else t.reshape(1, 1) if nd == 0 else t)
    mats = _promote(mats, "block_diag")
    total = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        c = m._data.shape[1]
        rows.append(ConstantPadNd.apply(m, ((0, 0), (left, total - left - c)), 0))
        left += c
    return cat(rows, 0)


def _tril_(self, diagonal=0):
    return inplace(self, tril, diagonal, name="tril_")


def _triu_(self, diagonal=0):
    return inplace(self, triu, diagonal, name="triu_")

# ====================================================================== Tensor methods


for _n, _f in [("tril", tril), ("triu", triu), ("tril_", _tril_), ("triu_", _triu_),
               ("diag", diag), ("diagonal", diagonal), ("diag_embed", diag_embed),
               ("trace", trace)]:
    register_method(_n)(_f)
del _n, _f
