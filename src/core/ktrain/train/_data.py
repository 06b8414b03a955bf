"""Batches as the Trainer sees them: checked, moved to the device, counted, skipped.

The loops check batches with a :class:`BatchChecker` per loader pass: the first batch is
checked fully (:func:`check_batch`), later ones only against its structural signature
(container types, keys, lengths, leaf types), so a pass costs one full walk; a batch
whose signature differs is checked fully, and a bad one still raises the error that
names its index and what is wrong.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .._tensor import Tensor
from ..utils.data import DataLoader
from ..utils.data.sampler import Sampler

__all__ = ["check_batch", "BatchChecker", "batch_signature", "move_batch", "batch_size_of", "num_batches", "skip_iter"]

_LEAVES = (str, bytes, numbers.Number, type(None))


def _describe(x) -> str:
    r = repr(x)
    if len(r) > 80:
        r = r[:77] + "..."
    return f"{type(x).__module__}.{type(x).__qualname__} ({r})"


def _find_bad(x, path):
    """The path and value of the first element that is not a Tensor, container or plain
    value, or None."""
    if isinstance(x, Tensor) or isinstance(x, _LEAVES):
        return None
    if isinstance(x, dict):
        for k, v in x.items():
            bad = _find_bad(v, f"{path}[{k!r}]")
            if bad:
                return bad
        return None
    if isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            bad = _find_bad(v, f"{path}[{i}]")
            if bad:
                return bad
        return None
    return path, x


def check_batch(batch, batch_idx: int, stage: str) -> None:
    """Raise a TypeError naming the batch index and what the loader returned when the
    batch is not a Tensor or a (nested) tuple/list/dict of Tensors and plain values."""
    if isinstance(batch, Tensor):
        return
    if not isinstance(batch, (list, tuple, dict)):
        raise TypeError(f"{stage} batch {batch_idx}: expected a Tensor or a tuple/list/dict "
                        f"of Tensors from the data loader, got {_describe(batch)}")
    bad = _find_bad(batch, "batch")
    if bad:
        path, value = bad
        hint = (" (numpy arrays are converted by the DataLoader's default_collate; a custom "
                "collate_fn must return ktrain Tensors)") if type(value).__module__ == "numpy" \
            else " (does the dataset's __getitem__ return tensors or numbers?)"
        raise TypeError(f"{stage} batch {batch_idx}: {path} is {_describe(value)}; expected "
                        f"Tensors, numbers or strings{hint}")


def batch_signature(batch):
    """The structure of ``batch``: nested containers with their types, dict keys and
    lengths, and the type of every leaf (no value is looked at)."""
    t = type(batch)
    if t is tuple or t is list:
        return (t, *map(batch_signature, batch))
    if t is dict:
        return (t, tuple(batch), *map(batch_signature, batch.values()))
    if isinstance(batch, (list, tuple, dict)):  # subclasses, namedtuples: same idea
        items = batch.values() if isinstance(batch, dict) else batch
        keys = tuple(batch.keys()) if isinstance(batch, dict) else ()
        return (t, keys, *map(batch_signature, items))
    return t


class BatchChecker:
    """``check_batch`` for one pass over a loader, paid in full once (see the module
    docstring): ``checker(batch, batch_idx)``."""

    __slots__ = ("stage", "_ok")

    def __init__(self, stage: str):
        self.stage = stage
        self._ok = None  # the signature of the last batch checked fully

    def __call__(self, batch, batch_idx: int) -> None:
        if type(batch) is Tensor:
            return
        sig = batch_signature(batch)
        if sig == self._ok:
            return
        check_batch(batch, batch_idx, self.stage)
        self._ok = sig


def move_batch(batch, device):
    """The batch with every Tensor on ``device`` (containers rebuilt, others kept)."""
    if isinstance(batch, Tensor):
        return batch if batch.device == device else batch.to(device)
    if isinstance(batch, dict):
        return type(batch)((k, move_batch(v, device)) for k, v in batch.items())
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(move_batch(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_batch(v, device) for v in batch)
    return batch


def batch_size_of(batch) -> int:
    """Leading dimension of the first Tensor of the batch (None when there is none)."""
    if isinstance(batch, Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    items = batch.values() if isinstance(batch, dict) else \
        batch if isinstance(batch, (list, tuple)) else ()
    for v in items:
        n = batch_size_of(v)
        if n is not None:
            return n
    return None


def num_batches(loader, limit) -> float:
    """Batches per epoch after ``limit`` (None/1.0: all, float: fraction, int: count);
    ``math.inf`` for loaders without a length."""
    try:
        n = len(loader)
    except TypeError:
        n = math.inf
    if limit is None:
        return n
    if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or limit < 0:
        raise ValueError(f"limit_*_batches must be None, a fraction in [0, 1] or a number of "
                         f"batches >= 0, got {limit!r}")
    if isinstance(limit, float):
        if limit > 1.0:
            raise ValueError(f"a float limit_*_batches is a fraction in [0, 1], got {limit}")
        if limit == 1.0:
            return n
        if n == math.inf:
            raise ValueError("a fractional limit_*_batches needs a loader with a length")
        return int(n * limit)
    return min(n, int(limit))


class _Skip(Sampler):
    """The index lists of ``inner`` after the first ``k``, and a callback run as soon as
    they were skipped (where the loader has drawn its shuffle seed)."""

    def __init__(self, inner, k, after_skip):
        self.inner, self.k, self.after_skip = inner, k, after_skip

    def __iter__(self):
        it = iter(self.inner)
        for _ in range(self.k):
            if next(it, _Skip) is _Skip:
                break
        self.after_skip()
        yield from it

    def __len__(self):
        return max(0, len(self.inner) - self.k)


def skip_iter(loader, k: int, after_skip):
    """An iterator over ``loader`` without its first ``k`` batches.

    A map-style ``DataLoader`` skips their indices without loading them (a clone of the
    loader over the remaining index lists); other iterables load and drop them.
    ``after_skip()`` runs once the skipped batches are behind: for a DataLoader that is
    after its shuffle drew from the generators and before the next batch is loaded.
    """
    if isinstance(loader, DataLoader) and not loader._dataset_kind_iterable:
        common = dict(num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                      pin_memory=loader.pin_memory, timeout=loader.timeout,
                      worker_init_fn=loader.worker_init_fn,
                      multiprocessing_context=loader.multiprocessing_context,
                      generator=loader.generator, prefetch_factor=loader.prefetch_factor)
        if loader.batch_sampler is not None:
            clone = DataLoader(loader.dataset, batch_sampler=_Skip(loader.batch_sampler, k,
                                                                   after_skip), **common)
        else:
            clone = DataLoader(loader.dataset, batch_size=None,
                               sampler=_Skip(loader.sampler, k, after_skip), **common)
        return iter(clone)
    if k:
        warnings.warn(f"resuming mid-epoch: this train loader ({type(loader).__name__}) cannot "
                      f"skip batches without loading them; loading and dropping {k} batches",
                      stacklevel=3)
    it = iter(loader)
    for _ in range(k):
        if next(it, _Skip) is _Skip:
            break
    after_skip()
    return it
