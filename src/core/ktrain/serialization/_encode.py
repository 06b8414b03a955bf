"""Encoding for :mod:`ktrain.serialization`: an object (tensors in nested containers with
plain values) -> safetensors bytes, with the object's structure as JSON in the header's
``__metadata__`` (see the package docstring for the format). Nothing is pickled.
"""
from __future__ import annotations

import base64
import collections
import json
import math

import numpy as np

from .. import _backend as B
from .._tensor import Size, Tensor

FORMAT_NAME = "ktrain"
FORMAT_VERSION = 1


def _fmt_path(path) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


class _Encoder:
    def __init__(self):
        self.arrays: dict = {}  # tensor name -> contiguous host array
        self.by_id: dict = {}  # id(tensor) -> name (same object saved once)
        self.keep: list = []  # keeps ids stable while encoding
        self.active: set = set()  # containers on the current path (cycle check)

    def _name(self, path) -> str:
        base = ".".join(str(p) for p in path) or "tensor"
        name, n = base, 1
        while name in self.arrays or name == "__metadata__":
            name = f"{base}#{n}"
            n += 1
        return name

    def _array(self, arr, path, what):
        if B.is_cuda_array(arr):
            arr = arr.get()
        arr = np.asarray(arr)
        try:
            d = B.from_numpy_dtype(arr.dtype)
        except TypeError:
            raise TypeError(f"save: cannot serialize {what} of dtype {arr.dtype} at "
                            f"{_fmt_path(path)}") from None
        if not arr.flags.c_contiguous or not arr.dtype.isnative:
            arr = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
        return arr, d

    def tensor(self, t, path):
        name = self.by_id.get(id(t))
        if name is None:
            arr, _ = self._array(t._data, path, "tensor")
            name = self._name(path)
            self.arrays[name] = arr
            self.by_id[id(t)] = name
            self.keep.append(t)
        return {"@": "tensor", "key": name, "dtype": t.dtype.name,
                "shape": list(t._data.shape), "device": str(t.device),
                "requires_grad": bool(t._rg)}

    def value(self, x, path):
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return float(x) if math.isfinite(x) else {"@": "float", "v": repr(float(x))}
        if isinstance(x, Tensor):
            return self.tensor(x, path)
        if isinstance(x, B.dtype):
            return {"@": "dtype", "v": x.name}
        if isinstance(x, B.device):
            return {"@": "device", "v": str(x)}
        if isinstance(x, (bytes, bytearray)):
            return {"@": "bytes", "v": base64.b64encode(bytes(x)).decode("ascii")}
        if isinstance(x, np.generic) and x.dtype.kind in "biuf":
            return self.value(x.item(), path)
        if isinstance(x, np.ndarray):
            arr, d = self._array(x, path, "numpy array")
            name = self._name(path)
            self.arrays[name] = arr
            return {"@": "ndarray", "key": name, "dtype": d.name, "shape": list(arr.shape)}
        t = type(x)
        if t in (dict, collections.OrderedDict, list, tuple, Size):
            if id(x) in self.active:
                raise TypeError(f"save: cannot serialize a self-referencing {t.__name__} at "
                                f"{_fmt_path(path)}")
            self.active.add(id(x))
            try:
                if t is dict or t is collections.OrderedDict:
                    node = self._dict(x, path)
                    if t is collections.OrderedDict:
                        node["@"] = "odict"
                    return node
                if t is Size:
                    return {"@": "size", "v": [int(s) for s in x]}
                return {"@": "list" if t is list else "tuple",
                        "items": [self.value(v, path + (i,)) for i, v in enumerate(x)]}
            finally:
                self.active.discard(id(x))
        raise TypeError(f"save: cannot serialize object of type {t.__name__} at "
                        f"{_fmt_path(path)}")

    def _key(self, k, path):
        if k is None or isinstance(k, (bool, str, int, float)):
            return self.value(k, path)
        if isinstance(k, np.generic) and k.dtype.kind in "biuf":
            return self.value(k.item(), path)
        if type(k) is tuple:
            return {"@": "tuple", "items": [self._key(v, path) for v in k]}
        if isinstance(k, (B.dtype, B.device)):
            return self.value(k, path)
        raise TypeError(f"save: cannot serialize a dict key of type {type(k).__name__} "
                        f"(key {k!r}) at {_fmt_path(path)}")

    def _dict(self, x, path):
        if all(type(k) is str for k in x):
            return {"@": "dict", "map": {k: self.value(v, path + (k,)) for k, v in x.items()}}
        return {"@": "dict", "items": [[self._key(k, path), self.value(v, path + (k,))]
                                       for k, v in x.items()]}


def _encode(obj) -> bytes:
    """The safetensors bytes for ``obj``."""
    from safetensors.numpy import save as st_save

    enc = _Encoder()
    root = enc.value(obj, ())
    meta = {"format": FORMAT_NAME, "ktrain_format_version": str(FORMAT_VERSION),
            "ktrain_structure": json.dumps(root, separators=(",", ":"), allow_nan=False)}
    return st_save(enc.arrays, metadata=meta)
