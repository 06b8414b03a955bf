"""Batching variable-length token sequences: padding collation and a bucketing sampler.

:func:`pad_batch` pads to the longest sequence of the batch in one scatter (no Python
loop over tokens) and returns ``input_ids``, ``attention_mask`` (1 = real token) and
``lengths``; :class:`PadCollate` turns ``(ids, label)`` samples into
``({'input_ids', 'attention_mask', 'lengths'}, labels)`` Tensors, the input dict the
core hands to ``model(**x)``. :class:`BucketBatchSampler` groups samples of similar
length so batches carry little padding.

Example::

    collate = PadCollate(padding_value=0)
    x, y = collate([(np.array([5, 6, 7]), 1), (np.array([8]), 0)])
    x["input_ids"]        # [[5, 6, 7], [8, 0, 0]]
    x["attention_mask"]   # [[1, 1, 1], [1, 0, 0]]
    loader = DataLoader(ds, batch_sampler=BucketBatchSampler(lengths, 32, shuffle=True),
                        collate_fn=collate)
"""
from __future__ import annotations

import ktrain
import numpy as np
from ktrain.utils.data import Sampler

__all__ = ["BucketBatchSampler", "PadCollate", "pad_batch"]


def pad_batch(seqs, padding_value: int = 0, max_length: int | None = None,
              min_length: int = 1) -> dict:
    """Pad token sequences (lists or 1-D arrays) to the batch maximum.

    Returns numpy ``{'input_ids': (B, L) int64, 'attention_mask': (B, L) int64,
    'lengths': (B,) int64}``; sequences longer than ``max_length`` are cut; ``L`` is at
    least ``min_length`` (an empty text still gives one padding column).
    """
    arrs = [np.asarray(s, dtype=np.int64).reshape(-1) for s in seqs]
    lengths = np.fromiter((a.shape[0] for a in arrs), dtype=np.int64, count=len(arrs))
    if max_length is not None and lengths.size and lengths.max() > max_length:
        arrs = [a[:max_length] for a in arrs]
        lengths = np.minimum(lengths, max_length)
    L = max(int(lengths.max()) if lengths.size else 0, int(min_length))
    mask = np.arange(L)[None, :] < lengths[:, None]
    ids = np.full((len(arrs), L), padding_value, dtype=np.int64)
    if arrs:
        ids[mask] = np.concatenate(arrs)  # row-major order of the mask = concatenation order
    return {"input_ids": ids, "attention_mask": mask.astype(np.int64), "lengths": lengths}


class PadCollate:
    """A ``collate_fn`` for samples ``(token_ids, label)`` (or bare ``token_ids``).

    Returns ``(inputs, labels)`` with ``inputs = {'input_ids', 'attention_mask',
    'lengths'}`` int64 Tensors and ``labels`` an int64 Tensor (or ``inputs`` alone for
    unlabelled samples). Picklable, so worker processes can use it.
    """

    def __init__(self, padding_value: int = 0, max_length: int | None = None,
                 min_length: int = 1):
        self.padding_value = int(padding_value)
        self.max_length = max_length
        self.min_length = int(min_length)

    def __call__(self, samples):
        labelled = isinstance(samples[0], (tuple, list)) and len(samples[0]) == 2 and \
            np.ndim(samples[0][1]) == 0
        seqs = [s[0] for s in samples] if labelled else samples
        batch = pad_batch(seqs, self.padding_value, self.max_length, self.min_length)
        x = {k: ktrain.from_numpy(v) for k, v in batch.items()}
        if not labelled:
            return x
        y = ktrain.from_numpy(np.fromiter((int(s[1]) for s in samples), dtype=np.int64,
                                          count=len(samples)))
        return x, y

    def __repr__(self):
        return f"PadCollate(padding_value={self.padding_value}, max_length={self.max_length})"


class BucketBatchSampler(Sampler):
    """Batches of indices grouped by length (torchtext's ``BucketIterator`` idea).

    Each epoch the indices are shuffled (``shuffle``), cut into pools of
    ``batch_size * bucket_size_multiplier``, each pool sorted by length and split into
    batches, and the batches shuffled; without ``shuffle`` batches are taken in length
    order. A fresh permutation per epoch comes from ``seed + epoch`` (call
    ``set_epoch``) or from the global numpy generator when ``seed`` is None.

    Args:
        lengths: the length of every sample (sequence).
        batch_size, drop_last: as for ``BatchSampler``.
        shuffle: randomise pools and batch order.
        bucket_size_multiplier: how many batches' worth of samples are sorted together
            (larger: less padding, less randomness).
    """

    def __init__(self, lengths, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 bucket_size_multiplier: int = 50, seed: int | None = None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.bucket_size_multiplier = max(1, int(bucket_size_multiplier))
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _batches(self):
        n = len(self.lengths)
        if self.shuffle:
            rng = np.random.default_rng(None if self.seed is None else self.seed + self.epoch) \
                if self.seed is not None else np.random
            order = rng.permutation(n)
        else:
            order = np.arange(n)
        pool = self.batch_size * self.bucket_size_multiplier
        batches = []
        for s in range(0, n, pool):
            chunk = order[s:s + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i:i + self.batch_size]
                           for i in range(0, len(chunk), self.batch_size))
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            perm = rng.permutation(len(batches))
            batches = [batches[i] for i in perm]
        if self.seed is not None:
            self.epoch += 1
        return batches

    def __iter__(self):
        for b in self._batches():
            yield b.tolist()

    def __len__(self):
        n = len(self.lengths)
        if self.drop_last:
            # full batches per pool
            pool = self.batch_size * self.bucket_size_multiplier
            full, rest = divmod(n, pool)
            return full * self.bucket_size_multiplier + rest // self.batch_size
        pool = self.batch_size * self.bucket_size_multiplier
        full, rest = divmod(n, pool)
        return full * self.bucket_size_multiplier + -(-rest // self.batch_size)
