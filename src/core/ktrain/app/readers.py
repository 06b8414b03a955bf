"""Prediction input readers and grid writers of ``ktrain predict``: the core's ``.npy``
and ``.csv`` readers, :class:`PredictContext`, and :func:`register_reader` /
:func:`register_grid_writer`, thin wrappers over the ``PREDICT_READERS`` /
``GRID_WRITERS`` registries of :mod:`ktrain.registry` (through which plugins register
theirs, in their ``register(registries)``)."""
from __future__ import annotations

import csv
import math
from collections.abc import Callable
from collections.abc import Set as AbcSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import ConfigError, RunConfig
from ..registry import GRID_WRITERS as _GRID_WRITERS
from ..registry import PREDICT_READERS as _PREDICT_READERS

__all__ = ["BATCHED_READERS", "GRID_WRITERS", "LITERAL", "PREDICT_READERS", "PredictContext",
           "register_grid_writer", "register_reader"]


@dataclass
class PredictContext:
    """What a prediction reader may use to turn a file into model inputs."""

    run: RunConfig | None = None
    dataset: Any = None
    sample_shape: tuple | None = None


# ------------------------------------------------------------------------ readers
def _read_npy(path, context: PredictContext):
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"cannot read {path} as a .npy array: {e}") from None
    if isinstance(arr, np.lib.npyio.NpzFile):  # pragma: no cover - np.load of .npy
        raise ConfigError(f"{path}: expected a .npy array")
    return arr


def _read_csv(path, context: PredictContext):
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        raise ConfigError(f"{path}: the CSV file has no rows")

    def numeric(row):
        try:
            return [float(c) for c in row]
        except ValueError:
            return None

    if numeric(rows[0]) is None:  # a header row
        rows = rows[1:]
    data = []
    for i, row in enumerate(rows):
        vals = numeric(row)
        if vals is None:
            raise ConfigError(f"{path}: row {i + 1} holds a value that is not a number: "
                              f"{row!r}")
        data.append(vals)
    if not data:
        raise ConfigError(f"{path}: the CSV file has a header but no rows")
    widths = {len(r) for r in data}
    if len(widths) != 1:
        raise ConfigError(f"{path}: rows have different numbers of columns: {sorted(widths)}")
    arr = np.asarray(data, dtype=np.float32)
    shape = context.sample_shape
    if shape and len(shape) > 1 and math.prod(shape) == arr.shape[1]:
        arr = arr.reshape((arr.shape[0],) + tuple(shape))
    return arr


#: lower-case extension -> ``reader(path, context) -> array`` (a batch); ``":text"``
#: holds the reader of literal (non-file) inputs, if any. A registry (see ktrain.registry).
PREDICT_READERS = _PREDICT_READERS
#: extension -> ``writer(records, path, context) -> Path`` for ``predict --grid``.
GRID_WRITERS = _GRID_WRITERS
LITERAL = ":text"


class _Tagged(AbcSet):
    """The names of a registry's entries carrying a tag, read live (``".wav" in
    BATCHED_READERS``)."""

    def __init__(self, registry, tag):
        self._registry, self._tag = registry, tag

    def __contains__(self, name):
        e = self._registry.entries().get(name)
        return e is not None and self._tag in e.tags

    def __iter__(self):
        return iter(self._registry.tagged(self._tag))

    def __len__(self):
        return len(self._registry.tagged(self._tag))

    def __repr__(self):
        return repr(set(self))


#: Extensions whose readers return ready batches (no sample-shape check, dtype kept):
#: the readers registered with the tag ``"batched"``.
BATCHED_READERS = _Tagged(PREDICT_READERS, "batched")


def _ext(ext: str) -> str:
    if ext == LITERAL:
        return ext
    return ext.lower() if ext.startswith(".") else "." + ext.lower()


def register_reader(ext: str, reader: Callable, override: bool = False,
                    batched: bool = False) -> Callable:
    """Add a prediction input reader for files ending in ``ext`` (e.g. ``'.png'``), or for
    literal inputs (``ext=":text"``: an input that is not an existing path is given to
    the reader as a ``str``). ``batched=True``: the reader returns a ready batch of any
    shape and dtype (token ids ...): no check against the dataset's sample shape, and
    inputs of different shapes run as separate batches. A thin wrapper over
    ``PREDICT_READERS.register`` (plugins register through their ``registries``)."""
    ext = _ext(ext)
    same = ext in PREDICT_READERS and PREDICT_READERS.entries()[ext].target is reader
    PREDICT_READERS.register(ext, reader, override=override or same,
                             tags=("batched",) if batched else ())
    return reader


def register_grid_writer(ext: str, writer: Callable, override: bool = False) -> Callable:
    """Add the ``predict --grid`` writer for inputs ending in ``ext``:
    ``writer(records, path, context) -> Path`` draws the inputs of ``records`` (the
    prediction dicts of those inputs) with their predicted labels into ``path``. A thin
    wrapper over ``GRID_WRITERS.register``."""
    GRID_WRITERS.register(_ext(ext), writer, override=override)
    return writer


def _readers():
    """The readers, after loading plugins (which may add some)."""
    try:
        from .. import plugins

        if plugins.autoload_enabled():
            plugins.load_plugins()
    except Exception as e:  # noqa: BLE001 - a broken plugin is reported by `ktrain plugins`
        import warnings

        warnings.warn(f"loading plugins for the predict readers failed: {e}", stacklevel=2)
    return PREDICT_READERS


