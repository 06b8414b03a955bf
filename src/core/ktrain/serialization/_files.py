"""File plumbing of :mod:`ktrain.serialization`: atomic writes (temp file + fsync +
``os.replace`` + directory fsync), whole-file reads from a path or a binary file object,
and strict JSON text (:func:`json_dumps`, NaN/inf as ``null``).

Every file ktrain writes goes through :func:`_atomic_write`: a reader sees the old file
or the new one, never a torn one, and a failure removes the temporary file.
"""
from __future__ import annotations

import json
import math
import os
import secrets

import numpy as np

__all__ = ["atomic_write_text", "json_dumps"]


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
