"""``_BufferPool``: the work arrays of the convolutions (``ops.conv``, ``ops.winograd``),
recycled by exact (shape, dtype) instead of being faulted in again every step."""
from __future__ import annotations

import sys

import numpy as np

_getrefcount = sys.getrefcount


class _BufferPool:
    """Recycles large numpy work arrays by exact (shape, dtype).

    Big allocations go back to the OS when freed (glibc maps them), so each training
    step would fault the same pages in again; the im2col buffers of a network are the
    same every step, so keeping them pays. ``give`` only takes an array nobody else
    references (checked with the refcount, so a live view keeps it out of the pool).
    """

    def __init__(self, max_bytes=1 << 30, min_bytes=1 << 18):
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self._free: dict = {}
        self._bytes = 0
        # the count ``give`` sees for an array only its caller holds, measured through the
        # same call path (Python versions differ in how they count argument references)
        self._baseline = self._calibrate()

    def _calibrate(self):
        a = np.empty(1)  # held by this frame only, as a caller of ``give`` holds its array
        return self._probe(a)

    def _probe(self, a):  # the shape of ``give``'s call path
        return self._refs(a)

    @staticmethod
    def _refs(a):
        return _getrefcount(a)

    def take(self, xp, shape, dtype):
        if xp is not np:
            return xp.empty(shape, dtype)
        lst = self._free.get((tuple(shape), np.dtype(dtype)))
        if lst:
            a = lst.pop()
            self._bytes -= a.nbytes
            return a
        return np.empty(shape, dtype)

    def give(self, a):
        """Return ``a`` (the caller drops its one reference right after)."""
        if (type(a) is not np.ndarray or a.base is not None or a.nbytes < self.min_bytes
                or self._bytes + a.nbytes > self.max_bytes or self._refs(a) > self._baseline):
            return
        self._free.setdefault((a.shape, a.dtype), []).append(a)
        self._bytes += a.nbytes

    def clear(self):
        self._free.clear()
        self._bytes = 0
        self._bytes = 0


_POOL = _BufferPool()
