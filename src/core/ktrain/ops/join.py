"""Joining and splitting: cat/concat/stack/hstack/vstack/dstack/column_stack,
split/chunk/tensor_split/hsplit/vsplit/dsplit/unbind, narrow/select, and the small
helpers (dims, int lists, dtype promotion) the neighbouring families share.

Conventions (PyTorch's): ``split``/``chunk``/``unbind``/``narrow``/``select`` return
views that share storage and the version counter with their input; ``cat`` and
``stack`` return new tensors and promote dtypes across their inputs. Backward rules are
written with ktrain ops (slice <-> scatter into zeros), so higher-order gradients work.
Rearranging is in ``rearrange.py``, triangles and diagonals in ``diagonals.py``, padding
in ``padding.py``, einsum in ``einsum.py``.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, _wrap_dim, register_method
from ..autograd.function import Op

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack",
           "row_stack", "atleast_3d", "split", "chunk", "tensor_split", "hsplit", "vsplit",
           "dsplit", "unbind", "narrow", "select"]

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
        cls = _multi_cache[key] = type(base.__name__, (base,), {"n_outputs": n,
                                                                 "_variadic_of": base})
    return cls


class Split(Op):
    """Pieces ``a[start:stop]`` along ``dim`` (views); backward joins the gradients."""

    variadic_outputs = True  # specialised per output count by _multi

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

    variadic_outputs = True  # specialised per output count by _multi

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


# ====================================================================== Tensor methods


for _n, _f in [("split", split), ("chunk", chunk), ("tensor_split", tensor_split),
               ("hsplit", hsplit), ("vsplit", vsplit), ("dsplit", dsplit), ("unbind", unbind),
               ("narrow", narrow), ("select", select)]:
    register_method(_n)(_f)
del _n, _f


# ====================================================================== moved names

_MOVED_TO = ("rearrange", "diagonals", "padding")


def __getattr__(name):
    """The names this module held before issue 13 moved them to ``rearrange.py``,
    ``diagonals.py`` and ``padding.py`` (``ktrain.ops.join.pad`` still works)."""
    if not name.startswith("__"):
        import importlib

        for m in _MOVED_TO:
            found = vars(importlib.import_module(f"{__package__}.{m}")).get(name)
            if found is not None:
                return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
