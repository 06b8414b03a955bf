"""Decoding for :mod:`ktrain.serialization`: safetensors bytes -> tensors, then the ktrain
structure (JSON in the header) -> the saved object, with PyTorch's ``map_location`` rules.

Only the JSON header and the raw tensor bytes are parsed: loading never executes code.
Every malformed input is a :class:`SerializationError` that names the file.
"""
from __future__ import annotations

import base64
import collections
import json
import struct
import sys
import warnings

import numpy as np

from .. import _backend as B
from .._tensor import Size, Tensor
from ._encode import FORMAT_NAME, FORMAT_VERSION

_MAX_HEADER = 100_000_000  # safetensors' own header limit
_LITTLE = sys.byteorder == "little"

# safetensors dtype codes <-> ktrain dtype names
_ST_TO_NAME = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
               "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64", "U8": "uint8",
               "BOOL": "bool"}


class SerializationError(RuntimeError):
    """A file that cannot be loaded (corrupt, truncated, not safetensors, unsupported)."""


SerializationError.__module__ = "ktrain.serialization"  # its public home (tracebacks)


def _parse_header(data: bytes, where: str):
    if len(data) < 8:
        raise SerializationError(f"load: {where} is not a safetensors/ktrain file (only "
                                 f"{len(data)} bytes; the file is empty or truncated)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER:
        raise SerializationError(f"load: {where} is not a safetensors/ktrain file (corrupt "
                                 f"header length {n})")
    if 8 + n > len(data):
        raise SerializationError(f"load: {where} is truncated or not a safetensors file (the "
                                 f"header needs {n} bytes, the file has {len(data) - 8})")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SerializationError(f"load: {where} is not a safetensors/ktrain file (header is "
                                 f"not valid JSON: {e})") from None
    if not isinstance(header, dict):
        raise SerializationError(f"load: {where} is not a safetensors file (header is not a "
                                 f"JSON object)")
    return header


def _read_arrays(data: bytes, header: dict, where: str) -> dict:
    """name -> writable numpy array, validated by the safetensors library."""
    import safetensors

    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise SerializationError(f"load: {where} is corrupt (header entry {name!r} is not "
                                     f"a tensor description)")
        code = info.get("dtype")
        dname = _ST_TO_NAME.get(code)
        if dname is None:
            raise SerializationError(f"load: tensor {name!r} in {where} has dtype {code!r}, "
                                     f"which ktrain does not support (supported: "
                                     f"{', '.join(sorted(_ST_TO_NAME))})")
        if dname == "bfloat16" and B.bfloat16.np is None:
            raise SerializationError(f"load: tensor {name!r} in {where} is bfloat16, which "
                                     f"needs the ml_dtypes package (pip install ml_dtypes)")
    try:
        # safetensors.numpy.load would do the same, but it has no bfloat16 (BF16) mapping
        views = safetensors.deserialize(data)
    except Exception as e:  # noqa: BLE001 - SafetensorError and friends: all mean "bad file"
        raise SerializationError(f"load: {where} is corrupt or truncated ({e})") from None
    out = {}
    for name, v in views:
        npd = B.to_numpy_dtype(_ST_TO_NAME[v["dtype"]])
        buf = v["data"]
        shape = tuple(v["shape"])
        # safetensors data is little-endian
        arr = np.frombuffer(buf, dtype=npd if _LITTLE else npd.newbyteorder("<"))
        arr = arr.reshape(shape)
        out[name] = arr.astype(npd, copy=True)  # writable, aligned, native byte order
    return out


class _PassThrough(Exception):
    """Carries an error that is not about the file (map_location, devices) past the
    decoder's "corrupt structure" handler."""

    def __init__(self, err):
        super().__init__(str(err))
        self.err = err


class _MapLocation:
    """PyTorch's ``map_location`` rules for one load."""

    def __init__(self, spec, where):
        self.spec = spec
        self.where = where
        self.fallback = False
        if spec is None:
            self.kind = "none"
        elif callable(spec) and not isinstance(spec, (str, B.device)):
            self.kind = "call"
        elif isinstance(spec, dict):
            self.kind = "dict"
            self.table = {str(B.as_device(k)): v for k, v in spec.items()}
        else:
            self.kind = "dev"
            self.target = B.as_device(spec)

    def _default(self, saved: str):
        dev = B.as_device(saved)
        if dev.type == "cpu":
            return dev
        cp = B.cupy_module()
        if cp is not None and (dev.index or 0) < cp.cuda.runtime.getDeviceCount():
            return dev
        self.fallback = True
        return B.CPU

    def place(self, arr, saved: str):
        """A Tensor for host array ``arr`` saved on device ``saved``."""
        if self.kind == "call":
            t = Tensor._make(arr)
            r = self.spec(t, saved)
            if r is None:
                return self._move(arr, self._default(saved))
            if not isinstance(r, Tensor):
                raise TypeError(f"load: map_location callable must return a Tensor or None, "
                                f"got {type(r).__name__}")
            return r
        if self.kind == "dev":
            dev = self.target
        elif self.kind == "dict" and str(B.as_device(saved)) in self.table:
            dev = B.as_device(self.table[str(B.as_device(saved))])
        else:
            dev = self._default(saved)
        return self._move(arr, dev)

    def _move(self, arr, dev):
        if dev.type == "cpu":
            return Tensor._make(arr)
        try:
            B.module_for_device(dev)
        except RuntimeError as e:
            raise RuntimeError(f"load: cannot place tensors of {self.where} on {dev}: {e}") \
                from None
        return Tensor._make(B.to_device(arr, dev))


class _Decoder:
    def __init__(self, arrays, loc, where):
        self.arrays = arrays
        self.loc = loc
        self.where = where
        self.tensors: dict = {}  # name -> Tensor (shared references)

    def bad(self, msg):
        return SerializationError(f"load: {self.where} has a corrupt ktrain structure ({msg})")

    def _arr(self, node):
        key = node.get("key")
        arr = self.arrays.get(key)
        if arr is None:
            raise self.bad(f"tensor {key!r} is missing")
        if node.get("dtype") not in (None, B.from_numpy_dtype(arr.dtype).name):
            raise self.bad(f"tensor {key!r} has dtype {B.from_numpy_dtype(arr.dtype).name}, "
                           f"the structure says {node.get('dtype')}")
        return key, arr

    def value(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise self.bad(f"unexpected JSON {type(node).__name__}")
        tag = node.get("@")
        if tag == "tensor":
            key, arr = self._arr(node)
            t = self.tensors.get(key)
            if t is None:
                try:
                    t = self.loc.place(arr, str(node.get("device", "cpu")))
                except Exception as e:  # noqa: BLE001 - map_location/device errors go through
                    raise _PassThrough(e) from None
                if node.get("requires_grad"):
                    t.requires_grad_(True)
                self.tensors[key] = t
            return t
        if tag in ("dict", "odict"):
            d = collections.OrderedDict() if tag == "odict" else {}
            if "map" in node:
                for k, v in node["map"].items():
                    d[k] = self.value(v)
            else:
                for item in node.get("items", ()):
                    if not isinstance(item, list) or len(item) != 2:
                        raise self.bad("dict item is not a [key, value] pair")
                    d[self.value(item[0])] = self.value(item[1])
            return d
        if tag == "list":
            return [self.value(v) for v in node.get("items", ())]
        if tag == "tuple":
            return tuple(self.value(v) for v in node.get("items", ()))
        if tag == "size":
            return Size(int(s) for s in node.get("v", ()))
        if tag == "float":
            return float(node["v"])
        if tag == "dtype":
            return B.as_dtype(node["v"])
        if tag == "device":
            return B.as_device(node["v"])
        if tag == "bytes":
            return base64.b64decode(node["v"])
        if tag == "ndarray":
            return self._arr(node)[1].copy()
        raise self.bad(f"unknown node tag {tag!r}")


def _decode(data: bytes, map_location, where: str, flat=False):
    header = _parse_header(data, where)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise SerializationError(f"load: {where} has a malformed __metadata__ entry")
    arrays = _read_arrays(data, header, where)
    loc = _MapLocation(map_location, where)
    is_kt = meta.get("format") == FORMAT_NAME and "ktrain_structure" in meta
    if is_kt and not flat:
        try:
            version = int(meta.get("ktrain_format_version", "0"))
        except ValueError:
            version = -1
        if version != FORMAT_VERSION:
            raise SerializationError(f"load: {where} uses ktrain format version "
                                     f"{meta.get('ktrain_format_version')!r}; this ktrain "
                                     f"reads version {FORMAT_VERSION}")
        try:
            root = json.loads(meta["ktrain_structure"])
        except (ValueError, RecursionError, TypeError) as e:
            raise SerializationError(f"load: {where} has a corrupt ktrain structure ({e})") \
                from None
        dec = _Decoder(arrays, loc, where)
        try:
            result = dec.value(root)
        except _PassThrough as e:
            raise e.err from None
        except SerializationError:
            raise
        except (KeyError, TypeError, ValueError, RecursionError, AttributeError) as e:
            raise SerializationError(f"load: {where} has a corrupt ktrain structure "
                                     f"({type(e).__name__}: {e})") from None
    else:
        devices = {}
        if is_kt:  # flat view of a ktrain file: names are the path keys
            try:
                root = json.loads(meta["ktrain_structure"])
                _collect_devices(root, devices)
            except (ValueError, RecursionError, TypeError):
                devices = {}
        result = {name: loc.place(arr, devices.get(name, "cpu")) for name, arr in arrays.items()}
    if loc.fallback:
        warnings.warn(f"load: some tensors of {where} were saved on CUDA, which is not "
                      "available here; they were loaded on the CPU (pass map_location to "
                      "choose)", RuntimeWarning, stacklevel=3)
    return result


def _collect_devices(node, out):
    if isinstance(node, dict):
        if node.get("@") == "tensor":
            out[node.get("key")] = str(node.get("device", "cpu"))
            return
        for v in node.get("map", {}).values():
            _collect_devices(v, out)
        for v in node.get("items", ()):
            _collect_devices(v, out)
    elif isinstance(node, list):
        for v in node:
            _collect_devices(v, out)
