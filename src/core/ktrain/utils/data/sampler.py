"""Samplers: iterables of dataset indices (or of index lists, for ``BatchSampler``).

Same names, arguments and draws as ``torch.utils.data``; the random ones take a
``ktrain.Generator`` and, without one, draw a fresh seed from ``ktrain``'s default
generator at each ``iter()``, so ``ktrain.manual_seed(s)`` makes shuffles reproducible.
"""
from __future__ import annotations

import itertools

from ..._tensor import Tensor

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]


def _draw_seed(generator=None) -> int:
    """A non-negative int64 drawn from ``generator`` (the default generator when None), as
    PyTorch's ``torch.empty((), dtype=torch.int64).random_(generator=g).item()``."""
    from ... import _backend as B
    from ...creation import empty

    return int(empty((), dtype=B.int64).random_(generator=generator).item())


def _is_pos_int(x) -> bool:
    try:
        return not isinstance(x, bool) and int(x) == x and x > 0
    except (TypeError, ValueError):
        return False


class Sampler:
    """Base class: ``__iter__`` yields indices; ``__len__`` is optional."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random order of ``data_source``'s indices.

    Without replacement: one permutation per ``len(data_source)`` samples (several when
    ``num_samples`` is larger). With replacement: ``num_samples`` uniform draws.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not _is_pos_int(self.num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        from ...random import Generator, randint, randperm

        n = len(self.data_source)
        if self.generator is None:
            generator = Generator().manual_seed(_draw_seed())
        else:
            generator = self.generator
        k = int(self.num_samples)
        if self.replacement:
            # chunks of 32 draws: lazy, and the same stream however far one iterates
            for _ in range(k // 32):
                yield from randint(high=n, size=(32,), generator=generator).tolist()
            if k % 32:
                yield from randint(high=n, size=(k % 32,), generator=generator).tolist()
        else:
            for _ in range(k // n):
                yield from randperm(n, generator=generator).tolist()
            if k % n:
                yield from randperm(n, generator=generator).tolist()[: k % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new permutation at each ``iter()``)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        from ...random import randperm

        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities
    proportional to ``weights`` (with replacement by default)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        from ... import _backend as B
        from ...creation import as_tensor

        if not _is_pos_int(num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        if not isinstance(weights, Tensor) and not hasattr(weights, "__array__"):
            weights = list(weights)
        w = as_tensor(weights, dtype=B.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        from ...random import multinomial

        yield from multinomial(self.weights, self.num_samples, self.replacement,
                               generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``; the last, shorter
    list is dropped when ``drop_last``.

    Example::

        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_pos_int(batch_size):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        bs = self.batch_size
        while True:
            batch = list(itertools.islice(it, bs))
            if not batch or (self.drop_last and len(batch) < bs):
                return
            yield batch
            if len(batch) < bs:
                return

    def __len__(self):
        n = len(self.sampler)
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size
