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

Layout: this package holds the public functions; ``_files`` the atomic writes, reads and
strict JSON, ``_encode`` the object -> safetensors encoding, ``_decode`` the safetensors
-> object decoding and ``map_location``.
"""
from __future__ import annotations

from .._tensor import Tensor
from ._decode import (_LITTLE, _MAX_HEADER, _ST_TO_NAME, SerializationError,  # noqa: F401
                      _collect_devices, _decode, _Decoder, _MapLocation, _parse_header,
                      _PassThrough, _read_arrays)
from ._encode import FORMAT_NAME, FORMAT_VERSION, _encode, _Encoder, _fmt_path  # noqa: F401
from ._files import (_atomic_write, _describe, _fsync_dir, _is_path, _json_plain,  # noqa: F401
                     _read_all, atomic_write_text, json_dumps)

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
