"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

With ``num_workers=0`` batches are fetched and collated in the calling process. With
``num_workers > 0`` the loader starts that many worker processes (``fork`` on Linux
unless another start method was chosen) that each own an index queue; the main process
deals batch indices out round robin, keeps ``prefetch_factor * num_workers`` batches in
flight, receives results through one pipe per worker (large arrays via shared memory),
and yields them in sampler order. While it waits it watches the workers' process
sentinels, so a crashed or killed worker is reported at once instead of hanging.
Workers stop when the epoch ends (unless ``persistent_workers``), when the iterator is
garbage collected, on errors and on KeyboardInterrupt; they are daemons and also watch
the main process, so none outlives it.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import warnings
import weakref

from ...autograd import profiler as _profiler
from ._pool import WorkerPool, default_context
from ._worker import (ExceptionWrapper, _IterableDatasetStopIteration, _ResumeIteration,
                      create_fetcher)
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _draw_seed

__all__ = ["DataLoader"]

class _InfiniteConstantSampler(Sampler):
    """Yields None forever: the 'indices' of an IterableDataset."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in batches (``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__`` + ``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch (None turns automatic batching off).
        shuffle: reshuffle at every epoch (map-style datasets only).
        sampler / batch_sampler: where indices (or index lists) come from; exclusive with
            ``shuffle`` (and, for ``batch_sampler``, with batch_size and drop_last).
        num_workers: worker processes (0: load in the main process).
        collate_fn: merges a list of samples into a batch (``default_collate``).
        pin_memory, pin_memory_device: accepted; a no-op on CPU.
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for one batch from the workers (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after
            seeding and before loading.
        multiprocessing_context: a start method name or ``multiprocessing`` context.
        generator: the ``ktrain.Generator`` for the sampler's shuffle and the workers'
            ``base_seed`` (``ktrain.default_generator`` when None).
        prefetch_factor: batches loaded in advance per worker (2 when workers are used).
        persistent_workers: keep the workers alive across epochs.

    Example::

        >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
        ...                     num_workers=2)
        >>> for xb, yb in loader: ...
    """

    _initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None, generator=None,
                 *, prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context

        if isinstance(dataset, IterableDataset):
            self._dataset_kind_iterable = True
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            self._dataset_kind_iterable = False
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called = None
        self._iterator = None
        self._initialized = True
        self.check_worker_number_rationality()

    # ------------------------------------------------------------------ configuration
    def __setattr__(self, attr, val):
        if self._initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                          "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def multiprocessing_context(self):
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(ctx, str):
                methods = mp.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={ctx!r}")
                ctx = mp.get_context(ctx)
            elif not isinstance(ctx, mp.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={ctx}")
        self._mp_context = ctx

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def check_worker_number_rationality(self):
        """Warn when more workers are asked for than this process may use CPUs."""
        if self.num_workers == 0:
            return
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:
            cpus = os.cpu_count()
        if cpus and self.num_workers > cpus:
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in "
                          f"total. Our suggested max number of worker in current system is "
                          f"{cpus}, which is smaller than what this DataLoader is going to "
                          f"create. Please be aware that excessive worker creation might get "
                          f"DataLoader running slow or even freeze, lower the worker number "
                          f"to avoid potential slowness/freeze if necessary.", stacklevel=3)

    # ------------------------------------------------------------------ iteration
    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self):
        if self._dataset_kind_iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    length = length // self.batch_size
                else:
                    length = -(-length // self.batch_size)
            # remembered in batches, the unit of what the iterator counts (PyTorch keeps
            # samples here and so never warns when batching)
            self._IterableDataset_len_called = length
            return length
        return len(self._index_sampler)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._iterable = loader._dataset_kind_iterable
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._persistent_workers = loader.persistent_workers
        self._sampler_iter = iter(self._index_sampler)
        # drawn after iter(sampler) and before its first index, as PyTorch: the same
        # default-generator stream gives the same shuffle with or without workers
        self._base_seed = _draw_seed(loader.generator)
        self._num_yielded = 0
        self._shutdown = False

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._iterable and self._IterableDataset_len_called is not None \
                and self._num_yielded > self._IterableDataset_len_called:
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._IterableDataset_len_called} (when accessing len(dataloader)), but "
                   f"{self._num_yielded} batches have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly "
                        "configuring the IterableDataset replica at each worker (see "
                        "get_worker_info).")
            warnings.warn(msg, stacklevel=2)
        return data

    def __len__(self):
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{self.__class__.__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = create_fetcher(self._iterable, self._dataset, self._auto_collation,
                                       self._collate_fn, self._drop_last)

    def _next_data(self):
        index = self._next_index()  # may raise StopIteration
        return self._fetcher.fetch(index)  # may raise StopIteration


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        ctx = loader.multiprocessing_context or default_context()
        args = (self._iterable, self._dataset, self._auto_collation, self._collate_fn,
                self._drop_last, loader.worker_init_fn)
        self._pool = WorkerPool(ctx, self._num_workers, args, self._base_seed)
        self._finalizer = weakref.finalize(self, self._pool.shutdown)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        n = self._num_workers
        self._send_idx = 0  # next task index to send
        self._rcvd_idx = 0  # next task index to yield
        self._task_info = {}  # idx -> (worker_id,) while pending, (worker_id, data) when early
        self._tasks_outstanding = 0
        self._workers_status = [True] * n
        self._worker_cycle = itertools.cycle(range(n))
        if not first_iter:
            # persistent workers: a new base seed each epoch, drawn where a new iterator
            # would draw it; results of the last epoch still in flight are dropped until
            # every worker has acknowledged the new epoch
            self._base_seed = _draw_seed(loader.generator)
            for wid in range(n):
                self._pool.put(wid, _ResumeIteration(self._base_seed))
            waiting = n
            try:
                while waiting:
                    r = self._pool.get(range(n), self._timeout or None)
                    if r is None:
                        raise RuntimeError(f"DataLoader timed out after {self._timeout} "
                                           f"seconds")
                    if isinstance(r[1], _ResumeIteration):
                        waiting -= 1
            except BaseException:
                self._shutdown_workers()
                raise
        for _ in range(self._prefetch_factor * n):
            self._try_put_index()

    def _try_put_index(self):
        if self._tasks_outstanding >= self._prefetch_factor * self._num_workers:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = next(self._worker_cycle)
            if self._workers_status[wid]:
                break
        else:
            return  # every worker has finished its IterableDataset copy
        self._pool.put(wid, (self._send_idx, index))
        self._task_info[self._send_idx] = (wid,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _get_data(self):
        active = [w for w, ok in enumerate(self._workers_status) if ok]
        r = self._pool.get(active, self._timeout if self._timeout > 0 else None)
        if r is None:
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        return r

    def _next_data(self):
        if self._shutdown:
            raise StopIteration
        try:
            data = self._next_result()
        except StopIteration:
            raise
        except BaseException:  # dead worker, timeout, KeyboardInterrupt, ...
            self._shutdown_workers()
            raise
        if isinstance(data, ExceptionWrapper):
            data.reraise()  # the iterator stays usable, as in PyTorch
        return data

    def _next_result(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]  # its worker ended: never comes
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                return self._advance(info[1])
            _, idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                if idx in self._task_info:
                    self._task_info[idx] += (data,)  # early: keep it until its turn
                continue
            del self._task_info[idx]
            return self._advance(data)

    def _advance(self, data):
        self._rcvd_idx += 1
        self._try_put_index()
        return data

    def _mark_worker_as_unavailable(self, wid):
        self._pool.put(wid, None)
        self._workers_status[wid] = False

    def _shutdown_workers(self):
        if not self._shutdown:
            self._shutdown = True
            self._finalizer()


def _profile_fetches(rec):
    """While a profile runs, each batch fetched is a range (PyTorch's name)."""
    return _profiler._wrap_methods(
        rec, [_BaseDataLoaderIter], "__next__",
        lambda self: f"enumerate(DataLoader)#{type(self).__name__}.__next__")


_profiler._register_instrumentation(_profile_fetches)
