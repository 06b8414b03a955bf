"""``save`` / ``load`` for tensors and nested containers, as safetensors files. No pickle.

File format
-----------
A ktrain checkpoint is an ordinary `safetensors <https://github.com/huggingface/safetensors>`_
file, so any safetensors reader (``safetensors.torch.load_file`` included) can open it:

* every tensor is stored under a *path key* built from where it sits in the saved object
  (``{'model': {'fc.weight': w}}`` stores ``w`` as ``model.fc.weight``; list items use their
  index; a bare tensor is ``tensor``; clashes get a ``#N`` suffix);
* the header's ``__metadata__`` holds ``format: "ktrain"``, ``ktrain_format_version`` and
  ``ktrain_structure``: a JSON description of the object (dicts, lists, tuples, plain values
  and tensor references with dtype, device and requires_grad).

Loading parses only that JSON and the raw tensor bytes; it never executes code, so
``weights_only`` is accepted for PyTorch compatibility but changes nothing. A safetensors
file without ktrain metadata (for instance a PyTorch ``state_dict`` written with
``safetensors.torch.save_file``) loads as a flat ``{name: Tensor}`` dict.

What can be saved: ``Tensor`` (subclasses load back as ``Tensor``), ``dict`` (any keys that
are plain values or tuples of them), ``collections.OrderedDict``, ``list``, ``tuple``,
``ktrain.Size``, ``str``, ``int``, ``float`` (inf/nan too), ``bool``, ``None``, ``bytes``,
numpy scalars (as Python numbers), numpy arrays (loaded back as numpy arrays), and ktrain
``dtype``/``device`` objects. Anything else is a ``TypeError`` that names its place, e.g.
``save: cannot serialize object of type set at obj['opt']['x']``.

Sharing: the same ``Tensor`` object referenced twice is stored once and loads back as one
object referenced twice. Distinct tensors that share storage (views of one base) are saved
as separate copies and load back as independent tensors. ``.grad`` is not saved.

Writes to a path are atomic: the bytes go to a temporary file in the target's directory,
which is flushed, fsynced and ``os.replace``-d onto the target (then the directory is
fsynced where the OS allows); a failure leaves an existing file untouched and removes the
temporary file.
"""
from __future__ import annotations

import base64
import collections
import json
import math
import os
import secrets
import struct
import sys
import warnings

import numpy as np

from . import _backend as B
from ._tensor import Size, Tensor

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SerializationError",
    "atomic_write_text",
    "json_dumps",
    "load",
    "load_file",
    "save",
    "save_file",
]

FORMAT_NAME = "ktrain"
FORMAT_VERSION = 1
_MAX_HEADER = 100_000_000  # safetensors' own header limit
_LITTLE = sys.byteorder == "little"

# safetensors dtype codes <-> ktrain dtype names
_ST_TO_NAME = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
               "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64", "U8": "uint8",
               "BOOL": "bool"}


class SerializationError(RuntimeError):
    """A file that cannot be loaded (corrupt, truncated, not safetensors, unsupported)."""


# ----------------------------------------------------------------------------- file plumbing


def _is_path(f) -> bool:
    return isinstance(f, (str, bytes, os.PathLike))


def _describe(f) -> str:
    if _is_path(f):
        p = os.fsdecode(os.fspath(f))
        return f"'{p}'"
    name = getattr(f, "name", None)
    if isinstance(name, (str, bytes)) and name:
        return f"'{os.fsdecode(name)}'"
    return f"<{type(f).__name__}>"


def _fsync_dir(path: str) -> None:
    flags = getattr(os, "O_DIRECTORY", 0) | os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems/OSes refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _json_plain(obj):
    """``obj`` with every NaN/inf float (numpy scalars included) as None, numpy scalars
    and arrays as Python numbers and lists, tuples as lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_plain(obj.item())
    if isinstance(obj, np.ndarray):
        return _json_plain(obj.tolist())
    return obj


def json_dumps(obj, **kwargs) -> str:
    """Strict JSON text of ``obj`` (RFC 8259: ``json.loads``, ``jq``, browsers read it):
    a NaN or infinite float is written as ``null`` (Python's ``json`` would write the
    bare ``NaN``/``Infinity`` no other parser accepts). Every JSON file ktrain writes
    (metrics.json, metrics.jsonl, eval_*.json, predictions, sweep results) uses it.
    ``kwargs`` go to :func:`json.dumps` (``indent``, ``default`` ...)."""
    kwargs["allow_nan"] = False
    return json.dumps(_json_plain(obj), **kwargs)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new one,
    never a torn one (temp file + fsync + rename). For small JSON/YAML side files."""
    _atomic_write(path, text.encode(encoding))


def _atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + os.replace)."""
    path = os.fsdecode(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if not base:
        raise IsADirectoryError(f"save: {path!r} names a directory, not a file")
    while True:  # O_EXCL with a random name: the umask applies, as for open(path, 'wb')
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise FileNotFoundError(f"save: cannot write '{path}': directory '{directory}' "
                                    f"does not exist") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _read_all(f) -> bytes:
    if _is_path(f):
        p = os.fsdecode(os.fspath(f))
        try:
            with open(p, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"load: no such file: '{p}'") from None
        except IsADirectoryError:
            raise IsADirectoryError(f"load: '{p}' is a directory, not a checkpoint file") \
                from None
    read = getattr(f, "read", None)
    if read is None:
        raise TypeError(f"load: expected a path or a binary file-like object, got "
                        f"{type(f).__name__}")
    data = read()
    if isinstance(data, str):
        raise TypeError(f"load: {_describe(f)} is opened in text mode; open it with 'rb'")
    return bytes(data)


# ----------------------------------------------------------------------------- encoding


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


# ----------------------------------------------------------------------------- decoding


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


# ----------------------------------------------------------------------------- public API


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Save ``obj`` (tensors in nested dicts/lists/tuples with plain values) to ``f``.

    ``f`` is a path (str or PathLike; written atomically) or a binary file-like object
    (written at its current position). The file is safetensors with the object's structure
    in its metadata; see the module docstring. ``pickle_module``/``pickle_protocol`` exist
    for PyTorch compatibility only: ktrain never pickles.
    """
    if pickle_module is not None:
        raise TypeError("save: ktrain never pickles; pickle_module is not supported")
    data = _encode(obj)  # type errors surface here, before any file is touched
    if _is_path(f):
        _atomic_write(f, data)
        return
    write = getattr(f, "write", None)
    if write is None:
        raise TypeError(f"save: expected a path or a binary file-like object, got "
                        f"{type(f).__name__}")
    write(data)
    flush = getattr(f, "flush", None)
    if flush is not None:
        flush()


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load an object written by :func:`save` (or any safetensors file) from ``f``.

    ``f``: a path or a binary file-like object (read from its current position).
    ``map_location``: where tensors go, as in PyTorch: ``None`` (the saved device when it
    is available, otherwise the CPU, with a warning), a device or string (``'cpu'``,
    ``'cuda:0'``), a dict ``{'cuda:0': 'cpu'}`` mapping saved devices (others follow the
    ``None`` rule), or a callable ``fn(tensor_on_cpu, saved_location) -> Tensor | None``.
    A safetensors file without ktrain metadata loads as a flat ``{name: Tensor}`` dict.
    Loading never executes code; ``weights_only`` is accepted for PyTorch compatibility.
    """
    if pickle_module is not None or pickle_load_args:
        raise TypeError("load: ktrain never unpickles; pickle_module and pickle load "
                        "arguments are not supported")
    where = _describe(f)
    return _decode(_read_all(f), map_location, where)


def save_file(tensors, filename, metadata=None) -> None:
    """Save a flat ``{name: Tensor}`` dict as a plain safetensors file (atomic write).

    Like ``safetensors.torch.save_file``: names are kept as given and ``metadata`` (a
    ``{str: str}`` dict) goes into the header. The file carries no ktrain structure, so
    ``load``/``load_file`` return a flat dict.
    """
    from safetensors.numpy import save as st_save

    if not isinstance(tensors, dict):
        raise TypeError(f"save_file: expected a dict of tensors, got {type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("save_file: metadata must be a dict of str to str")
    enc = _Encoder()
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save_file: tensor names must be str, got {type(name).__name__}")
        if not isinstance(t, Tensor):
            raise TypeError(f"save_file: value for {name!r} is a {type(t).__name__}, not a "
                            f"Tensor")
        arrays[name] = enc._array(t._data, (name,), "tensor")[0]
    _atomic_write(filename, st_save(arrays, metadata=metadata))


def load_file(filename, device="cpu") -> dict:
    """Load every tensor of a safetensors file as a flat ``{name: Tensor}`` dict on
    ``device`` (a ktrain checkpoint gives its tensors under their path keys)."""
    where = _describe(filename)
    return _decode(_read_all(filename), device, where, flat=True)
