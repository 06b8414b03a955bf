"""Flat buffers behind the fast optimizer step (see :mod:`ktrain.optim.optimizer`).

``_FlatGroup`` holds one param group's parameters and state as flat arrays: parameter
and state tensors are views into them, and one ``run`` updates the whole group with a
few in-place ufuncs per cache-sized chunk.
"""
from __future__ import annotations

import operator

import numpy as np

from .. import _backend as B
from .._tensor import Tensor

_is = operator.is_
_data_of = operator.attrgetter("_data")
_CHUNK_BYTES = 1 << 19  # numpy updates run on 512 KiB chunks: temporaries stay in cache


class _Work:
    """Scratch arrays for ``_apply``: ``tmp(i)`` is a temporary shaped like the arrays
    being updated; ``fresh`` names state buffers allocated this step and not yet filled
    (see ``Optimizer._lazy_keys``)."""

    __slots__ = ("xp", "dtype", "shape", "bufs", "fresh")

    def __init__(self, xp, dtype, shape, fresh=(), cached=False):
        self.xp = xp
        self.dtype = dtype
        self.shape = shape
        self.bufs = [] if cached else None
        self.fresh = fresh

    def tmp(self, i):
        if self.bufs is None:
            return self.xp.empty(self.shape, self.dtype)
        while len(self.bufs) <= i:
            self.bufs.append(self.xp.empty(self.shape, self.dtype))
        return self.bufs[i]


class _ChunkWork(_Work):
    """Chunk-sized temporaries, cut to the length of the current chunk."""

    __slots__ = ("n",)

    def tmp(self, i):
        return _Work.tmp(self, i)[:self.n]


class _FlatGroup:
    """One group's parameters and state as flat buffers (see the module docstring)."""

    def __init__(self, opt, group, active, keys, sdicts):
        a0 = active[0]._data
        xp = B.array_module(a0)
        dt = a0.dtype
        self.group = group
        self.state_obj = opt.state
        self.params = tuple(active)
        self.sdicts = tuple(sdicts)
        self.keys = keys
        self.xp = xp
        shapes = [p._data.shape for p in active]
        sizes = [p._data.size for p in active]
        bounds = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))).tolist()
        total = bounds[-1]
        self.total = total

        def flatten(arrays):
            buf = xp.empty(total, dt)
            if arrays:
                xp.concatenate([a.reshape(-1) for a in arrays], out=buf)
            return buf

        def views(buf):
            return [buf[bounds[i]:bounds[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]

        self.pbuf = flatten([p._data for p in active])
        self.pviews = tuple(views(self.pbuf))
        for p, v in zip(active, self.pviews):
            p._data = v
        self.bounds = bounds
        self.shapes = [tuple(s) for s in shapes]
        self.sbufs = {}
        self.stensors = {}
        self.sviews = {}
        self.fresh = set()
        lazy = opt._lazy_keys
        for k in keys:
            if k in sdicts[0]:
                tensors = tuple(d[k] for d in sdicts)
                buf = flatten([t._data for t in tensors])
                vs = tuple(views(buf))
                for t, v in zip(tensors, vs):
                    t._data = v
                self.stensors[k] = tensors
                self.sviews[k] = vs
            else:  # created by this step: filled by _apply (lazy keys) or zero-filled
                buf = xp.empty(total, dt) if k in lazy else xp.zeros(total, dt)
                if k in lazy:
                    self.fresh.add(k)
                else:
                    self._publish(k, buf)
            self.sbufs[k] = buf
        self.scalars = {}
        for k in opt._scalar_keys:
            tensors = tuple(d[k] for d in sdicts)
            arr = np.array([t._data for t in tensors], dtype=tensors[0]._data.dtype)
            vs = tuple(arr[i:i + 1].reshape(()) for i in range(len(tensors)))
            for t, v in zip(tensors, vs):
                t._data = v
            self.scalars[k] = arr
            self.stensors[k] = tensors
            self.sviews[k] = vs
        if xp is np and total > _CHUNK_BYTES // dt.itemsize:
            self.chunk = max(4096, _CHUNK_BYTES // dt.itemsize)
            self.plan = self._plan(sizes, self.chunk)
            self.gbuf = xp.empty(self.chunk, dt)  # gradients are gathered chunk by chunk
            self.work = _ChunkWork(xp, dt, (self.chunk,), cached=True)
        else:  # cupy (one kernel per operation) or a group smaller than one chunk
            self.chunk = None
            self.gbuf = xp.empty(total, dt)
            self.work = _Work(xp, dt, (total,), cached=True)

    @staticmethod
    def _plan(sizes, cs):
        """Chunks ``[k*cs, (k+1)*cs)`` of the flat buffers, each with the pieces
        ``(param, lo, hi)`` of the flattened gradients that fill it."""
        plan, cur, n, a = [], [], 0, 0
        for i, size in enumerate(sizes):
            lo = 0
            while lo < size:
                take = min(size - lo, cs - n)
                cur.append((i, lo, lo + take))
                n += take
                lo += take
                if n == cs:
                    plan.append((a, a + n, tuple(cur)))
                    a, cur, n = a + n, [], 0
        if cur:
            plan.append((a, a + n, tuple(cur)))
        return plan

    def _publish(self, k, buf):
        """Create the per-parameter state tensors of buffer ``buf`` as views."""
        vs = tuple(buf[self.bounds[i]:self.bounds[i + 1]].reshape(s)
                   for i, s in enumerate(self.shapes))
        tensors = tuple(Tensor._make(v) for v in vs)
        for d, t in zip(self.sdicts, tensors):
            d[k] = t
        self.stensors[k] = tensors
        self.sviews[k] = vs

    def valid(self, opt, group, active, keys) -> bool:
        """Whether this layout still describes ``active`` (same parameters, storages and
        state tensors); a few C-level passes over the parameter list."""
        if (self.group is not group or self.state_obj is not opt.state or keys != self.keys
                or len(active) != len(self.params) or not all(map(_is, active, self.params))
                or not all(map(_is, [p._data for p in active], self.pviews))):
            return False
        get = opt.state.get
        sdicts = self.sdicts
        if not all(map(_is, [get(p) for p in active], sdicts)):
            return False
        for k, tensors in self.stensors.items():
            if not (all(map(_is, [d.get(k) for d in sdicts], tensors))
                    and all(map(_is, [t._data for t in tensors], self.sviews[k]))):
                return False
        return True

    def run(self, opt, group):
        xp = self.xp
        grads = [p.grad._data for p in self.params]
        if [g.shape for g in grads] != self.shapes:
            _check_grad_shapes(self.params)
        sc = opt._prepare(group, self.scalars)
        P, S, W = self.pbuf, self.sbufs, self.work
        W.fresh = self.fresh
        if self.chunk is None:
            G = self.gbuf
            if xp is np:
                np.concatenate(grads, axis=None, out=G)
            elif grads:
                xp.concatenate([g.reshape(-1) for g in grads], out=G)
            opt._apply(group, P, G, S, sc, W)
        else:  # gradients are copied chunk by chunk: the copy stays in cache
            grads = [g.reshape(-1) for g in grads]
            gbuf = self.gbuf
            for a, b, pieces in self.plan:
                n = W.n = b - a
                G = gbuf[:n]
                if len(pieces) == 1:
                    i, lo, hi = pieces[0]
                    xp.copyto(G, grads[i][lo:hi])
                else:
                    xp.concatenate([grads[i][lo:hi] for i, lo, hi in pieces], out=G)
                opt._apply(group, P[a:b], G, {k: v[a:b] for k, v in S.items()}, sc, W)
        for k in self.fresh:
            self._publish(k, S[k])
        self.fresh = set()
        for p in self.params:
            p._version[0] += 1


def _check_grad_shapes(params):
    for i, p in enumerate(params):
        if p.grad._data.shape != p._data.shape:
            raise RuntimeError(f"optimizer step: parameter {i} of its group has shape "
                               f"{tuple(p._data.shape)} but its .grad has shape "
                               f"{tuple(p.grad._data.shape)}")
