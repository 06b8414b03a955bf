"""Checks and array helpers shared by the index-based op families (scatter_gather,
index_dim, masked, sorting): argument validation with PyTorch's messages, range
checks, the unbuffered ``ufunc.at`` and the index grids of gather/scatter.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor, _wrap_dim
from ._util import to_scalar



class IndexOutOfRangeError(IndexError, RuntimeError):
    """An index outside its dimension (an IndexError that PyTorch code may catch as
    RuntimeError, which torch raises for gather/scatter)."""


# ---------------------------------------------------------------------- validation helpers


def _check_tensor(op, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got {type(x).__name__}")


def _check_index(op, index, ref, int32_ok=False, name="index"):
    _check_tensor(op, name, index)
    dt = index._data.dtype
    if dt != np.int64 and not (int32_ok and dt == np.int32):
        want = "int32 or int64" if int32_ok else "int64 (long)"
        raise RuntimeError(f"{op}(): Expected dtype {want} for {name}, got {index.dtype.name}")
    if type(index._data) is not type(ref._data):
        B.check_same_device(op, (ref._data, index._data))


def _check_same_dtype(op, input, other, name):
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{op}(): expected self and {name} to have the same dtype, but got "
                           f"self {input.dtype.name} and {name} {other.dtype.name}")
    if type(other._data) is not type(input._data):
        B.check_same_device(op, (input._data, other._data))


def _check_range(op, idx, size, dim, negative=False):
    """Raise naming the first offending value when ``idx`` leaves ``[0, size)``."""
    if idx.size == 0:
        return
    lo, hi = int(idx.min()), int(idx.max())
    low = -size if negative else 0
    if hi >= size or lo < low:
        bad = hi if hi >= size else lo
        raise IndexOutOfRangeError(f"{op}(): index {bad} is out of bounds for dimension {dim} "
                                   f"with size {size}")


def _dim(op, dim, ndim):
    try:
        dim = int(dim)
    except TypeError:
        raise TypeError(f"{op}(): argument 'dim' must be an int, got {type(dim).__name__}") \
            from None
    return _wrap_dim(dim, ndim, f"{op}()")


def _cast_scalar(op, value, npd):
    """A Python number of the kind of ``npd`` (PyTorch casts fill values to self's dtype)."""
    v = to_scalar(value)
    if v is None:
        if isinstance(value, Tensor) and value._data.size == 1:
            v = value.item()
        else:
            raise TypeError(f"{op}(): value must be a number, got {type(value).__name__}")
    if npd.kind == "b":
        return bool(v)
    if npd.kind in "iu":
        return int(v)
    return float(v)


# ---------------------------------------------------------------------- array helpers


def _ufunc_at(xp, name, out, idx, vals):
    """Unbuffered ``ufunc.at`` (repeated indices accumulate); host fallback if needed."""
    uf = getattr(xp, name)
    if xp is np:
        uf.at(out, idx, vals)
        return
    try:
        uf.at(out, idx, vals)
        return
    except (AttributeError, NotImplementedError, TypeError):  # pragma: no cover - gpu only
        pass
    host = out.get()  # pragma: no cover - gpu only
    h_idx = tuple(i.get() if hasattr(i, "get") else i for i in idx)
    getattr(np, name).at(host, h_idx, vals.get() if hasattr(vals, "get") else vals)
    out[...] = xp.asarray(host)


def _grid(xp, idx, dim):
    """The advanced index addressing ``out[..., idx[i,j,k], ...]`` for every element of idx."""
    nd = idx.ndim
    out = []
    for d in range(nd):
        if d == dim:
            out.append(idx)
        else:
            sh = [1] * nd
            sh[d] = idx.shape[d]
            out.append(xp.arange(idx.shape[d]).reshape(sh))
    return tuple(out)


def _part(arr, shape):
    """The leading ``shape`` block of ``arr`` (src may be larger than index)."""
    if arr.shape == tuple(shape):
        return arr
    return arr[tuple(slice(0, s) for s in shape)]


def _lead(shape, dim):
    return tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(shape))


def _along(dim, idx):
    return (slice(None),) * dim + (idx,)


def _as1d(t):
    return t.reshape(1) if isinstance(t, Tensor) and t._data.ndim == 0 else t


def _fill_value(op, input, value):
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"{op}() only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s) (shape "
                               f"{list(value.shape)})")
        if type(value._data) is not type(input._data):
            value = value.to(input.device)
        return value.to(input.dtype)
    return _cast_scalar(op, value, input._data.dtype)
