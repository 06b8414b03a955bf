"""Sorting, selection and counting: sort/argsort/msort, topk, kthvalue, mode,
unique/unique_consecutive, bincount, searchsorted/bucketize.

The sorting ops compute their indices without a graph (a stable argsort, with PyTorch's
NaN order when descending) and get their values by gathering along ``dim`` (the ``Sort``,
``Topk``, ... ops are ``Gather`` under PyTorch's node names), so their gradients route
through the gather/scatter_add pair of ``scatter_gather.py``. Index results are int64 and
never require grad; values and indices come back as the named tuples PyTorch calls
``torch.return_types.*``.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _backend as B
from .._backend import array_module
from .._tensor import Tensor, register_method
from ._index_util import _check_index, _check_range, _check_tensor, _dim
from .arith import _result
from .scatter_gather import Gather

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "mode", "unique", "unique_consecutive",
           "bincount", "searchsorted", "bucketize"]


# the named tuples PyTorch calls torch.return_types.*
_SortResult = namedtuple("sort", ["values", "indices"])
_TopkResult = namedtuple("topk", ["values", "indices"])
_KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
_ModeResult = namedtuple("mode", ["values", "indices"])


# ---------------------------------------------------------------------- sort helpers


def _stable_argsort(xp, a, axis):
    if xp is np:
        return np.argsort(a, axis=axis, kind="stable")
    return xp.argsort(a, axis=axis)  # cupy's sort is stable  # pragma: no cover


def _argsort(xp, a, axis, descending=False):
    """Stable argsort; descending keeps equal elements in their original order and puts
    NaN first (PyTorch's order), by sorting the reversed array."""
    if not descending:
        r = _stable_argsort(xp, a, axis)
    else:
        n = a.shape[axis]
        r = (n - 1) - xp.flip(_stable_argsort(xp, xp.flip(a, axis=axis), axis), axis=axis)
    return xp.ascontiguousarray(r.astype(np.int64, copy=False))


# ---------------------------------------------------------------------- sort op nodes


class Sort(Gather):
    """Values of ``sort``: a gather by the sorting permutation."""


class Topk(Gather):
    """Values of ``topk``."""


class Kthvalue(Gather):
    """Values of ``kthvalue`` (keepdim layout)."""


class Mode(Gather):
    """Values of ``mode`` (keepdim layout)."""


# ---------------------------------------------------------------------- sorting API


def _sort_prepare(op, input, dim):
    _check_tensor(op, "input", input)
    nd = input._data.ndim
    ax = _dim(op, dim, nd)
    if nd == 0:
        return input.reshape(1), 0, True
    return input, ax, False


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """Sort along ``dim``; returns ``(values, indices)``. The sort is always stable, so
    equal elements keep their order (also when descending); NaN sorts as the largest."""
    x, ax, lifted = _sort_prepare("sort", input, dim)
    idx = Tensor._make(_argsort(array_module(x._data), x._data, ax, bool(descending)))
    vals = Sort.apply(x, idx, ax)
    if lifted:
        vals, idx = vals.reshape(()), idx.reshape(())
    return _pair(_SortResult, vals, idx, out)


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (stable)."""
    x, ax, lifted = _sort_prepare("argsort", input, dim)
    r = Tensor._make(_argsort(array_module(x._data), x._data, ax, bool(descending)))
    return r.reshape(()) if lifted else r


def msort(input, *, out=None):
    """``input`` sorted along its first dimension (values only)."""
    return _result(sort(input, 0).values, out)


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` and their int64 indices,
    ordered best first. ``sorted=False`` is accepted; the result is sorted anyway."""
    x, ax, lifted = _sort_prepare("topk", input, dim)
    n = x._data.shape[ax]
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k={k} out of range for dimension {ax} of "
                           f"size {n} (input shape {list(input.shape)})")
    d = x._data
    idx = Tensor._make(_topk_indices(array_module(d), d, ax, k, bool(largest)))
    vals = Topk.apply(x, idx, ax)
    if lifted and k == 1:
        vals, idx = vals.reshape(()), idx.reshape(())
    return _pair(_TopkResult, vals, idx, out)


def _topk_indices(xp, d, ax, k, largest):
    """Indices of the k best along ``ax``, best first (NaN counts as the largest)."""
    n = d.shape[ax]
    sl = [slice(None)] * d.ndim
    if k == 0 or 4 * k > n or d.dtype.kind == "b":
        sl[ax] = slice(0, k)
        return xp.ascontiguousarray(_argsort(xp, d, ax, largest)[tuple(sl)])
    # select candidates in O(n), then order only those (ties in original index order)
    part = xp.argpartition(d, n - k if largest else k - 1, axis=ax)
    sl[ax] = slice(n - k, n) if largest else slice(0, k)
    cand = xp.sort(part[tuple(sl)], axis=ax)
    order = _argsort(xp, xp.take_along_axis(d, cand, axis=ax), ax, largest)
    return xp.ascontiguousarray(xp.take_along_axis(cand, order, axis=ax).astype(np.int64))


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index."""
    x, ax, lifted = _sort_prepare("kthvalue", input, dim)
    d = x._data
    n = d.shape[ax]
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {ax} "
                           f"of size {n} (input shape {list(input.shape)})")
    xp = array_module(d)
    sl = [slice(None)] * d.ndim
    sl[ax] = slice(k - 1, k)
    if d.dtype.kind == "b":
        order = _argsort(xp, d, ax)
    else:  # a selection is enough (which of tied elements is reported is unspecified)
        order = xp.argpartition(d, k - 1, axis=ax)
    idx = Tensor._make(xp.ascontiguousarray(order[tuple(sl)]).astype(np.int64, copy=False))
    vals = Kthvalue.apply(x, idx, ax)
    return _pair(_KthvalueResult, *_unkeep(vals, idx, ax, keepdim, lifted), out)


def _unkeep(vals, idx, ax, keepdim, lifted):
    if lifted:
        return vals.reshape(()), idx.reshape(())
    if keepdim:
        return vals, idx
    return vals.squeeze(ax), idx.squeeze(ax)


def mode(input, dim=-1, keepdim=False, *, out=None):
    """The most frequent value along ``dim`` (the smallest one on ties) and the index of
    its last occurrence."""
    x, ax, lifted = _sort_prepare("mode", input, dim)
    d = x._data
    n = d.shape[ax]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {ax} to have non-zero size (input "
                         f"shape {list(input.shape)})")
    xp = array_module(d)
    moved = xp.moveaxis(d, ax, -1)
    lead = moved.shape[:-1]
    a2 = moved.reshape(-1, n)
    order = _argsort(xp, a2, 1)
    s = xp.take_along_axis(a2, order, axis=1)
    rows_n = s.shape[0]
    starts = xp.concatenate([xp.ones((rows_n, 1), bool), s[:, 1:] != s[:, :-1]], axis=1)
    run = xp.cumsum(starts.reshape(-1)) - 1  # global run ids (each row starts a run)
    length = xp.bincount(run)[run].reshape(rows_n, n)
    best = xp.argmax(length, axis=1)  # first maximum: the start of the smallest mode's run
    rows = xp.arange(rows_n)
    last = best + length[rows, best] - 1  # the run's end: the last occurrence (stable sort)
    mi = order[rows, last].reshape(lead + (1,))
    idx = Tensor._make(xp.ascontiguousarray(xp.moveaxis(mi, -1, ax)).astype(np.int64))
    vals = Mode.apply(x, idx, ax)
    return _pair(_ModeResult, *_unkeep(vals, idx, ax, keepdim, lifted), out)


def _pair(cls, vals, idx, out):
    if out is not None:
        _result(vals, out[0])
        _result(idx, out[1])
        return cls(out[0], out[1])
    return cls(vals, idx)


# ---------------------------------------------------------------------- unique


def _unique_rows(xp, a, dim, consecutive):
    """unique slices of ``a`` along ``dim``: (unique, inverse, counts) arrays."""
    moved = xp.moveaxis(a, dim, 0)
    n = moved.shape[0]
    rest = moved.shape[1:]
    flat = moved.reshape(n, -1)
    order = None
    if consecutive:
        s = flat
    else:
        if flat.shape[1] == 0:
            order = xp.arange(n)
        else:
            order = xp.lexsort(flat.T[::-1])  # column 0 is the primary key
        s = flat[order]
    change = (s[1:] != s[:-1]).any(axis=1) if n else xp.zeros((0,), bool)
    starts = xp.concatenate([xp.ones((min(n, 1),), bool), change])
    uniq = s[starts]
    ids = xp.cumsum(starts) - 1
    if order is None:
        inverse = ids
    else:
        inverse = xp.empty((n,), np.int64)
        inverse[order] = ids
    first = xp.nonzero(starts)[0]
    counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    out = xp.moveaxis(uniq.reshape((uniq.shape[0],) + rest), 0, dim)
    return xp.ascontiguousarray(out), inverse, counts


def _unique_flat(xp, d, consecutive):
    flat = d.reshape(-1)
    if not consecutive:
        u, inv, cnt = xp.unique(flat, return_inverse=True, return_counts=True)
        return u, inv.reshape(d.shape), cnt
    n = flat.shape[0]
    starts = xp.concatenate([xp.ones((min(n, 1),), bool), flat[1:] != flat[:-1]])
    first = xp.nonzero(starts)[0]
    counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    return flat[starts], (xp.cumsum(starts) - 1).reshape(d.shape), counts


def _unique(op, input, return_inverse, return_counts, dim, consecutive):
    _check_tensor(op, "input", input)
    d = input._data
    xp = array_module(d)
    if dim is None:
        u, inv, cnt = _unique_flat(xp, d, consecutive)
    else:
        if d.ndim == 0:
            raise IndexError(f"{op}(): dim={dim} given for a 0-d tensor")
        u, inv, cnt = _unique_rows(xp, d, _dim(op, dim, d.ndim), consecutive)
    res = [Tensor._make(u)]
    if return_inverse:
        res.append(Tensor._make(inv.astype(np.int64, copy=False)))
    if return_counts:
        res.append(Tensor._make(cnt.astype(np.int64, copy=False)))
    return res[0] if len(res) == 1 else tuple(res)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (or slices along ``dim``), in ascending order; optionally the
    int64 inverse indices (input's shape, or a vector along ``dim``) and counts."""
    return _unique("unique", input, return_inverse, return_counts, dim, False)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    return _unique("unique_consecutive", input, return_inverse, return_counts, dim, True)


# ---------------------------------------------------------------------- counting / search


def bincount(input, weights=None, minlength=0):
    """Occurrences of each value of a 1-D non-negative integer tensor (int64), or the sum
    of ``weights`` per value (float32 weights give float32, others float64)."""
    _check_tensor("bincount", "input", input)
    d = input._data
    if d.ndim != 1 or d.dtype.kind not in "iu":
        raise RuntimeError(f"bincount(): only supports 1-d non-negative integral inputs, got "
                           f"a {input.dtype.name} tensor of shape {list(d.shape)}")
    if d.size and int(d.min()) < 0:
        raise RuntimeError(f"bincount(): only supports non-negative inputs, got value "
                           f"{int(d.min())}")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength}")
    xp = array_module(d)
    if weights is None:
        return Tensor._make(xp.bincount(d, minlength=minlength).astype(np.int64, copy=False))
    _check_tensor("bincount", "weights", weights)
    w = weights._data
    if w.shape != d.shape:
        raise RuntimeError(f"bincount(): weights should be 1-d and have the same length as "
                           f"input, got weights {list(w.shape)} and input {list(d.shape)}")
    npd = np.float32 if w.dtype == np.float32 else np.float64
    r = xp.bincount(d, weights=w.astype(np.float64), minlength=minlength)
    return Tensor._make(r.astype(npd, copy=False))


def _batched_searchsorted(xp, seq, v, right):
    """searchsorted per row, without loops: one stable sort of sequence and values
    together, ties placing values before (left) or after (right) sequence elements."""
    n, k = seq.shape[-1], v.shape[-1]
    S = seq.reshape(-1, n)
    V = v.reshape(-1, k)
    R = S.shape[0]
    dt = xp.result_type(S.dtype, V.dtype)
    vals = xp.concatenate([S.astype(dt), V.astype(dt)], axis=1)
    is_v = xp.concatenate([xp.zeros((n,), bool), xp.ones((k,), bool)])
    tie = xp.broadcast_to(is_v if right else ~is_v, (R, n + k)).astype(np.int8)
    o1 = _stable_argsort(xp, tie, 1)
    o2 = _stable_argsort(xp, xp.take_along_axis(vals, o1, axis=1), 1)
    order = xp.take_along_axis(o1, o2, axis=1)
    seq_before = xp.cumsum(~is_v[order], axis=1)
    full = xp.empty((R, n + k), np.int64)
    full[xp.arange(R)[:, None], order] = seq_before
    return full[:, n:].reshape(v.shape)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """Indices where ``input`` would be inserted into the innermost dim of
    ``sorted_sequence`` to keep it sorted (``right``/``side='right'``: after equal
    elements). A 1-D sequence serves every value; an N-D one must match input's leading
    dims. ``sorter`` gives the order of an unsorted sequence."""
    op = "searchsorted"
    _check_tensor(op, "sorted_sequence", sorted_sequence)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"{op}(): side can only be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError(f"{op}(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    xp = array_module(seq)
    if seq.ndim == 0:
        raise RuntimeError(f"{op}(): boundaries tensor should have at least 1 dimension, got a "
                           "0-d tensor")
    if sorter is not None:
        _check_index(op, sorter, sorted_sequence, name="sorter")
        if sorter._data.shape != seq.shape:
            raise RuntimeError(f"{op}(): boundary and sorter must have the same size, got "
                               f"boundaries {list(seq.shape)} and sorter "
                               f"{list(sorter.shape)}")
        _check_range(op, sorter._data, seq.shape[-1], seq.ndim - 1)
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    if isinstance(input, Tensor):
        if type(input._data) is not type(seq):
            B.check_same_device(op, (seq, input._data))
        v = input._data
    else:
        if seq.ndim != 1:
            raise RuntimeError(f"{op}(): a scalar input needs a 1-D boundaries tensor, got "
                               f"boundaries of shape {list(seq.shape)}")
        v = xp.asarray(input)
    side_s = "right" if right else "left"
    if seq.ndim == 1:
        res = xp.searchsorted(seq, v, side=side_s)
    else:
        if v.ndim != seq.ndim or v.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"{op}(): boundaries tensor should be 1 dimension or the first "
                               f"N-1 dimensions of boundaries tensor and input value tensor "
                               f"must match, but we got boundaries tensor {list(seq.shape)} and "
                               f"input value tensor {list(v.shape)}")
        res = _batched_searchsorted(xp, seq, v, right)
    res = xp.asarray(res).astype(np.int32 if out_int32 else np.int64, copy=False)
    return _result(Tensor._make(res), out)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each element of ``input`` for the sorted 1-D ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``<= x <``)."""
    _check_tensor("bucketize", "boundaries", boundaries)
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries._data.ndim}) (shape {list(boundaries.shape)})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


def _searchsorted_method(self, input, *, out_int32=False, right=False, side=None,
                         sorter=None):
    return searchsorted(self, input, out_int32=out_int32, right=right, side=side,
                        sorter=sorter)


# ---------------------------------------------------------------------- Tensor methods


for _n, _f in [("sort", sort), ("argsort", argsort), ("msort", msort), ("topk", topk),
               ("kthvalue", kthvalue), ("mode", mode), ("unique", unique),
               ("unique_consecutive", unique_consecutive), ("bincount", bincount),
               ("bucketize", bucketize), ("searchsorted", _searchsorted_method)]:
    register_method(_n)(_f)
del _n, _f
