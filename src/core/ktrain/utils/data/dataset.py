"""Datasets: the map-style ``Dataset`` and stream-style ``IterableDataset`` protocols and
their combinators (``TensorDataset``, ``StackDataset``, ``ConcatDataset``,
``ChainDataset``, ``Subset``) plus ``random_split``, as in ``torch.utils.data``.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "StackDataset",
           "Subset", "TensorDataset", "random_split"]


class Dataset:
    """A map-style dataset: ``dataset[i]`` gives sample ``i``; ``len(dataset)`` (optional)
    gives the number of samples, which the default samplers need.

    Subclasses may also define ``__getitems__(indices) -> list`` to fetch a whole batch at
    once; the DataLoader then calls it instead of ``__getitem__`` per sample.
    ``a + b`` concatenates two datasets.
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: ``iter(dataset)`` yields the samples.

    With ``num_workers > 0`` each worker process holds its own copy of the dataset and
    iterates it fully, so the samples would repeat once per worker unless ``__iter__``
    shards the stream with :func:`get_worker_info` (``info.id`` of ``info.num_workers``).
    ``a + b`` chains two iterable datasets.
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; all tensors share the first dim."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].size(0)
        for i, t in enumerate(tensors):
            if t.size(0) != n:
                raise ValueError(f"Size mismatch between tensors: tensor 0 has {n} rows, "
                                 f"tensor {i} has {t.size(0)}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].size(0)


class StackDataset(Dataset):
    """Zip datasets of equal length: ``StackDataset(a, b)[i] == (a[i], b[i])`` or, with
    keywords, ``StackDataset(x=a, y=b)[i] == {'x': a[i], 'y': b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if args:
            self._length = len(args[0])
            if any(self._length != len(d) for d in args):
                raise ValueError("Size mismatch between datasets")
            self.datasets = args
        elif kwargs:
            vals = list(kwargs.values())
            self._length = len(vals[0])
            if any(self._length != len(d) for d in vals):
                raise ValueError("Size mismatch between datasets")
            self.datasets = kwargs
        else:
            raise ValueError("At least one dataset should be passed")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list):
        n = len(indices)
        if isinstance(self.datasets, dict):
            out = [{} for _ in indices]
            for k, d in self.datasets.items():
                col = _fetch_many(d, indices)
                if len(col) != n:
                    raise ValueError(f"Nested dataset's output size mismatch. Expected {n}, "
                                     f"got {len(col)}")
                for s, v in zip(out, col):
                    s[k] = v
            return out
        cols = []
        for d in self.datasets:
            col = _fetch_many(d, indices)
            if len(col) != n:
                raise ValueError(f"Nested dataset's output size mismatch. Expected {n}, got "
                                 f"{len(col)}")
            cols.append(col)
        return [tuple(s) for s in zip(*cols)]

    def __len__(self):
        return self._length


def _fetch_many(dataset, indices):
    getitems = getattr(dataset, "__getitems__", None)
    if callable(getitems):
        return getitems(indices)
    return [dataset[i] for i in indices]


class ConcatDataset(Dataset):
    """The concatenation of map-style datasets: indices run through each in turn."""

    @staticmethod
    def cumsum(sequence):
        r, s = [], 0
        for e in sequence:
            s += len(e)
            r.append(s)
        return r

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset "
                                "(use ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = n + idx
        elif idx >= n:
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {n}")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if d == 0 else idx - self.cumulative_sizes[d - 1]
        return self.datasets[d][sample_idx]


class ChainDataset(IterableDataset):
    """Iterable datasets chained one after the other (lazily, on each iteration)."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")
            total += len(d)
        return total


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        return _fetch_many(self.dataset, [self.indices[i] for i in indices])

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s.

    ``lengths`` are sizes that sum to ``len(dataset)``, or fractions that sum to 1: each
    gets ``floor(len * frac)`` samples and the remainder is dealt out one by one, round
    robin from the first split (PyTorch's rule). The permutation is drawn with
    ``generator`` (``ktrain.default_generator`` when None).

    Example::

        >>> train, val = random_split(range(10), [0.7, 0.3], generator=Generator().manual_seed(0))
        >>> len(train), len(val)
        (7, 3)
    """
    from ...random import randperm

    lengths = list(lengths)
    n = len(dataset)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=2)
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1, got {lengths}")
    lengths = [int(x) for x in lengths]
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! "
                         f"(sum {sum(lengths)}, dataset length {n})")
    indices = randperm(n, generator=generator).tolist()
    return [Subset(dataset, indices[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
