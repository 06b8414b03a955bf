"""Rearranging elements: flip/fliplr/flipud, roll, repeat/tile/repeat_interleave, and
products laid out on a grid: outer/ger, kron, meshgrid, cartesian_prod.

All return new tensors (``meshgrid``'s outputs are expanded views). Backward rules are
written with ktrain ops, mostly the adjoint of the same pair (``repeat_interleave`` <->
``SegmentSum``), so higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, _wrap_dim, register_method
from ..autograd.function import Op
from .join import _at, _int, _int_list, _shape_str, _size_args, _tensor_seq, stack

__all__ = ["flip", "fliplr", "flipud", "roll", "repeat_interleave", "tile", "outer", "ger", "kron",
           "meshgrid", "cartesian_prod"]


# ====================================================================== flip / roll


class Flip(Op):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return array_module(a).flip(a, axis=dims).copy() if dims else a.copy()

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


class Roll(Op):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.meta = (shifts, dims)
        return array_module(a).roll(a, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        shifts, dims = ctx.meta
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return Roll.apply(g, neg, dims), None, None


def _dims(dims, nd, op):
    ds = _int_list(dims, op, "dims")
    out = tuple(_wrap_dim(x, nd, op) for x in ds)
    if len(set(out)) != len(out):
        dup = next(x for x in out if out.count(x) > 1)
        raise RuntimeError(f"{op}(): dim {dup} appears multiple times in the list of dims "
                           f"{list(ds)}")
    return out


def flip(input, dims):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    nd = input._data.ndim
    ds = _dims(dims, nd, "flip")
    return Flip.apply(input, ds if nd else ())


def fliplr(input):
    """Flip left/right (dim 1); the input needs at least 2 dims."""
    if input._data.ndim < 2:
        raise RuntimeError(f"fliplr(): input must be >= 2-d, got a tensor of shape "
                           f"{_shape_str(input._data.shape)}")
    return Flip.apply(input, (1,))


def flipud(input):
    """Flip up/down (dim 0); the input needs at least 1 dim."""
    if input._data.ndim < 1:
        raise RuntimeError("flipud(): input must be >= 1-d, got a 0-d tensor")
    return Flip.apply(input, (0,))


def roll(input, shifts, dims=None):
    """Roll elements along ``dims`` by ``shifts`` (wrapping); with dims None, over the
    flattened tensor, keeping the shape."""
    sh = _int_list(shifts, "roll", "shifts")
    nd = input._data.ndim
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(sh)}, "
                               "dims: 0 (with dims=None, shifts must be a single integer)")
        return Roll.apply(input, sh[0], None)
    ds = _int_list(dims, "roll", "dims")
    if len(sh) != len(ds):
        raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(sh)}, "
                           f"dims: {len(ds)}")
    ds = tuple(_wrap_dim(x, nd, "roll") for x in ds)
    if nd == 0:
        return input.clone()
    return Roll.apply(input, sh, ds)


# ====================================================================== repeat / tile


class Repeat(Op):
    @staticmethod
    def forward(ctx, a, reps):
        shp = (1,) * (len(reps) - a.ndim) + a.shape
        ctx.meta = (a.shape, shp, reps)
        return array_module(a).tile(a.reshape(shp), reps)

    @staticmethod
    def backward(ctx, g):
        in_shape, shp, reps = ctx.meta
        inter = []
        for r, s in zip(reps, shp):
            inter += [r, s]
        g = g.reshape(inter).sum(tuple(range(0, 2 * len(reps), 2)))
        return g.reshape(in_shape), None


def repeat(input, *sizes):
    """``Tensor.repeat``: tile the tensor ``sizes[i]`` times along each dim (a copy).

    ``len(sizes)`` may exceed ``input.dim()`` (new leading dims).
    """
    reps = _size_args(sizes, "repeat")
    nd = input._data.ndim
    if len(reps) < nd:
        raise RuntimeError(f"Number of dimensions of repeat dims can not be smaller than number "
                           f"of dimensions of tensor (repeat{list(reps)} of a tensor of shape "
                           f"{_shape_str(input._data.shape)})")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat(): repeats must be non-negative, got {list(reps)}")
    return Repeat.apply(input, reps)


def tile(input, dims):
    """Repeat along each dim; ``dims`` shorter than ``input.dim()`` is padded with leading 1s."""
    reps = _int_list(dims, "tile", "dims")
    nd = input._data.ndim
    if len(reps) < nd:
        reps = (1,) * (nd - len(reps)) + reps
    return repeat(input, reps)


class RepeatInterleave(Op):
    """Repeat slice i along ``dim`` reps[i] times; backward sums the segments."""

    @staticmethod
    def forward(ctx, a, dim, reps):
        ctx.meta = (dim, reps)
        xp = array_module(a)
        return xp.repeat(a, reps if xp is np else reps.tolist(), axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, reps = ctx.meta
        return SegmentSum.apply(g, dim, reps), None, None


class SegmentSum(Op):
    """Sum consecutive segments of lengths reps[i] along ``dim`` (adjoint of RepeatInterleave)."""

    @staticmethod
    def forward(ctx, g, dim, reps):
        ctx.meta = (dim, reps)
        xp = array_module(g)
        n = len(reps)
        shp = g.shape
        if n and reps[0] > 0 and (reps == reps[0]).all():
            return g.reshape(shp[:dim] + (n, int(reps[0])) + shp[dim + 1:]).sum(dim + 1)
        out = xp.zeros(shp[:dim] + (n,) + shp[dim + 1:], g.dtype)
        nz = np.flatnonzero(reps)
        if nz.size == 0:
            return out
        if xp is np:
            starts = np.concatenate(([0], np.cumsum(reps[nz])[:-1]))
            out[_at(dim, nz)] = np.add.reduceat(g, starts, axis=dim)
        else:
            idx = xp.asarray(np.repeat(np.arange(n), reps))
            B.scatter_add(xp, out, _at(dim, idx), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        dim, reps = ctx.meta
        return RepeatInterleave.apply(gg, dim, reps), None, None



def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or each slice along ``dim``) ``repeats`` times, consecutively.

    ``repeats`` is an int or a 1-D integer tensor with one count per slice; ``dim=None``
    works on the flattened input. ``repeat_interleave(repeats_tensor)`` alone gives
    ``[0]*r0 + [1]*r1 + ...``.
    """
    if repeats is None:  # torch.repeat_interleave(repeats)
        reps = _repeat_counts(input, None, "repeat_interleave")
        if output_size is not None and int(reps.sum()) != output_size:
            raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match "
                               f"the sum of repeats {int(reps.sum())}")
        xp = array_module(input._data)
        return Tensor._make(xp.asarray(np.repeat(np.arange(len(reps), dtype=np.int64), reps)))
    if dim is None:
        input = input.reshape(-1)
        d = 0
    else:
        if input._data.ndim == 0:
            input = input.reshape(1)
        d = _wrap_dim(dim, input._data.ndim, "repeat_interleave")
    n = input._data.shape[d]
    reps = _repeat_counts(repeats, n, "repeat_interleave")
    if output_size is not None and int(reps.sum()) != output_size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"sum of repeats {int(reps.sum())}")
    return RepeatInterleave.apply(input, d, reps)


def _repeat_counts(repeats, n, op):
    """Repeat counts as a host int64 array of length n (an int or one element broadcasts)."""
    if isinstance(repeats, Tensor):
        if repeats._data.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: repeats must be an integer tensor, got {repeats.dtype}")
        if repeats._data.ndim > 1:
            raise RuntimeError(f"{op}: repeats must be 0-dim or 1-dim tensor, got shape "
                               f"{_shape_str(repeats._data.shape)}")
        reps = np.asarray(repeats).astype(np.int64).reshape(-1)
    elif isinstance(repeats, (list, tuple, np.ndarray)):
        reps = np.asarray(repeats, dtype=np.int64).reshape(-1)
    else:
        reps = np.asarray([_int(repeats, op, "repeats")], dtype=np.int64)
    if (reps < 0).any():
        raise RuntimeError(f"{op}: repeats can not be negative, got {reps.tolist()}")
    if n is not None:
        if reps.size == 1:
            reps = np.full(n, reps[0], np.int64)
        elif reps.size != n:
            raise RuntimeError(f"{op}: repeats must have the same size as input along dim, but "
                               f"got repeats.size(0) = {reps.size} and input.size(dim) = {n}")
    return reps


# ====================================================================== products and grids


def outer(input, vec2):
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    for name, v in (("self", input), ("vec2", vec2)):
        if not isinstance(v, Tensor) or v._data.ndim != 1:
            nd = v._data.ndim if isinstance(v, Tensor) else type(v).__name__
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {nd}-D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def kron(input, other):
    """Kronecker product: blocks ``input[i...] * other`` (leading dims padded with 1s)."""
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + input._data.shape
    sb = (1,) * (nd - other._data.ndim) + other._data.shape
    ia, ib = [], []
    for a, b in zip(sa, sb):
        ia += [a, 1]
        ib += [1, b]
    r = input.reshape(ia) * other.reshape(ib)
    return r.reshape(tuple(a * b for a, b in zip(sa, sb)))


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors; ``indexing='ij'`` (default) or ``'xy'`` (the first
    two output dims swapped). Outputs are expanded views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = _tensor_seq(list(tensors), "meshgrid")
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: "
                         f"{indexing!r}")
    dt = tensors[0]._data.dtype
    for i, t in enumerate(tensors):
        if t._data.ndim > 1:
            raise RuntimeError(f"meshgrid expects all tensors to be 0- or 1-dimensional, but "
                               f"tensor {i} has shape {_shape_str(t._data.shape)}")
        if t._data.dtype != dt:
            raise RuntimeError(f"meshgrid expects all tensors to have the same dtype, but "
                               f"tensor 0 is {tensors[0].dtype} and tensor {i} is {t.dtype}")
    if any(type(t._data) is not np.ndarray for t in tensors):
        B.check_same_device("meshgrid", [t._data for t in tensors])
    n = len(tensors)
    sizes = [t._data.size for t in tensors]
    axes = list(range(n))
    if indexing == "xy" and n >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * n
    for i, a in enumerate(axes):
        shape[a] = sizes[i]
    out = []
    for t, a, s in zip(tensors, axes, sizes):
        vs = [1] * n
        vs[a] = s
        out.append(t.reshape(vs).expand(shape))
    return tuple(out)


def cartesian_prod(*tensors):
    """All combinations of the elements of 1-D tensors, as rows of an (N, k) tensor."""
    tensors = _tensor_seq(list(tensors), "cartesian_prod")
    for i, t in enumerate(tensors):
        if t._data.ndim != 1:
            raise RuntimeError(f"cartesian_prod expects 1D tensors, but tensor {i} has shape "
                               f"{_shape_str(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def _flip_method(self, *dims):
    return flip(self, dims[0] if len(dims) == 1 else dims)


def _tile_method(self, *dims):
    return tile(self, dims[0] if len(dims) == 1 else dims)

# ====================================================================== Tensor methods


for _n, _f in [("flip", _flip_method), ("fliplr", fliplr), ("flipud", flipud), ("roll", roll),
               ("repeat", repeat), ("repeat_interleave", repeat_interleave),
               ("tile", _tile_method), ("outer", outer), ("ger", ger), ("kron", kron)]:
    register_method(_n)(_f)
del _n, _f
