"""Batch assembly: ``default_collate`` (stack samples into batches) and ``default_convert``.

Both follow ``torch.utils.data``: tensors and numpy arrays are stacked along a new first
dimension, Python floats become a float64 tensor, ints an int64 tensor (bools a bool
tensor), strings and bytes stay a list, and mappings, namedtuples and sequences are
collated field by field (a tuple sample gives a *list* of fields, as PyTorch does).

``collate(batch, collate_fn_map=...)`` is the dispatcher behind ``default_collate``: it
looks the type of the first element up in ``collate_fn_map`` (exact type first, then
``isinstance``) and otherwise recurses into containers, so a custom collate can extend
``default_collate_fn_map`` with its own types.
"""
from __future__ import annotations

import collections.abc as cabc
import copy
import re

import numpy as np

from ... import _backend as B
from ..._tensor import Tensor

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

_STR_OBJ_DTYPE = re.compile(r"[SaUO]")  # numpy dtypes that cannot become tensors
_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _shape(s):
    return "[" + ", ".join(str(int(d)) for d in s) + "]"


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _check_same_type(batch, kind):
    t0 = type(batch[0])
    for i, b in enumerate(batch):
        if not isinstance(b, kind):
            raise TypeError(f"default_collate: cannot collate a batch whose elements have "
                            f"different types: {t0.__name__} at entry 0 and "
                            f"{type(b).__name__} at entry {i}")


def _check_same_shape(shapes, what):
    s0 = shapes[0]
    for i, s in enumerate(shapes):
        if s != s0:
            raise RuntimeError(f"default_collate: {what} must all have the same shape to be "
                               f"stacked, but got {_shape(s0)} at entry 0 and {_shape(s)} at "
                               f"entry {i}")


# ----------------------------------------------------------------------------- leaf rules


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Stack tensors along a new dim 0 (one numpy/cupy stack; autograd only when needed)."""
    _check_same_type(batch, Tensor)
    _check_same_shape([t._data.shape for t in batch], "tensors")
    if any(t._rg for t in batch) or any(type(t._data) is not np.ndarray for t in batch):
        from ...ops.join import stack

        return stack(list(batch), 0)
    dts = {t._data.dtype for t in batch}
    if len(dts) > 1:  # mixed dtypes: PyTorch's promotion, applied by the stack op
        from ...ops.join import stack

        return stack(list(batch), 0)
    return Tensor._make(np.stack([t._data for t in batch]))


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """Stack numpy arrays into one tensor of their dtype."""
    elem = batch[0]
    if _STR_OBJ_DTYPE.search(elem.dtype.str) is not None:
        raise TypeError(_ERR.format(elem.dtype))
    _check_same_type(batch, np.ndarray)
    _check_same_shape([a.shape for a in batch], "numpy arrays")
    arr = np.stack(batch)
    B.from_numpy_dtype(arr.dtype)  # clear error for dtypes without a ktrain equivalent
    return Tensor._make(arr)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """numpy scalars (np.float32(1.0), ...) -> a 1-D tensor of their dtype."""
    _check_same_type(batch, np.generic)
    arr = np.array(batch)
    B.from_numpy_dtype(arr.dtype)
    return Tensor._make(arr)


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats -> float64 tensor (as PyTorch)."""
    _check_same_type(batch, (int, float))
    return Tensor._make(np.array(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints -> int64 tensor; bools -> bool tensor (``torch.tensor(batch)``)."""
    _check_same_type(batch, (int, float))
    if all(isinstance(b, bool) for b in batch):
        npd = np.bool_
    elif all(isinstance(b, int) for b in batch):
        npd = np.int64
    else:  # ints mixed with floats: the default float dtype, as torch.tensor infers
        npd = B.to_numpy_dtype(B.get_default_dtype())
    return Tensor._make(np.array(batch, dtype=npd))


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes stay a list."""
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.str_: collate_str_fn,
    np.bytes_: collate_str_fn,
    np.ndarray: collate_numpy_array_fn,
    np.memmap: collate_numpy_array_fn,
    np.generic: collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


# ----------------------------------------------------------------------------- dispatcher


def collate(batch, *, collate_fn_map=None):
    """Collate a list of samples with the per-type functions of ``collate_fn_map``.

    Leaves are handled by ``collate_fn_map[type]`` (exact type first, then the first entry
    that the element is an instance of); mappings, namedtuples and sequences recurse.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(elem_type)
        if fn is None:
            for t, f in collate_fn_map.items():
                if isinstance(elem, t):
                    fn = f
                    break
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, cabc.Mapping):
        _check_same_type(batch, cabc.Mapping)
        for i, d in enumerate(batch):
            missing = [k for k in elem if k not in d]
            if missing:
                raise KeyError(f"default_collate: entry {i} of the batch lacks the key(s) "
                               f"{missing} that entry 0 has")
        fields = {k: collate([d[k] for d in batch], collate_fn_map=collate_fn_map)
                  for k in elem}
        try:
            if isinstance(elem, cabc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:  # the mapping type does not accept a dict
            return fields
    if _is_namedtuple(elem):
        _check_same_type(batch, elem_type)
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence) and not isinstance(elem, (str, bytes)):
        _check_same_type(batch, cabc.Sequence)
        n = len(elem)
        for i, b in enumerate(batch):
            if len(b) != n:
                raise RuntimeError(f"each element in list of batch should be of equal size "
                                   f"(entry 0 has {n} fields, entry {i} has {len(b)})")
        # fields stay tuples, as PyTorch's: a field of strings collates to a tuple
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # PyTorch returns a list for tuple samples
        try:
            if isinstance(elem, cabc.MutableSequence):
                clone = copy.copy(elem)
                for i, f in enumerate(fields):
                    clone[i] = f
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    raise TypeError(_ERR.format(elem_type))


def default_collate(batch):
    """Stack a list of samples into a batch (``torch.utils.data.default_collate``).

    Example::

        >>> default_collate([{"x": np.zeros(3), "y": 1}, {"x": np.ones(3), "y": 0}])
        {'x': tensor of shape (2, 3) float64, 'y': tensor([1, 0])}
    """
    if not isinstance(batch, cabc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if len(batch) == 0:
        raise RuntimeError("default_collate: cannot collate an empty batch")
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """Convert numpy arrays (and numpy scalars) inside ``data`` to tensors, keeping the
    structure; used when automatic batching is off (``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if _STR_OBJ_DTYPE.search(data.dtype.str) is not None:
            return data
        arr = np.asarray(data)
        B.from_numpy_dtype(arr.dtype)
        return Tensor._make(arr)
    if isinstance(data, cabc.Mapping):
        fields = {k: default_convert(data[k]) for k in data}
        try:
            if isinstance(data, cabc.MutableMapping):
                clone = copy.copy(data)
                clone.update(fields)
                return clone
            return type(data)(fields)
        except TypeError:
            return fields
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # PyTorch returns a list for tuples
    if isinstance(data, cabc.Sequence) and not isinstance(data, (str, bytes)):
        fields = [default_convert(d) for d in data]
        try:
            if isinstance(data, cabc.MutableSequence):
                clone = copy.copy(data)
                for i, f in enumerate(fields):
                    clone[i] = f
                return clone
            return type(data)(fields)
        except TypeError:
            return fields
    return data
