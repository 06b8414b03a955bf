"""Variable-length sequences for the recurrent layers: ``PackedSequence`` and the
packing/padding helpers (PyTorch's ``torch.nn.utils.rnn``).

A packed sequence stores the steps of a batch sorted by decreasing length in time-major
order: the rows of step ``t`` are the first ``batch_sizes[t]`` sequences. Packing and
padding are one gather / one scatter of rows with a precomputed index (the ops
``_TakeRows``/``_PutRows`` of ``ops.rnn``, each the other's backward, so higher-order
gradients work).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ... import _backend as B
from ..._tensor import Tensor
from ...ops.rnn import _PutRows, _TakeRows

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


def _device_index(idx, like):
    """A host index array moved to the device of the array ``like``."""
    xp = B.array_module(like)
    return idx if xp is np else xp.asarray(idx)


def _host_ints(t):
    if isinstance(t, Tensor):
        return np.asarray(t.__array__(), dtype=np.int64).reshape(-1)
    return np.asarray(list(t), dtype=np.int64).reshape(-1)


def _packed_rows(lengths, steps, n, batch_first):
    """Row numbers, in packed order, of a (steps, n) time-major or (n, steps) padded layout."""
    t = np.arange(steps)[:, None]
    j = np.arange(n)[None, :]
    mask = t < lengths[None, :]
    rows = j * steps + t if batch_first else t * n + j
    return rows[mask]


# ---------------------------------------------------------------------- PackedSequence


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


class PackedSequence(_PackedFields):
    """A batch of variable-length sequences packed for the recurrent layers.

    ``data`` is ``(sum(lengths), *)``; ``batch_sizes`` (int64, CPU) the number of
    sequences still running at each step; ``sorted_indices`` the permutation that sorted
    the batch by decreasing length (None when it was given sorted) and
    ``unsorted_indices`` its inverse. Build it with ``pack_padded_sequence`` or
    ``pack_sequence``, never by hand.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence "
                             "should never be created manually; use pack_sequence or "
                             "pack_padded_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with ``data`` (and the index tensors' device) converted."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        sort = None if self.sorted_indices is None else self.sorted_indices.to(dev)
        unsort = None if self.unsorted_indices is None else self.unsorted_indices.to(dev)
        return type(self)(data, self.batch_sizes, sort, unsort)

    def cuda(self, *args, **kwargs):
        return self.to(B.as_device("cuda") if not args else args[0], **kwargs)

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=B.float64)

    def float(self):
        return self.to(dtype=B.float32)

    def half(self):
        return self.to(dtype=B.float16)

    def long(self):
        return self.to(dtype=B.int64)

    def int(self):
        return self.to(dtype=B.int32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation):
    """The inverse of a permutation tensor (None stays None)."""
    if permutation is None:
        return None
    p = permutation._data
    xp = B.array_module(p)
    inv = xp.empty_like(p)
    inv[p] = xp.arange(p.size, dtype=p.dtype)
    return Tensor._make(inv)


# ---------------------------------------------------------------------- packing


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``).

    ``lengths`` (list or CPU tensor) gives each sequence's length. With
    ``enforce_sorted`` they must be in decreasing order; otherwise the batch is sorted
    here and the permutation kept in the result so the layers can undo it.
    """
    lens = _host_ints(lengths)
    n = input.shape[0 if batch_first else 1]
    if lens.size != n:
        raise ValueError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                         f"{lens.size} (batch_size={n})")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = Tensor._make(_device_index(order.astype(np.int64), input._data))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    steps = input.shape[1 if batch_first else 0]
    if lens.size and lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a length ({lens[0]}) exceeds the padded "
                           f"sequence length ({steps})")
    rows = _packed_rows(lens, steps, n, batch_first)
    flat = input.reshape((steps * n,) + tuple(input.shape[2:]))
    data = _TakeRows.apply(flat, _device_index(rows, input._data))
    max_len = int(lens[0]) if lens.size else 0
    batch_sizes = (np.arange(max_len)[:, None] < lens[None, :]).sum(1).astype(np.int64)
    return PackedSequence(data, Tensor._make(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: returns ``(padded, lengths)``.

    ``padded`` is ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) filled with
    ``padding_value`` past each sequence's end, in the batch's original order; ``T`` is
    the longest length or ``total_length``. ``lengths`` is an int64 CPU tensor.
    """
    bs = _host_ints(sequence.batch_sizes)
    steps = bs.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    n = int(bs[0]) if bs.size else 0
    lens = (bs[None, :] > np.arange(n)[:, None]).sum(1).astype(np.int64)
    data = sequence.data
    rows = _packed_rows(lens, steps, n, batch_first)
    flat = _PutRows.apply(data, _device_index(rows, data._data), steps * n, padding_value)
    shape = ((n, steps) if batch_first else (steps, n)) + tuple(data.shape[1:])
    padded = flat.reshape(shape)
    lengths = Tensor._make(lens)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        padded = padded.index_select(0 if batch_first else 1, unsorted)
        lengths = Tensor._make(lens[_host_ints(unsorted)])
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)``), padding each.

    ``padding_side`` is ``"right"`` (default) or ``"left"``.
    """
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if padding_side not in ("right", "left"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    from ...ops.join import cat

    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    n, steps = len(sequences), int(lens.max())
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: all sequences must have the same trailing "
                               f"shape; got {trailing} and {tuple(s.shape[1:])}")
    j = np.repeat(np.arange(n), lens)
    t = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    if padding_side == "left":
        t = t + np.repeat(steps - lens, lens)
    rows = j * steps + t if batch_first else t * n + j
    data = cat(sequences, 0) if n > 1 else sequences[0]
    flat = _PutRows.apply(data, _device_index(rows, data._data), steps * n, padding_value)
    return flat.reshape(((n, steps) if batch_first else (steps, n)) + trailing)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of unpadded sequences of a padded batch (inverse of ``pad_sequence``)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(_host_ints(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences ``(L_i, *)`` (decreasing lengths unless
    ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences held by a ``PackedSequence`` (inverse of ``pack_sequence``)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
