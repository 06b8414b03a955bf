"""Tensor creation: tensor, as_tensor, from_numpy, zeros/ones/full/empty(+_like), ranges, eye.

Layer: above ``_tensor``, below ``ops``. On import it fills ``_tensor._to_array`` (what
``Tensor(data)`` converts with) and attaches ``Tensor.new_tensor``.
"""
from __future__ import annotations

import math

import numpy as np

from . import _backend as B
from . import _tensor
from ._tensor import Tensor, _size_arg, register_method  # noqa: F401  (_size_arg: old path)

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones",
           "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "arange",
           "range", "linspace", "logspace", "eye", "scalar_tensor", "is_tensor", "numel"]

_builtin_range = range


def _infer_python_dtype(data):
    """PyTorch's dtype for nested Python data: bool < int64 < default float."""
    kind = -1  # nothing seen yet: an empty list gives the default float dtype, as PyTorch
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, bool) or isinstance(x, np.bool_):
            kind = max(kind, 0)
        elif isinstance(x, (int, np.integer)):
            kind = max(kind, 1)
        elif isinstance(x, Tensor):
            k = x._data.dtype.kind
            kind = max(kind, 2 if k == "f" else (1 if k in "iu" else 0))
        else:
            kind = 2
            break
    return (B.bool, B.int64, B.get_default_dtype(), B.get_default_dtype())[kind]


def _flatten_tensors(data):
    if isinstance(data, Tensor):
        return data.__array__()
    if isinstance(data, (list, tuple)):
        return [_flatten_tensors(x) for x in data]
    return data


def _to_array(data, dtype, device, copy):
    """An array for ``tensor()``-style input on ``device`` with ``dtype``."""
    dev = B.as_device(device) if device is not None else None
    if isinstance(data, Tensor):
        arr = data._data
        if dtype is not None:
            arr = arr.astype(B.to_numpy_dtype(dtype), copy=False)
        if dev is not None:
            arr = B.to_device(arr, dev)
        return arr.copy() if copy and (arr is data._data) else arr
    xp = np
    if dev is not None and dev.type == "cuda":
        xp = B.module_for_device(dev)
    if isinstance(data, np.ndarray) or B.is_cuda_array(data) or isinstance(data, np.generic):
        npd = B.to_numpy_dtype(dtype) if dtype is not None else None
        if npd is None:
            B.from_numpy_dtype(data.dtype)  # clear error for unsupported dtypes
        if dev is None:
            xp = B.array_module(data)
        elif dev.type == "cpu" and B.is_cuda_array(data):
            data = data.get()
        arr = xp.array(data, dtype=npd, copy=copy) if copy else xp.asarray(data, dtype=npd)
        return arr
    if dtype is None:
        if hasattr(data, "__array__") and not isinstance(data, (list, tuple)):
            arr = np.asarray(data)
            B.from_numpy_dtype(arr.dtype)
            return xp.asarray(arr) if xp is not np else arr.copy() if copy else arr
        dtype = _infer_python_dtype(data)
    npd = B.to_numpy_dtype(dtype)
    try:
        arr = np.array(_flatten_tensors(data), dtype=npd)
    except (ValueError, TypeError) as e:
        raise ValueError(f"tensor(): could not build a tensor from {type(data).__name__} data "
                         f"({e}); nested lists must be rectangular and hold numbers") from None
    if arr.dtype == object:
        raise TypeError("tensor(): data must be numbers or nested lists of numbers")
    return xp.asarray(arr) if xp is not np else arr


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor that copies ``data`` (nested lists, numbers, numpy arrays or tensors).

    The dtype follows PyTorch: Python floats give the default dtype (float32), ints give
    int64, bools give bool; numpy arrays keep their dtype.
    """
    t = Tensor._make(_to_array(data, dtype, device, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


@register_method("new_tensor")
def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``self.new_tensor(data)``: a copy of ``data`` with self's dtype and device by default."""
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with numpy arrays and tensors when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    return Tensor._make(_to_array(data, dtype, device, copy=False))


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    t = as_tensor(obj, dtype, device) if not copy else tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray) -> Tensor:
    """A tensor that shares memory with a numpy array (no copy)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(ndarray).__name__}")
    B.from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray)


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any object that speaks DLPack (numpy, cupy, torch...)."""
    dev_type = ext.__dlpack_device__()[0] if hasattr(ext, "__dlpack_device__") else 1
    if int(dev_type) == 2:  # kDLCUDA
        cp = B.module_for_device(B.device("cuda"))
        arr = cp.from_dlpack(ext)
    else:
        arr = np.from_dlpack(ext)
    B.from_numpy_dtype(arr.dtype)
    return Tensor._make(arr)


def _factory(shape, value, dtype, device, requires_grad, fill_kind="float"):
    if dtype is None:
        dtype = B.get_default_dtype()
    dtype = B.as_dtype(dtype)
    npd = B.to_numpy_dtype(dtype)
    dev = B.as_device(device) if device is not None else B.CPU
    xp = B.module_for_device(dev)
    if dev.type == "cuda":
        with xp.cuda.Device(dev.index or 0):
            arr = _fill(xp, shape, value, npd)
    else:
        arr = _fill(xp, shape, value, npd)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _fill(xp, shape, value, npd):
    if value is None:
        return xp.empty(shape, npd)
    if value == 0:
        return xp.zeros(shape, npd)
    if value == 1:
        return xp.ones(shape, npd)
    return xp.full(shape, value, npd)


def _out(t, out):
    """Honour ``out=``: resize ``out`` to the result and copy it in."""
    if out is None:
        return t
    out._data = t._data.astype(out._data.dtype, copy=False) if out.dtype != t.dtype else t._data
    out._version[0] += 1
    return out


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _out(_factory(_size_arg(size), 0, dtype, device, requires_grad), out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    return _out(_factory(_size_arg(size), 1, dtype, device, requires_grad), out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          memory_format=None, pin_memory=False) -> Tensor:
    """An uninitialised tensor."""
    return _out(_factory(_size_arg(size), None, dtype, device, requires_grad), out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype is inferred from the value, as PyTorch)."""
    if dtype is None:
        dtype = _infer_python_dtype(fill_value) if not isinstance(fill_value, Tensor) \
            else fill_value.dtype
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _factory(_size_arg((size,)), fill_value,
                    dtype, device, requires_grad)


def _like(input, value, dtype, device, requires_grad):
    dtype = dtype if dtype is not None else input.dtype
    device = device if device is not None else input.device
    return _factory(tuple(input._data.shape), value, dtype, device, requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _like(input, 1, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return _like(input, None, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _like(input, fill_value, dtype, device, requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """Values in [start, end) with ``step``; int64 when all arguments are integers."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound {end} and lower bound {start} inconsistent "
                           f"with step sign {step}")
    if dtype is None:
        dtype = B.int64 if all(isinstance(v, int) for v in (start, end, step)) else \
            B.get_default_dtype()
    dtype = B.as_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    dev = B.as_device(device)
    xp = B.module_for_device(dev)
    if dtype.is_floating_point:
        arr = (start + step * xp.arange(n, dtype=np.float64)).astype(B.to_numpy_dtype(dtype))
    else:
        arr = xp.arange(start, start + n * step, step)[:n].astype(B.to_numpy_dtype(dtype))
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):  # noqa: A001
    """Deprecated in PyTorch: like arange but includes ``end``."""
    if end is None:
        start, end = 0, start
    return arange(start, end + step * 0.5 if dtype is None or B.as_dtype(dtype).is_floating_point
                  else end + 1, step, dtype=dtype or B.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    dtype = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    xp = B.module_for_device(B.as_device(device))
    arr = xp.linspace(_num(start), _num(end), int(steps), dtype=np.float64)
    t = Tensor._make(arr.astype(B.to_numpy_dtype(dtype)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    dtype = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    xp = B.module_for_device(B.as_device(device))
    arr = xp.logspace(_num(start), _num(end), int(steps), base=base, dtype=np.float64)
    t = Tensor._make(arr.astype(B.to_numpy_dtype(dtype)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    """Identity matrix of shape (n, m)."""
    dtype = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    xp = B.module_for_device(B.as_device(device))
    t = Tensor._make(xp.eye(int(n), int(m) if m is not None else None,
                            dtype=B.to_numpy_dtype(dtype)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return tensor(s, dtype=dtype or B.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()


_tensor._to_array = _to_array  # the slot Tensor.__init__ converts its data with
