"""Compiled CPU kernels through Numba: the ``fast`` extra (``pip install "ktrain[fast]"``).

numpy runs every elementwise pass, copy and reduction on one thread and makes one pass over
memory per call; a Numba ``parallel=True`` kernel fuses a chain of passes into one and spreads
it over the cores (a BatchNorm+ReLU forward of 64x16x32x32 float32: 3.1 ms in numpy, 0.55 ms
as one kernel on 2 cores, measured 2026-12-07). Numba and llvmlite are ~210 MB installed, so
they are an extra; **every kernel has a numpy path that stays the reference**, and the tests
run both and compare them.

How an op uses it::

    from .. import _fast
    from .._fast import prange

    @_fast.kernel(parallel=True)
    def _relu_into(x, out):
        for i in prange(x.size):        # numba.prange once compiled
            ...

    if _fast.use(x):           # numba importable, enabled, numpy array, big enough
        _relu_into(x.reshape(-1), out.reshape(-1))
    else:
        np.maximum(x, 0, out=out)   # the reference path

- ``kernel`` compiles lazily on the first call (``cache=True``: later processes load the
  machine code from ``__pycache__``) and never at import, so ``import ktrain`` does not pay
  for kernels a run does not use. Without Numba it returns the Python function unchanged (it
  is then never called: ``use`` is False).
- ``use(*arrays, min_size=...)`` is the one test a call site makes; small arrays stay on
  numpy, where a kernel launch costs more than it saves.
- Threads: Numba's OpenMP pool gets the same count as BLAS (``_threads`` calls
  ``set_threads`` whenever it changes the count), so kernels and GEMMs never ask for more
  threads than the policy gives (the thread policy of the hardening issue).
- Off switch: ``KTRAIN_FAST_KERNELS=0`` in the environment, or
  ``ktrain.backends.cpu.set_fast_kernels(False)`` at run time (tests use it to run the
  numpy path).

Layer: bottom (beside ``_backend`` and ``_threads``); imports numba lazily.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["available", "enabled", "kernel", "prange", "set_enabled", "set_threads", "use"]

MIN_SIZE = 1 << 14          # elements: below this a kernel launch costs more than numpy's pass


class _State:
    checked = False
    numba = None             # the module once imported
    enabled = os.environ.get("KTRAIN_FAST_KERNELS", "1").strip().lower() not in (
        "0", "false", "no", "off")
    threads = None           # the count last asked for (applied when numba loads)


def _numba():
    if not _State.checked:
        _State.checked = True
        # OpenMP threads that spin after a kernel take the cores from OpenBLAS's threads
        # that run the next GEMM: with OMP_WAIT_POLICY=ACTIVE a kernel+GEMM loop ran 13x
        # slower on 2 cores (67 vs 5 ms); passive waiting cost nothing measurable there.
        # A value the user set is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import numba

            _State.numba = numba
            if _State.threads is not None:
                _apply_threads(_State.threads)
        except Exception:  # noqa: BLE001 - not installed / broken install: numpy paths
            _State.numba = None
    return _State.numba


def available() -> bool:
    """Whether Numba can be imported (the ``fast`` extra is installed)."""
    return _numba() is not None


def enabled() -> bool:
    """Whether ops use the compiled kernels now: installed and not switched off."""
    return _State.enabled and available()


def set_enabled(flag: bool) -> None:
    """Switch the compiled kernels on or off for this process (numpy paths when off)."""
    _State.enabled = bool(flag)


def use(*arrays, min_size: int = MIN_SIZE) -> bool:
    """True when a call site should take its kernel: enabled, every array a numpy array
    (never cupy), and the first one holds at least ``min_size`` elements."""
    if not _State.enabled:
        return False
    for a in arrays:
        if type(a) is not np.ndarray:
            return False
    if arrays and arrays[0].size < min_size:
        return False
    return _numba() is not None


def prange(*args):
    """``numba.prange`` inside kernels; ``range`` when a kernel runs as Python."""
    return range(*args)


def _apply_threads(n: int) -> None:
    nb = _State.numba
    try:
        nb.set_num_threads(max(1, min(int(n), nb.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001 - a launch in flight elsewhere: keep the old count
        pass


def set_threads(n: int) -> None:
    """Give Numba's pool ``n`` threads (called by ``_threads`` with BLAS's count)."""
    _State.threads = int(n)
    if _State.numba is not None:
        _apply_threads(n)


class _Lazy:
    """A kernel that compiles on its first call (Numba is imported then, not at import)."""

    def __init__(self, fn, options):
        self.py = fn
        self.options = options
        self.compiled = None
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def dispatcher(self):
        """The compiled function (compiling it now if needed)."""
        if self.compiled is None:
            self._compile()
        return self.compiled

    def __call__(self, *args):
        c = self.compiled
        if c is None:
            c = self._compile()
        return c(*args)

    def _compile(self):
        c = self.compiled
        if c is None:
            nb = _numba()
            if nb is None:
                c = self.py
            else:
                # the kernel's globals see numba's prange in place of this module's range,
                # and other kernels as their compiled dispatchers
                g = dict(self.py.__globals__)
                for k in self.py.__code__.co_names:
                    v = g.get(k)
                    if v is prange:
                        g[k] = nb.prange
                    elif isinstance(v, _Lazy) and v is not self:
                        g[k] = v.dispatcher()
                fn = type(self.py)(self.py.__code__, g, self.py.__name__,
                                   self.py.__defaults__, self.py.__closure__)
                fn.__module__ = self.py.__module__
                fn.__qualname__ = self.py.__qualname__
                c = nb.njit(**self.options)(fn)
            self.compiled = c
        return c


def kernel(fn=None, *, parallel: bool = False, fastmath: bool = False, cache: bool = True,
           **options):
    """Decorate a kernel written in Numba's subset of Python (``nopython`` mode). Compiled
    with ``nogil=True`` (threads of a DataLoader or a thread pool can run beside it),
    ``error_model='numpy'`` (no Python exception checks on division), and ``fastmath`` off
    by default: results must match the numpy path to float rounding."""
    opts = dict(nogil=True, cache=cache, parallel=parallel, fastmath=fastmath,
                error_model="numpy", **options)

    def wrap(f):
        return _Lazy(f, opts)

    return wrap if fn is None else wrap(fn)
