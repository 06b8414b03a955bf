"""The compiled-kernel mechanism (``ktrain._fast``): lazy compile, the off switch, the
numpy-only gate and the thread count that follows BLAS's."""
import numpy as np
import pytest

import ktrain
from ktrain import _fast
from ktrain._fast import prange


@_fast.kernel
def _twice(a, i):
    return a[i] * 2.0


@_fast.kernel(parallel=True)
def _double_into(a, out):
    for i in prange(a.size):
        out[i] = _twice(a, i)


def test_kernel_matches_numpy_and_calls_other_kernels():
    a = np.arange(50_000, dtype=np.float32)
    out = np.empty_like(a)
    _double_into(a, out)
    np.testing.assert_array_equal(out, 2 * a)


def test_use_gates_on_size_type_and_switch():
    big = np.zeros(_fast.MIN_SIZE, np.float32)
    assert _fast.use(big) == _fast.available()
    assert not _fast.use(np.zeros(8, np.float32))
    assert not _fast.use(big, [1, 2])              # not a numpy array
    ktrain.backends.cpu.set_fast_kernels(False)
    try:
        assert not _fast.use(big)
        assert not ktrain.backends.cpu.fast_kernels_enabled()
    finally:
        ktrain.backends.cpu.set_fast_kernels(True)
    assert ktrain.backends.cpu.fast_kernels_enabled() == _fast.available()


def test_without_numba_the_python_function_runs(monkeypatch):
    monkeypatch.setattr(_fast._State, "checked", True)
    monkeypatch.setattr(_fast._State, "numba", None)

    @_fast.kernel(parallel=True)
    def add_one(a, out):
        for i in prange(a.size):
            out[i] = a[i] + 1

    a = np.arange(5.0)
    out = np.empty_like(a)
    add_one(a, out)
    np.testing.assert_array_equal(out, a + 1)
    assert not _fast.use(np.zeros(1 << 20))


def test_numba_threads_follow_blas_count():
    numba = pytest.importorskip("numba")
    from ktrain._threads import get_threads_policy

    before = get_threads_policy()
    try:
        ktrain.set_num_threads(1)
        assert _fast.available() and numba.get_num_threads() == 1
        ktrain.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
    finally:
        ktrain.set_num_threads(before if before != "env" else "auto")
