"""Array backends, devices and dtypes.

This is the only module that imports cupy. Everything else asks for the array
module of its inputs (``array_module(arr)``) and uses the numpy-compatible API of
whatever comes back, so one code path serves CPU (numpy) and GPU (cupy).
"""
from __future__ import annotations

import builtins as _builtins

import numpy as np

_builtin_float = _builtins.float
_builtin_int = _builtins.int
_builtin_bool = _builtins.bool

__all__ = [
    "device", "dtype", "float16", "bfloat16", "float32", "float64", "half", "float",
    "double", "int8", "int16", "int32", "int64", "uint8", "bool", "short", "int", "long",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
]

# ----------------------------------------------------------------------------- cupy

_cupy = None
_cupy_checked = False


def cupy_module():
    """The cupy module, or None when cupy is missing or no CUDA device is usable."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415 - optional dependency, imported lazily

            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # ImportError, CUDARuntimeError (no driver), ...
            _cupy = None
    return _cupy


_cupy_installed = None  # the importable cupy module (a device or not), False when absent


def _cupy_import():
    global _cupy_installed
    if _cupy_installed is None:
        try:
            import cupy  # noqa: PLC0415 - optional dependency, imported lazily

            _cupy_installed = cupy
        except Exception:  # ImportError, or a broken install that fails while loading
            _cupy_installed = False
    return _cupy_installed or None


def cupy_version():
    """The installed cupy's version string, or None when cupy cannot be imported (a GPU
    need not be present: :func:`cupy_module` says whether one is usable)."""
    cp = _cupy_import()
    return None if cp is None else str(cp.__version__)


def cudnn_version():
    """cuDNN's version as an int (``8902`` for 8.9.2) through cupy, or None when cupy, its
    cuDNN bindings or a CUDA device are missing."""
    cp = cupy_module()
    if cp is None:
        return None
    try:
        from cupy.cuda import cudnn  # noqa: PLC0415 - GPU only

        return int(cudnn.getVersion())
    except Exception:  # cupy built without cuDNN, or the library is not found
        return None


def array_module(arr):
    """numpy for numpy arrays (and scalars), cupy for cupy arrays."""
    if type(arr) is np.ndarray:
        return np
    cp = _cupy
    if cp is not None and isinstance(arr, cp.ndarray):
        return cp
    return np


def is_cuda_array(arr) -> bool:
    return type(arr) is not np.ndarray and _cupy is not None and isinstance(arr, _cupy.ndarray)


# ----------------------------------------------------------------------------- devices


class device:
    """A device: ``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``, ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'cuda:0', got {type!r}")
        if ":" in type:
            if index is not None:
                raise ValueError(f"device(): index given twice in {type!r} and index={index}")
            type, _, idx = type.partition(":")
            try:
                index = _builtin_int(idx)
            except ValueError:
                raise ValueError(f"device(): invalid device index in {type}:{idx!r}") from None
        if type not in ("cpu", "cuda"):
            raise ValueError(f"device(): unknown device type {type!r}; expected 'cpu' or 'cuda'")
        if type == "cpu" and index not in (None, 0):
            raise ValueError(f"device(): cpu has no index {index}")
        self.type = type
        self.index = None if type == "cpu" else index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")
_cuda_devices: dict = {}


def device_of(arr) -> device:
    if type(arr) is np.ndarray:
        return CPU
    if is_cuda_array(arr):
        idx = arr.device.id
        d = _cuda_devices.get(idx)
        if d is None:
            d = _cuda_devices[idx] = device("cuda", idx)
        return d
    return CPU


def as_device(d) -> device:
    if d is None:
        return CPU
    if isinstance(d, device):
        return d
    if isinstance(d, _builtin_int):
        return device("cuda", d)
    return device(d)


def module_for_device(d: device):
    if d.type == "cpu":
        return np
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(
            f"device {d} was requested but CUDA is not available: install cupy "
            "(pip install 'ktrain[gpu]') and check that a GPU and its driver are visible")
    n = cp.cuda.runtime.getDeviceCount()
    if d.index is not None and d.index >= n:
        raise RuntimeError(f"device {d} was requested but only {n} CUDA device(s) exist")
    return cp


def to_device(arr, d: device):
    """Move an array to device ``d`` (a no-op when it is already there)."""
    src = device_of(arr)
    if src == d or (d.type == "cuda" and d.index is None and src.type == "cuda"):
        return arr
    if d.type == "cpu":
        return arr.get()
    cp = module_for_device(d)
    with cp.cuda.Device(d.index or 0):
        return cp.asarray(arr)


def check_same_device(op: str, arrays) -> None:
    """Raise a clear error when arrays of one op live on different devices."""
    devs = {str(device_of(a)) for a in arrays if hasattr(a, "shape")}
    if len(devs) > 1:
        raise RuntimeError(
            f"{op}: expected all tensors to be on the same device, but found tensors on "
            f"{' and '.join(sorted(devs))}; move them with .to(device) first")


# ----------------------------------------------------------------------------- dtypes

try:  # bfloat16 for numpy arrays comes from ml_dtypes when it is installed
    import ml_dtypes as _ml_dtypes

    _BF16 = np.dtype(_ml_dtypes.bfloat16)
except Exception:  # pragma: no cover - depends on the environment
    _BF16 = None


class dtype:
    """A tensor element type (``ktrain.float32`` ...), comparable with ``==`` and hashable."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_cat")

    def __init__(self, name, np_dtype, cat):
        self.name = name
        self.np = np_dtype
        self._cat = cat  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = cat == 2
        self.is_signed = cat == 2 or (np_dtype is not None and np_dtype.kind == "i")
        self.itemsize = np_dtype.itemsize if np_dtype is not None else 2

    @property
    def is_complex(self):
        return False

    def __repr__(self):
        return f"ktrain.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


float16 = half = dtype("float16", np.dtype(np.float16), 2)
bfloat16 = dtype("bfloat16", _BF16, 2)
float32 = dtype("float32", np.dtype(np.float32), 2)
float64 = double = dtype("float64", np.dtype(np.float64), 2)
int8 = dtype("int8", np.dtype(np.int8), 1)
int16 = short = dtype("int16", np.dtype(np.int16), 1)
int32 = dtype("int32", np.dtype(np.int32), 1)
int64 = long = dtype("int64", np.dtype(np.int64), 1)
uint8 = dtype("uint8", np.dtype(np.uint8), 1)
bool = dtype("bool", np.dtype(np.bool_), 0)  # noqa: A001 - PyTorch's name
float = float32  # noqa: A001 - torch.float is float32
int = int32  # noqa: A001 - torch.int is int32

ALL_DTYPES = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NP = {d.np: d for d in ALL_DTYPES if d.np is not None}


def _dtype_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(npd) -> dtype:
    d = _BY_NP.get(npd)
    if d is None:
        npd = np.dtype(npd)
        d = _BY_NP.get(npd)
        if d is None:
            raise TypeError(
                f"numpy dtype {npd} has no ktrain equivalent; supported: "
                + ", ".join(x.name for x in ALL_DTYPES))
    return d


def to_numpy_dtype(d) -> np.dtype:
    """The numpy dtype for a ktrain dtype (also accepts numpy dtypes, python types and names)."""
    d = as_dtype(d)
    if d.np is None:
        raise TypeError(
            f"{d!r} is not supported by the numpy backend here: install ml_dtypes "
            "(pip install ml_dtypes) for bfloat16 arrays")
    return d.np


def as_dtype(d) -> dtype:
    """Normalise a dtype argument (ktrain dtype, numpy dtype, python type or name)."""
    if isinstance(d, dtype):
        return d
    if d is _builtin_float:
        return _default[0]
    if d is _builtin_int:
        return int64
    if d is _builtin_bool:
        return bool
    if isinstance(d, str):
        try:
            return _BY_NAME[d]
        except KeyError:
            raise TypeError(f"unknown dtype name {d!r}; expected one of {sorted(_BY_NAME)}") from None
    return from_numpy_dtype(np.dtype(d))


_default = [float32]


def get_default_dtype() -> dtype:
    """The floating dtype given to tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d) -> None:
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d!r}")
    _default[0] = d


# Type promotion as PyTorch: categories bool < integer < floating. Operands are ranked
# dimensioned tensors > zero-dim tensors > Python scalars; a lower-ranked operand only
# matters when its category is higher than every higher-ranked one.

_promote_cache: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` cast to safely (``torch.promote_types``)."""
    if a is b:
        return a
    key = (a.name, b.name)
    r = _promote_cache.get(key)
    if r is None:
        if bfloat16 in (a, b):
            other = b if a is bfloat16 else a
            if other is bfloat16 or other._cat < 2:
                r = bfloat16
            elif other is float16:
                r = float32
            else:
                r = other
        elif a._cat != b._cat:  # across categories the higher one wins: int64 + float16 -> float16
            r = a if a._cat > b._cat else b
        else:
            r = from_numpy_dtype(np.promote_types(a.np, b.np))
        _promote_cache[key] = r
    return r


def scalar_dtype(x) -> dtype:
    if isinstance(x, _builtin_bool):
        return bool
    if isinstance(x, _builtin_int):
        return int64
    return _default[0]


def result_type(dims, zerodims=(), scalars=()) -> dtype:
    """PyTorch's result dtype from the dtypes of dimensioned tensors, 0-d tensors and scalars."""
    r = None
    for group in (dims, zerodims, scalars):
        g = None
        for d in group:
            g = d if g is None else promote_types(g, d)
        if g is None:
            continue
        if r is None:
            r = g
        elif g._cat > r._cat:
            # a float Python scalar lifts integers to the default dtype, not to float64
            r = _default[0] if (group is scalars and g._cat == 2) else g
    return r


# ----------------------------------------------------------------------------- array kernels
# Kernels whose numpy and cupy forms differ (cupyx): ops call these instead of importing
# cupy/cupyx themselves.


def scatter_add(xp, out, index, values):
    """``out[index[k]] += values[k]`` in place, repeated indices accumulating (rows when
    ``out`` is 2-D and ``index`` 1-D). numpy's ``add.at``; on a cupy without
    ``cupy.add.at``, ``cupyx.scatter_add``."""
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(out, index, values)
    else:  # pragma: no cover - older cupy
        import cupyx  # noqa: PLC0415 - GPU only

        cupyx.scatter_add(out, index, values)


# ----------------------------------------------------------------------------- special functions
# (helper H4, issue 13: the scipy.special / cupyx.scipy.special look-up of ops.math)

_SPECIAL = {}


def special_function(xp, name):
    """``name`` (e.g. ``"erf"``, ``"erfinv"``) for arrays of the array module ``xp``:
    ``cupyx.scipy.special`` on cupy, ``scipy.special`` on numpy when scipy is installed,
    else None (the caller then uses its own numpy formula). Looked up once per pair."""
    key = (xp.__name__, name)
    try:
        return _SPECIAL[key]
    except KeyError:
        pass
    try:
        if xp is np:
            import scipy.special as sp  # noqa: PLC0415 - optional, exact to the last ulp
        else:
            import cupyx.scipy.special as sp  # noqa: PLC0415 - GPU only
        fn = getattr(sp, name, None)
    except ImportError:
        fn = None
    _SPECIAL[key] = fn
    return fn
