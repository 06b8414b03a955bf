"""Lookup tables: ``F.embedding``, ``F.embedding_bag`` and ``F.one_hot``.

``embedding`` checks its arguments and applies one gather op of ``ops.sparse`` whose
backward scatter-adds the output gradient into the rows of the table (``padding_idx``
rows get none; ``scale_grad_by_freq`` divides by how often each index occurs in the
batch). Gradients are dense (``sparse=True`` is refused). ``embedding_bag`` is
``embedding`` followed by one ``index_add`` (or ``scatter_reduce``) per call.
"""
from __future__ import annotations

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...ops.sparse import _coef, _Gather, _GatherScaledGrad, _renorm, _ScatterRows  # noqa: F401

__all__ = ["embedding", "embedding_bag", "one_hot"]

_int64 = np.dtype(np.int64)


def _index_array(input, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): input must be an integer Tensor of indices, got "
                        f"{type(input).__name__}")
    d = input._data
    if d.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected tensor for argument 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype.name} "
                           "instead")
    return d.astype(_int64, copy=False)


def _check_range(idx, n, op):
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}(): index {bad} is out of range for a table of {n} rows "
                             "(index out of range in self)")


def _padding(padding_idx, n, op):
    if padding_idx is None:
        return None
    p = int(padding_idx)
    if not -n <= p < n:
        raise AssertionError(f"{op}(): Padding_idx must be within num_embeddings (got "
                             f"padding_idx={p} for {n} embeddings)")
    return p + n if p < 0 else p


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ``input``: ``weight[input]``.

    Shapes: input ``(*)`` (int64/int32), weight ``(num_embeddings, embedding_dim)``; the
    result is ``(*, embedding_dim)``. The ``padding_idx`` row receives no gradient;
    ``max_norm`` rescales (in place) the used rows whose ``norm_type``-norm exceeds it.
    """
    if sparse:
        raise NotImplementedError("embedding(): sparse=True (sparse gradients) is not supported "
                                  "by ktrain; use sparse=False")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), "
                           f"got shape {list(weight.shape)}")
    idx = _index_array(input, "embedding")
    n = weight.shape[0]
    _check_range(idx, n, "embedding")
    pad = _padding(padding_idx, n, "embedding")
    if max_norm is not None:
        _renorm(weight, idx, float(max_norm), float(norm_type))
    # the index array is the input's own (an op parameter, so a jit trace sees it)
    if pad is None and not scale_grad_by_freq:
        return _Gather.apply(weight, input._data, None)
    # the forward value is the plain row; padding and frequency only shape the gradient
    return _GatherScaledGrad.apply(weight, input._data, pad, bool(scale_grad_by_freq))


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding: ``out[..., c] = (tensor[...] == c)``; ``num_classes=-1``
    takes ``tensor.max() + 1``."""
    d = tensor._data
    if d.dtype != _int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor "
                           f"(int64), got {tensor.dtype.name}")
    xp = array_module(d)
    if num_classes == -1:
        if d.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(d.max()) + 1
    if d.size:
        if int(d.min()) < 0:
            raise RuntimeError("one_hot: Class values must be non-negative.")
        if int(d.max()) >= num_classes:
            raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                               f"({num_classes}), got {int(d.max())}.")
    out = (d[..., None] == xp.arange(num_classes)).astype(_int64)
    return Tensor._make(out)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxima of bags of embeddings, without materialising the bags.

    ``input`` 2-D ``(B, L)``: each row is a bag (``offsets`` must be None). ``input`` 1-D
    ``(N,)``: bags start at ``offsets`` ``(B,)`` (or ``(B + 1,)`` with
    ``include_last_offset``). ``per_sample_weights`` (same shape as input) scales each
    embedding (mode 'sum' only). Entries equal to ``padding_idx`` are left out of their
    bag; empty bags give zeros. The result is ``(B, embedding_dim)``.
    """
    from ...ops.index_dim import index_add
    from ...ops.scatter_gather import scatter_reduce

    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag(): mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    if sparse:
        raise NotImplementedError("embedding_bag(): sparse=True is not supported by ktrain")
    idx = _index_array(input, "embedding_bag")
    xp = array_module(idx)
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != idx.shape:
        raise ValueError(f"embedding_bag: per_sample_weights of shape "
                         f"{list(per_sample_weights.shape)} must have the shape of input "
                         f"{list(idx.shape)}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2D, then offsets has to be None, as "
                             "input is treated is a mini-batch of fixed length sequences. "
                             f"However, found offsets of type {type(offsets).__name__}")
        nbags, length = idx.shape
        bag = xp.repeat(xp.arange(nbags), length)
        idx = idx.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        off = offsets._data.astype(_int64, copy=False) if isinstance(offsets, Tensor) \
            else xp.asarray(offsets, _int64)
        if off.ndim != 1:
            raise ValueError(f"embedding_bag: offsets has to be a 1D Tensor, got shape "
                             f"{list(off.shape)}")
        if off.size and int(off[0]) != 0:
            raise RuntimeError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence "
                               f"in the mini-batch has to start from position 0. However, got "
                               f"{int(off[0])}")
        if off.size and int(off[-1]) > idx.size:
            raise RuntimeError(f"embedding_bag: offsets[-1] can not be greater than input's "
                               f"length ({idx.size}), but got offsets[-1] of {int(off[-1])}")
        if include_last_offset:
            if off.size < 1:
                raise RuntimeError("embedding_bag: include_last_offset needs at least one offset")
            off = off[:-1]
        nbags = off.size
        bag = xp.searchsorted(off, xp.arange(idx.size), side="right") - 1
        if include_last_offset:  # elements past the last offset belong to no bag
            keep = bag < nbags
            idx, bag = idx[keep], bag[keep]
    else:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {idx.ndim}")
    psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    n = weight.shape[0]
    pad = _padding(padding_idx, n, "embedding_bag")
    if pad is not None:
        keep = idx != pad
        if not bool(keep.all()):
            idx, bag = idx[keep], bag[keep]
            if psw is not None:
                psw = psw[Tensor._make(keep)]
    rows = embedding(Tensor._make(idx), weight, None, max_norm, norm_type, scale_grad_by_freq)
    if psw is not None:
        rows = rows * psw.unsqueeze(1)
    d = weight.shape[1]
    bag_t = Tensor._make(bag.astype(_int64, copy=False))
    zeros = Tensor._make(xp.zeros((nbags, d), weight._data.dtype))
    if mode == "max":
        index = Tensor._make(xp.broadcast_to(bag[:, None], (bag.size, d)).astype(_int64))
        return scatter_reduce(zeros, 0, index, rows, "amax", include_self=False)
    out = index_add(zeros, 0, bag_t, rows)
    if mode == "mean":
        counts = xp.bincount(bag, minlength=nbags)[:nbags].astype(weight._data.dtype)
        out = out / Tensor._make(xp.maximum(counts, 1)[:, None])
    return out
