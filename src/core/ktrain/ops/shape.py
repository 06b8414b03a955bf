"""Shape and view ops: reshape view flatten squeeze permute transpose expand ...

Ops that return views share storage and the version counter with their input, as in
PyTorch: writing through a view changes the base tensor.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from .._tensor import Tensor, _wrap_dim, register_method
from ..autograd.function import Op
from ._util import unbroadcast

__all__ = ["reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose",
           "swapaxes", "swapdims", "t", "movedim", "moveaxis", "expand_copy", "broadcast_to",
           "broadcast_tensors", "broadcast_shapes", "atleast_1d", "atleast_2d"]


def _shares(out, a) -> bool:
    base = a.base if a.base is not None else a
    return out.base is base or out.base is a


def _as_view(out: Tensor, src: Tensor) -> Tensor:
    if _shares(out._data, src._data):
        out._view_of(src)
    return out


def _size_args(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        return tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}: sizes must be integers, got {size!r}") from None


def infer_shape(shape, numel, op="view"):
    """Resolve one -1 in ``shape`` and check the element count."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred")
    if neg:
        rest = 1
        for s in shape:
            if s != -1:
                rest *= s
        if rest == 0 or numel % rest:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // rest if s == -1 else s for s in shape)
    n = 1
    for s in shape:
        if s < 0:
            raise RuntimeError(f"{op}: invalid shape dimension {s}")
        n *= s
    if n != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.src = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.src), None


class View(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.src = a.shape
        try:
            return a.reshape(shape, copy=False)
        except TypeError:  # array modules without the copy argument
            out = a.view()
            out.shape = shape
            return out
        except (ValueError, AttributeError):
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (shape "
                f"{list(a.shape)} -> {list(shape)}: at least one dimension spans across two "
                "contiguous subspaces). Use .reshape(...) instead.") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.src), None


class Permute(Op):
    @staticmethod
    def forward(ctx, a, perm):
        ctx.perm = perm
        return a.transpose(perm)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.perm).tolist())), None


class Expand(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.src = a.shape
        return array_module(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.src), None


class Contiguous(Op):
    @staticmethod
    def forward(ctx, a):
        return array_module(a).ascontiguousarray(a)

    @staticmethod
    def backward(ctx, g):
        return g


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def reshape(input, *shape):
    """Same data with a new shape: a view when strides allow it, else a copy."""
    shape = infer_shape(_size_args(shape, "reshape"), input._data.size, "reshape")
    if shape == input._data.shape:
        return input.view_as(input) if input._rg else _alias(input)
    return _as_view(Reshape.apply(input, shape), input)


def _alias(t):
    out = Tensor._make(t._data)
    return out._view_of(t)


def view(input, *shape):
    """A view with a new shape (errors when the strides do not allow one); or a dtype view."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
        from .. import _backend as B

        npd = B.to_numpy_dtype(shape[0])
        return Tensor._make(input._data.view(npd))._view_of(input)
    shape = infer_shape(_size_args(shape, "view"), input._data.size, "view")
    out = View.apply(input, shape)
    return out._view_of(input)


def view_as(input, other):
    """``input.view(other.shape)``."""
    return view(input, other._data.shape)


def reshape_as(input, other):
    """``input.reshape(other.shape)``."""
    return reshape(input, other._data.shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    s = _wrap_dim(start_dim, nd, "flatten")
    e = _wrap_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input._data.shape
    return reshape(input, shp[:s] + (-1,) + shp[e + 1:])


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    nd = input._data.ndim
    d = _wrap_dim(dim, nd, "unflatten")
    shp = input._data.shape
    sizes = infer_shape(tuple(sizes), shp[d], "unflatten")
    return reshape(input, shp[:d] + tuple(sizes) + shp[d + 1:])


def squeeze(input, dim=None):
    """Remove size-1 dims (all, or those in ``dim``); others are left alone."""
    shp = input._data.shape
    nd = len(shp)
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {_wrap_dim(d, nd, "squeeze") for d in dims} if nd else set()
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    if new == shp:
        return _alias(input) if not input._rg else view(input, shp)
    return view(input, new)


def unsqueeze(input, dim):
    """Insert a size-1 dim at ``dim`` (negative counts from the end of the result)."""
    shp = input._data.shape
    d = _wrap_dim(dim, len(shp) + 1, "unsqueeze")
    return view(input, shp[:d] + (1,) + shp[d:])


def permute(input, *dims):
    """Reorder dimensions (a view)."""
    dims = _size_args(dims, "permute")
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    perm = tuple(_wrap_dim(d, nd, "permute") for d in dims)
    if len(set(perm)) != nd:
        raise RuntimeError(f"permute(): duplicate dims are not allowed, got {list(dims)}")
    return Permute.apply(input, perm)._view_of(input)


def transpose(input, dim0, dim1):
    """Swap two dimensions (a view)."""
    nd = input._data.ndim
    if nd == 0:
        return _alias(input)
    a, b = _wrap_dim(dim0, nd, "transpose"), _wrap_dim(dim1, nd, "transpose")
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return Permute.apply(input, tuple(perm))._view_of(input)


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a tensor with at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else _alias(input)


def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination`` (a view)."""
    nd = input._data.ndim
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    src = [_wrap_dim(s, nd, "movedim") for s in src]
    dst = [_wrap_dim(d, nd, "movedim") for d in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


def expand(input, *sizes):
    """Broadcast to a larger shape without copying (-1 keeps a dim)."""
    sizes = _size_args(sizes, "expand")
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    new = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing "
                                   f"dimension {i}")
            new.append(s)
        else:
            cur = shp[i - lead]
            if s == -1:
                s = cur
            elif cur != 1 and s != cur:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({cur})"
                    f" at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor "
                    f"sizes: {list(shp)}")
            new.append(s)
    new = tuple(new)
    if new == shp:
        return input
    return Expand.apply(input, new)._view_of(input)


def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, other._data.shape)


broadcast_to = expand


def expand_copy(input, *sizes):
    """``expand`` followed by a copy (a tensor owning its memory)."""
    return expand(input, *sizes).clone()


def broadcast_shapes(*shapes):
    """The shape that all ``shapes`` broadcast to (error names the first clash)."""
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) if isinstance(s, (tuple, list)) else (s,)
                                           for s in shapes]))
    except ValueError:
        raise RuntimeError(f"shape mismatch: shapes {[list(s) for s in shapes]} cannot be "
                           "broadcast to a single shape") from None


def broadcast_tensors(*tensors):
    """The inputs broadcast to one common shape (views)."""
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def contiguous(input, memory_format=None):
    """``input`` itself when C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return Contiguous.apply(input)


def clone(input, *, memory_format=None):
    """A copy with its own storage (differentiable)."""
    return Clone.apply(input)


def atleast_1d(input):
    """``input`` with at least one dimension."""
    return input if input._data.ndim >= 1 else reshape(input, 1)


def atleast_2d(input):
    """``input`` with at least two dimensions (leading 1s added)."""
    nd = input._data.ndim
    return input if nd >= 2 else reshape(input, (1,) * (2 - nd) + input._data.shape)


def _T(self):
    nd = self._data.ndim
    return permute(self, tuple(range(nd - 1, -1, -1))) if nd > 1 else self


def _mT(self):
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


register_method("T", "H")(property(_T))
register_method("mT", "mH")(property(_mT))
for _n, _f in [("reshape", reshape), ("view", view), ("view_as", view_as),
               ("reshape_as", reshape_as), ("flatten", flatten), ("unflatten", unflatten),
               ("squeeze", squeeze), ("unsqueeze", unsqueeze), ("permute", permute),
               ("transpose", transpose), ("swapaxes", swapaxes), ("swapdims", swapdims),
               ("t", t), ("movedim", movedim), ("moveaxis", moveaxis), ("expand", expand),
               ("expand_as", expand_as), ("broadcast_to", broadcast_to),
               ("contiguous", contiguous), ("clone", clone)]:
    register_method(_n)(_f)
__all__ += ["view", "view_as", "reshape_as", "expand", "expand_as", "contiguous", "clone"]


def _inplace_view(fn):
    def method(self, *args):
        r = fn(self, *args)
        self._data = r._data
        return self

    return method


register_method("squeeze_")(_inplace_view(squeeze))
register_method("unsqueeze_")(_inplace_view(unsqueeze))
register_method("t_")(_inplace_view(t))
register_method("transpose_")(_inplace_view(transpose))
