"""What runs inside a DataLoader worker process, and the fetchers both modes share.

A worker seeds its random number generators (``ktrain.random``, numpy's global RNG,
Python's ``random``) from ``base_seed + worker_id``, runs ``worker_init_fn``, then loops:
take ``(idx, indices)`` from its index queue, fetch and collate the batch, send it back
through its result pipe (large arrays through shared memory, see ``_shm``). It exits on
``None``, when the main process has died, or when its pipe is closed. Errors are sent back
as an ``ExceptionWrapper`` carrying the traceback text, and re-raised in the main process.
"""
from __future__ import annotations

import os
import queue
import random
import sys
import traceback

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

_WATCHDOG_S = 1.0  # how often an idle worker checks that the main process is alive
_worker_info = None


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``,
    ``seed`` (this worker's seed, ``base_seed + id``) and ``dataset`` (its copy)."""

    id: int
    num_workers: int
    seed: int
    dataset: object
    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = [f"{k}={getattr(self, k)}" for k in self.__keys]
        return f"{self.__class__.__name__}({', '.join(items)})"


def get_worker_info():
    """The :class:`WorkerInfo` of the current DataLoader worker, or None in the main process.

    Use it in ``IterableDataset.__iter__`` to give each worker its own shard, or in
    ``worker_init_fn`` to configure each worker's copy of the dataset.
    """
    return _worker_info


class _KeyErrorMessage(str):
    """A KeyError's message printed as is (KeyError shows the repr of its argument)."""

    def __repr__(self):
        return self


def sample_source(dataset, index):
    """The file sample ``index`` of ``dataset`` is read from, when the dataset knows it:
    its ``sample_path(index)`` method, or ``samples[index]`` / ``files[index]`` /
    ``paths[index]`` (a path, or a tuple starting with one: torchvision's ImageFolder
    convention); Subset-style wrappers (``dataset``, ``indices``) are looked through."""
    try:
        for _ in range(8):  # a Subset of a Subset ...
            inner, indices = getattr(dataset, "dataset", None), getattr(dataset, "indices",
                                                                         None)
            if inner is None or indices is None:
                break
            dataset, index = inner, indices[index]
        fn = getattr(dataset, "sample_path", None)
        if callable(fn):
            path = fn(index)
            return None if path is None else os.fspath(path)
        for name in ("samples", "files", "paths"):
            items = getattr(dataset, name, None)
            if isinstance(items, (list, tuple)) and -len(items) <= index < len(items):
                item = items[index]
                if isinstance(item, (list, tuple)) and item:
                    item = item[0]
                if isinstance(item, (str, os.PathLike)):
                    return os.fspath(item)
    except Exception:  # noqa: BLE001 - naming the file is a courtesy, never a new error
        return None
    return None


def _mark_sample(exc, dataset, index):
    """Record on ``exc`` which sample failed (``exc.ktrain_sample``: index, file or None,
    the exception's own one-line summary) and add a note saying so."""
    if getattr(exc, "ktrain_sample", None) is not None:
        return
    path = sample_source(dataset, index) if isinstance(index, int) else None
    first = (str(exc).strip().splitlines() or [""])[0]
    summary = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    try:
        exc.ktrain_sample = (index, path, summary)
    except AttributeError:  # an exception type with __slots__
        return
    if hasattr(exc, "add_note"):
        exc.add_note(f"while loading sample {index} of {type(dataset).__name__}"
                     + (f" (file {path})" if path else ""))


class ExceptionWrapper:
    """An exception caught in a worker, sent to the main process and re-raised there;
    ``sample`` is the failing sample's (index, file, summary) when it is known."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where
        self.sample = getattr(exc_info[1], "ktrain_sample", None)
        try:  # the class must unpickle in the main process, else re-raise a RuntimeError
            import pickle

            pickle.loads(pickle.dumps(self.exc_type))
        except Exception:
            self.exc_type = RuntimeError

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # the exception type needs other constructor arguments
            exc = RuntimeError(msg)
        if self.sample is not None:
            try:
                exc.ktrain_sample = self.sample
                exc.ktrain_where = self.where
            except AttributeError:
                pass
        raise exc from None


class _IterableDatasetStopIteration:
    """Sent by a worker whose copy of an IterableDataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to persistent workers at a new epoch with that epoch's base seed; echoed back
    as the acknowledgement."""

    def __init__(self, base_seed):
        self.base_seed = base_seed


# ----------------------------------------------------------------------------- fetchers


class _MapDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        getitems = getattr(dataset, "__getitems__", None)
        self._getitems = getitems if callable(getitems) else None

    def fetch(self, index):
        if self.auto_collation:
            if self._getitems is not None:
                data = self._getitems(index)
            else:
                data, i = [], None
                try:
                    for i in index:
                        data.append(self.dataset[i])
                except Exception as e:
                    _mark_sample(e, self.dataset, i)
                    raise
        else:
            try:
                data = self.dataset[index]
            except Exception as e:
                _mark_sample(e, self.dataset, index)
                raise
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableDatasetFetcher if iterable else _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# ----------------------------------------------------------------------------- seeding


def _numpy_seed(base_seed: int, worker_id: int):
    """128 well-mixed bits for numpy's global RNG (it only takes 32-bit words)."""
    return np.random.SeedSequence([worker_id, base_seed]).generate_state(4)


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed ktrain, numpy and Python RNGs of this process as PyTorch's workers do."""
    from ... import random as kt_random

    seed = base_seed + worker_id
    random.seed(seed)
    kt_random.manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


# ----------------------------------------------------------------------------- the loop


def _worker_loop(iterable, dataset, index_queue, conn, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                 shm_prefix, parent_pid, inherited=()):
    global _worker_info
    from ._shm import ShmWriter

    for c in inherited:  # read ends of the main process, copied by fork
        c.close()

    writer = ShmWriter(shm_prefix)
    where = f"in DataLoader worker process {worker_id}"
    from ... import _threads
    _threads.set_num_threads(1)  # as PyTorch's workers: the main process owns the cores
    try:
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        def new_fetcher():  # (fetcher, None) or (None, the error of making it)
            try:
                return create_fetcher(iterable, dataset, auto_collation, collate_fn,
                                      drop_last), None
            except Exception:
                return None, ExceptionWrapper(where=where)

        init_error = fetch_error = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(where=where)  # reported by every batch
        if init_error is None:
            fetcher, fetch_error = new_fetcher()
        iteration_end = False

        def send(idx, data):
            try:
                msg = writer.encode(idx, data)
            except Exception:  # e.g. an unpicklable batch: report it instead
                msg = writer.encode(idx, ExceptionWrapper(where=where))
            conn.send_bytes(msg)

        while True:
            try:
                r = index_queue.get(timeout=_WATCHDOG_S)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    break  # the main process is gone
                continue
            if isinstance(r, _ResumeIteration):
                # reseed as a fresh worker would be, so an epoch gives the same numbers
                # whether or not the workers persist
                seed = seed_worker(r.base_seed, worker_id)
                _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                          dataset=dataset)
                send(r, None)
                iteration_end = False
                if init_error is None:
                    fetcher, fetch_error = new_fetcher()
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            if init_error is not None or fetch_error is not None:
                data = init_error or fetch_error
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=where)
            if not done_event.is_set():
                send(idx, data)
            del data
    except KeyboardInterrupt:
        pass  # the main process gets its own KeyboardInterrupt and shuts us down
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the main process closed our pipe: it is shutting down
    finally:
        writer.close()
        try:
            conn.close()
        except OSError:
            pass
