"""Joining, splitting and rearranging: cat/stack, split/chunk/unbind, narrow/select,
flip/roll, tril/triu, repeat/tile/repeat_interleave, pad, diagonals, grids (einsum is
in ``einsum.py``).

Conventions (PyTorch's): ``split``/``chunk``/``unbind``/``narrow``/``select``/``diagonal``
return views that share storage and the version counter with their input; ``cat``,
``stack``, ``flip``, ``roll``, ``repeat`` ... return new tensors. Joining ops promote
dtypes across their inputs. Every backward rule is written with ktrain ops (mostly with
the adjoint op of the same pair: slice <-> scatter into zeros, gather <-> segment sum,
pad <-> pad adjoint), so higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, _wrap_dim, register_method
from ..autograd.function import Op
from ._util import inplace

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack",
           "column_stack", "row_stack", "split", "chunk", "tensor_split", "hsplit", "vsplit",
           "dsplit", "unbind", "narrow", "select", "flip", "fliplr", "flipud", "roll", "tril",
           "triu", "repeat_interleave", "tile", "constant_pad_nd", "outer", "ger",
           "diag", "diagonal", "diag_embed", "trace", "kron", "meshgrid", "cartesian_prod",
           "triu_indices", "tril_indices", "block_diag", "atleast_3d"]

_ALL = slice(None)


# ====================================================================== helpers


def _int(v, op, what):
    """A Python int from an int-like argument (0-d integer tensors included)."""
    if type(v) is int:
        return v
    if isinstance(v, Tensor):
        if v._data.size != 1 or v._data.dtype.kind not in "iub":
            raise TypeError(f"{op}(): {what} must be an integer, got a {v.dtype} tensor of shape "
                            f"{list(v.shape)}")
        return int(v.item())
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}(): {what} must be an integer, got {type(v).__name__} {v!r}")
    return int(v)


def _int_list(v, op, what):
    """A tuple of ints from an int, a sequence of ints or a 1-D integer tensor."""
    if isinstance(v, Tensor):
        if v._data.ndim > 1 or v._data.dtype.kind not in "iu":
            raise TypeError(f"{op}(): {what} must be integers, got a {v.dtype} tensor of shape "
                            f"{list(v.shape)}")
        return tuple(int(x) for x in np.asarray(v).reshape(-1).tolist())
    if isinstance(v, (list, tuple)):
        return tuple(_int(x, op, what) for x in v)
    return (_int(v, op, what),)


def _size_args(sizes, op):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Tensor)):
        return _int_list(sizes[0], op, "sizes")
    return tuple(_int(s, op, "sizes") for s in sizes)


def _tensor_seq(tensors, op, arg="tensors"):
    """The list of Tensors passed to a joining op, with PyTorch's argument errors."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument '{arg}' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument '{arg}', but "
                            f"got {type(t).__name__}")
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    return tensors


def _promote(tensors, op):
    """Same device check and PyTorch type promotion across ``tensors``."""
    arrs = [t._data for t in tensors]
    if any(type(a) is not np.ndarray for a in arrs):
        B.check_same_device(op, arrs)
    d0 = arrs[0].dtype
    if all(a.dtype == d0 for a in arrs):
        return tensors
    r = B.result_type([t.dtype for t in tensors])
    return [t if t.dtype is r else t.to(r) for t in tensors]


def _at(dim, idx):
    """Index tuple selecting ``idx`` along axis ``dim``."""
    return (_ALL,) * dim + (idx,)


def _shape_str(s):
    return str(list(s))


# ====================================================================== slicing ops


class Slice(Op):
    """``a[idx]`` for a basic index (a view of ``a``); backward scatters into zeros."""

    @staticmethod
    def forward(ctx, a, idx):
        ctx.meta = (a.shape, idx)
        return a[idx]

    @staticmethod
    def backward(ctx, g):
        shape, idx = ctx.meta
        return SliceScatter.apply(g, shape, idx), None


class Select(Slice):
    """``Slice`` under PyTorch's node name for ``select``/``unbind``-style integer indexing."""


class SliceScatter(Op):
    """zeros(shape) with ``g`` written at the basic index ``idx`` (adjoint of Slice)."""

    @staticmethod
    def forward(ctx, g, shape, idx):
        ctx.idx = idx
        out = array_module(g).zeros(shape, g.dtype)
        out[idx] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return Slice.apply(gg, ctx.idx), None, None


def _slice_view(input, idx, cls=Slice):
    return cls.apply(input, idx)._view_of(input)


# ====================================================================== cat / stack


class Cat(Op):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.meta = (dim, [a.shape[dim] for a in arrays])
        return array_module(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, sizes = ctx.meta
        out = []
        off = 0
        for i, s in enumerate(sizes):
            out.append(Slice.apply(g, _at(dim, slice(off, off + s)))
                       if ctx._edges[i] is not None else None)
            off += s
        return tuple(out)


class Stack(Op):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.meta = (dim, len(arrays))
        return array_module(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, n = ctx.meta
        return tuple(Select.apply(g, _at(dim, i) + (Ellipsis,))
                     if ctx._edges[i] is not None else None for i in range(n))


def cat(tensors, dim=0, *, out=None):
    """Concatenate tensors along an existing dimension ``dim``.

    All tensors must have the same shape except along ``dim``; dtypes are promoted. As in
    PyTorch, legacy empty 1-D tensors (shape ``(0,)``) are skipped whatever their shape.
    """
    tensors = _tensor_seq(tensors, "cat")
    tensors = _promote(tensors, "cat")
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    kept = [(i, t) for i, t in enumerate(tensors) if t._data.shape != (0,)]
    if not kept:
        kept = [(0, tensors[0])]
    i0, ref = kept[0]
    rs = ref._data.shape
    d = _wrap_dim(dim, len(rs), "cat")
    key = rs[:d] + rs[d + 1:]
    for i, t in kept[1:]:
        s = t._data.shape
        if len(s) == len(rs) and s[:d] + s[d + 1:] == key:
            continue
        if len(s) != len(rs):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(rs)} and "
                               f"{len(s)} (cat: tensor {i0} has shape {_shape_str(rs)}, tensor "
                               f"{i} has shape {_shape_str(s)})")
        for k in range(len(rs)):
            if k != d and s[k] != rs[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{rs[k]} but got size {s[k]} for tensor number {i} in the list (cat: "
                    f"shapes {_shape_str(rs)} and {_shape_str(s)} differ in dimension {k})")
    r = Cat.apply(*[t for _, t in kept], dim=d)
    if out is not None:
        from .arith import _result

        return _result(r, out)
    return r


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join equally shaped tensors along a new dimension ``dim``."""
    tensors = _tensor_seq(tensors, "stack")
    s0 = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{_shape_str(s0)} at entry 0 and {_shape_str(t._data.shape)} at "
                               f"entry {i}")
    tensors = _promote(tensors, "stack")
    d = _wrap_dim(dim, len(s0) + 1, "stack")
    r = Stack.apply(*tensors, dim=d)
    if out is not None:
        from .arith import _result

        return _result(r, out)
    return r


def atleast_3d(input):
    """0-d -> (1, 1, 1); (n,) -> (1, n, 1); (m, n) -> (m, n, 1); others unchanged."""
    if isinstance(input, (list, tuple)):
        return tuple(atleast_3d(t) for t in input)
    s = input._data.shape
    if len(s) >= 3:
        return input
    new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)]
    return input.reshape(new)


def hstack(tensors, *, out=None):
    """Concatenate column-wise: along dim 0 for 1-D tensors, else along dim 1."""
    tensors = [t.reshape(1) if t._data.ndim == 0 else t
               for t in _tensor_seq(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    """Concatenate row-wise after making every tensor at least 2-D."""
    tensors = [t.reshape((1,) * (2 - t._data.ndim) + t._data.shape) if t._data.ndim < 2 else t
               for t in _tensor_seq(tensors, "vstack")]
    return cat(tensors, 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    """Concatenate depth-wise (dim 2) after making every tensor at least 3-D."""
    return cat([atleast_3d(t) for t in _tensor_seq(tensors, "dstack")], 2, out=out)


def column_stack(tensors, *, out=None):
    """Stack 0-/1-D tensors as columns (``(n,) -> (n, 1)``) and concatenate along dim 1."""
    tensors = [t.reshape(t._data.size, 1) if t._data.ndim <= 1 else t
               for t in _tensor_seq(tensors, "column_stack")]
    return cat(tensors, 1, out=out)


# ====================================================================== split family

_multi_cache: dict = {}


def _multi(base, n):
    """``base`` specialised to ``n`` outputs (Op's ``n_outputs`` is a class attribute)."""
    key = (base, n)
    cls = _multi_cache.get(key)
    if cls is None:
        cls = _multi_cache[key] = type(base.__name__, (base,), {"n_outputs": n})
    return cls


class Split(Op):
    """Pieces ``a[start:stop]`` along ``dim`` (views); backward joins the gradients."""

    @staticmethod
    def forward(ctx, a, dim, bounds):
        ctx.meta = (a.shape, dim, bounds)
        outs = [a[_at(dim, slice(s, e))] for s, e in bounds]
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        shape, dim, bounds = ctx.meta
        partition = bounds[0][0] == 0 and bounds[-1][1] == shape[dim] and all(
            bounds[i][1] == bounds[i + 1][0] for i in range(len(bounds) - 1))
        if partition:
            g = grads[0] if len(grads) == 1 else Cat.apply(*grads, dim=dim)
        else:  # overlapping / partial pieces (tensor_split with odd indices)
            g = None
            for (s, e), gi in zip(bounds, grads):
                p = SliceScatter.apply(gi, shape, _at(dim, slice(s, e)))
                g = p if g is None else g + p
        return g, None, None


class Unbind(Op):
    """All slices ``a[..., i, ...]`` along ``dim`` (views); backward stacks the gradients."""

    @staticmethod
    def forward(ctx, a, dim):
        n = a.shape[dim]
        ctx.dim = dim
        m = array_module(a).moveaxis(a, dim, 0) if dim else a
        outs = [m[i, ...] for i in range(n)]
        return outs[0] if n == 1 else tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        return Stack.apply(*grads, dim=ctx.dim), None


def _split_bounds(input, bounds, dim):
    out = _multi(Split, len(bounds)).apply(input, dim, tuple(bounds))
    if len(bounds) == 1:
        out = (out,)
    for o in out:
        o._view_of(input)
    return out


def _check_split_input(input, op):
    if input._data.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")


def _bounds_from_sizes(sizes):
    b, off = [], 0
    for s in sizes:
        b.append((off, off + s))
        off += s
    return b


def split(tensor, split_size_or_sections, dim=0):
    """Split into chunks of ``split_size`` (the last may be smaller) or of the given sizes.

    Returns a tuple of views of ``tensor``.
    """
    _check_split_input(tensor, "split")
    d = _wrap_dim(dim, tensor._data.ndim, "split")
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)) or (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections._data.ndim):
        sizes = _int_list(split_size_or_sections, "split", "split_sizes")
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={list(sizes)}")
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={list(sizes)}")
        if not sizes:
            return ()
        return _split_bounds(tensor, _bounds_from_sizes(sizes), d)
    ss = _int(split_size_or_sections, "split", "split_size")
    if ss < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={ss}")
    if ss == 0 and size != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {size} (split of a tensor of shape "
                           f"{_shape_str(tensor._data.shape)} along dim {d})")
    if size == 0:
        return _split_bounds(tensor, [(0, 0)], d)
    starts = range(0, size, ss)
    return _split_bounds(tensor, [(s, min(s + ss, size)) for s in starts], d)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of size ceil(n / chunks) (possibly fewer pieces); views."""
    chunks = _int(chunks, "chunk", "chunks")
    _check_split_input(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _wrap_dim(dim, input._data.ndim, "chunk")
    size = input._data.shape[d]
    if size == 0:
        return _split_bounds(input, [(0, 0)] * chunks, d)
    return split(input, -(-size // chunks), d)


def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``n`` nearly equal sections, or at the given indices (Python slicing); views."""
    _check_split_input(input, "tensor_split")
    d = _wrap_dim(dim, input._data.ndim, "tensor_split")
    size = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, (list, tuple)) or (isinstance(ios, Tensor) and ios._data.ndim == 1):
        idx = _int_list(ios, "tensor_split", "indices")
        cuts = (0,) + idx + (size,)
        bounds = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            s, e, _ = slice(a, b).indices(size)
            bounds.append((s, max(s, e)))
        return _split_bounds(input, bounds, d)
    n = _int(ios, "tensor_split", "sections")
    if n <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {n}")
    q, r = divmod(size, n)
    return _split_bounds(input, _bounds_from_sizes([q + 1] * r + [q] * (n - r)), d)


def _dir_split(input, ios, dim, op, min_dims):
    nd = input._data.ndim
    if nd < min_dims:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {min_dims} dimension(s),"
                           f" but got a tensor with {nd} dimensions!")
    if not isinstance(ios, (list, tuple, Tensor)):
        n = _int(ios, op, "sections")
        size = input._data.shape[dim]
        if n == 0 or size % n:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {n}!")
    return tensor_split(input, ios, dim)


def hsplit(input, indices_or_sections):
    """``tensor_split`` along dim 1 (dim 0 for 1-D tensors); equal sections must divide."""
    return _dir_split(input, indices_or_sections, 1 if input._data.ndim >= 2 else 0, "hsplit", 1)


def vsplit(input, indices_or_sections):
    """``tensor_split`` along dim 0 of a tensor with at least 2 dims."""
    return _dir_split(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input, indices_or_sections):
    """``tensor_split`` along dim 2 of a tensor with at least 3 dims."""
    return _dir_split(input, indices_or_sections, 2, "dsplit", 3)


def unbind(input, dim=0):
    """All slices along ``dim``, as a tuple of views with that dimension removed."""
    if input._data.ndim == 0:
        raise RuntimeError("unbind(): cannot unbind a 0-dim tensor")
    d = _wrap_dim(dim, input._data.ndim, "unbind")
    n = input._data.shape[d]
    if n == 0:
        return ()
    out = _multi(Unbind, n).apply(input, d)
    if n == 1:
        out = (out,)
    for o in out:
        o._view_of(input)
    return out


def narrow(input, dim, start, length):
    """The view ``input[..., start:start+length, ...]`` along ``dim`` (start may be negative)."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, nd, "narrow")
    start = _int(start, "narrow", "start")
    length = _int(length, "narrow", "length")
    size = input._data.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start out of range (expected to be in range of "
                         f"[{-size}, {size}], but got {start}) for dim {d} of a tensor of shape "
                         f"{_shape_str(input._data.shape)}")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}) (narrow of dim {d} of a tensor of shape "
                           f"{_shape_str(input._data.shape)})")
    return _slice_view(input, _at(d, slice(start, start + length)))


def select(input, dim, index):
    """The view ``input[..., index, ...]`` along ``dim`` (that dimension removed)."""
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, nd, "select")
    i = _int(index, "select", "index")
    size = input._data.shape[d]
    if not -size <= i < size:
        raise IndexError(f"select(): index {i} out of range for tensor of size "
                         f"{_shape_str(input._data.shape)} at dimension {d}")
    return _slice_view(input, _at(d, i % size) + (Ellipsis,), Select)


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
            _scatter_add(xp, out, _at(dim, idx), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        dim, reps = ctx.meta
        return RepeatInterleave.apply(gg, dim, reps), None, None


def _scatter_add(xp, out, key, src):
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(out, key, src)
    else:  # pragma: no cover - older cupy
        import cupyx

        cupyx.scatter_add(out, key, src)


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


# ====================================================================== pad


class ConstantPadNd(Op):
    """Pad (or crop, for negative widths) every dim with a constant; self-adjoint with -w."""

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.widths = widths
        xp = array_module(a)
        out_shape = tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, widths))
        out = xp.zeros(out_shape, a.dtype) if value == 0 else xp.full(out_shape, value, a.dtype)
        src, dst = [], []
        for s, (lo, hi) in zip(a.shape, widths):
            cl, ch = max(-lo, 0), max(-hi, 0)
            n = max(0, s - cl - ch)
            src.append(slice(cl, cl + n))
            dst.append(slice(max(lo, 0), max(lo, 0) + n))
        if out.size and a.size:
            out[tuple(dst)] = a[tuple(src)]
        return out

    @staticmethod
    def backward(ctx, g):
        return ConstantPadNd.apply(g, tuple((-lo, -hi) for lo, hi in ctx.widths), 0), None, None


class PadNd(Op):
    """reflect / replicate ('edge') / circular ('wrap') padding with non-negative widths."""

    @staticmethod
    def forward(ctx, a, widths, mode):
        ctx.meta = (widths, mode)
        return array_module(a).pad(a, widths, mode=mode)

    @staticmethod
    def backward(ctx, g):
        widths, mode = ctx.meta
        return PadNdAdjoint.apply(g, widths, mode), None, None


class PadNdAdjoint(Op):
    """The adjoint of PadNd: fold the padded borders back onto the entries they copy."""

    @staticmethod
    def forward(ctx, g, widths, mode):
        ctx.meta = (widths, mode)
        xp = array_module(g)
        for d, (lo, hi) in enumerate(widths):
            if lo == 0 and hi == 0:
                continue
            m = g.shape[d]
            n = m - lo - hi
            out = g[_at(d, slice(lo, lo + n))].copy()
            left = g[_at(d, slice(0, lo))]
            right = g[_at(d, slice(lo + n, m))]
            if mode == "reflect":
                if lo:
                    out[_at(d, slice(1, lo + 1))] += xp.flip(left, axis=d)
                if hi:
                    out[_at(d, slice(n - 1 - hi, n - 1))] += xp.flip(right, axis=d)
            elif mode == "edge":
                if lo:
                    out[_at(d, slice(0, 1))] += left.sum(axis=d, keepdims=True)
                if hi:
                    out[_at(d, slice(n - 1, n))] += right.sum(axis=d, keepdims=True)
            else:  # wrap
                if lo:
                    out[_at(d, slice(n - lo, n))] += left
                if hi:
                    out[_at(d, slice(0, hi))] += right
            g = out
        return g

    @staticmethod
    def backward(ctx, gg):
        widths, mode = ctx.meta
        return PadNd.apply(gg, widths, mode), None, None


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_widths(shape, pad, op):
    pad = _int_list(pad, op, "pad")
    if len(pad) % 2:
        raise RuntimeError(f"{op}: padding length must be divisible by 2, got {len(pad)} "
                           f"values {list(pad)}")
    k = len(pad) // 2
    nd = len(shape)
    if k > nd:
        raise RuntimeError(f"{op}: padding length too large: {list(pad)} pads {k} dims but the "
                           f"input of shape {_shape_str(shape)} has only {nd}")
    widths = [(0, 0)] * nd
    for j in range(k):
        widths[nd - 1 - j] = (pad[2 * j], pad[2 * j + 1])
    return widths


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims (``torch.nn.functional.pad``).

    ``pad`` lists (left, right) widths starting from the last dim: ``(l, r)`` pads the
    last dim, ``(l, r, t, b)`` the last two. ``mode``: 'constant' (``value``, default 0;
    negative widths crop), 'reflect' (mirror without the edge), 'replicate' (repeat the
    edge) or 'circular' (wrap around).
    """
    shape = input._data.shape
    widths = _pad_widths(shape, pad, "pad")
    if mode == "constant":
        for d, (s, (lo, hi)) in enumerate(zip(shape, widths)):
            if s + lo + hi < 0:
                raise RuntimeError(f"pad: the input size {s}, plus negative padding {lo} and "
                                   f"{hi} resulted in a negative output size, which is invalid."
                                   f" Check dimension {d} of your input of shape "
                                   f"{_shape_str(shape)}.")
        return ConstantPadNd.apply(input, tuple(widths), 0 if value is None else value)
    npmode = _PAD_MODES.get(mode)
    if npmode is None:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; expected "
                                  "'constant', 'reflect', 'replicate' or 'circular'")
    if value is not None:
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    # negative widths crop first (a narrow), then the rest pads
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        idx = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(shape, widths))
        if any(sl.stop < sl.start for sl in idx):
            raise RuntimeError(f"pad: negative padding {list(pad)} is larger than the input of "
                               f"shape {_shape_str(shape)}")
        input = Slice.apply(input, idx)
        shape = input._data.shape
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    for d, (s, (lo, hi)) in enumerate(zip(shape, widths)):
        if not (lo or hi):
            continue
        if mode == "reflect" and (lo >= s or hi >= s):
            raise RuntimeError(f"pad: padding size should be less than the corresponding input "
                               f"dimension in reflect mode, but got: padding ({lo}, {hi}) at "
                               f"dimension {d} of input {_shape_str(shape)}")
        if mode == "circular" and (lo > s or hi > s):
            raise RuntimeError(f"pad: padding value ({lo}, {hi}) at dimension {d} of input "
                               f"{_shape_str(shape)} causes wrapping around more than once in "
                               "circular mode")
        if mode == "replicate" and s == 0:
            raise RuntimeError(f"pad: cannot replicate-pad the empty dimension {d} of input "
                               f"{_shape_str(shape)}")
    if all(lo == 0 and hi == 0 for lo, hi in widths):
        return input.clone()
    return PadNd.apply(input, tuple(widths), npmode)


_pad = pad


def constant_pad_nd(input, pad, value=0):
    """Constant padding of the last ``len(pad) // 2`` dims (negative widths crop)."""
    return _pad(input, pad, "constant", value)


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


# ====================================================================== grids and indices


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


# ====================================================================== Tensor methods


def _flip_method(self, *dims):
    return flip(self, dims[0] if len(dims) == 1 else dims)


def _tile_method(self, *dims):
    return tile(self, dims[0] if len(dims) == 1 else dims)


def _tril_(self, diagonal=0):
    return inplace(self, tril, diagonal, name="tril_")


def _triu_(self, diagonal=0):
    return inplace(self, triu, diagonal, name="triu_")


for _n, _f in [("split", split), ("chunk", chunk), ("tensor_split", tensor_split),
               ("hsplit", hsplit), ("vsplit", vsplit), ("dsplit", dsplit), ("unbind", unbind),
               ("narrow", narrow), ("select", select), ("flip", _flip_method), ("fliplr", fliplr),
               ("flipud", flipud), ("roll", roll), ("tril", tril), ("triu", triu),
               ("tril_", _tril_), ("triu_", _triu_), ("repeat", repeat),
               ("repeat_interleave", repeat_interleave), ("tile", _tile_method), ("diag", diag),
               ("diagonal", diagonal), ("diag_embed", diag_embed), ("trace", trace),
               ("outer", outer), ("ger", ger), ("kron", kron)]:
    register_method(_n)(_f)
