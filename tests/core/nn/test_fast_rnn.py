"""Fast paths of recurrent models: the embedding gradient's row scatter kernel
(ops.sparse._scatter_rows_into) against the numpy ``add.at`` path."""
import numpy as np
import pytest

import ktrain
from ktrain import _fast
from ktrain.backends import cpu
from ktrain.ops import sparse as sp

pytestmark = pytest.mark.skipif(not _fast.available(), reason="numba not installed")


def _grad(fast, dtype, idx, n=50, d=96):
    rng = np.random.default_rng(0)
    w = ktrain.tensor(rng.standard_normal((n, d)).astype(dtype), requires_grad=True)
    g = ktrain.tensor(rng.standard_normal(idx.shape + (d,)).astype(dtype))
    old = _fast.enabled()
    cpu.set_fast_kernels(fast)
    try:
        ktrain.nn.functional.embedding(ktrain.tensor(idx), w).backward(g)
    finally:
        cpu.set_fast_kernels(old)
    return w.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_grad_kernel_matches_add_at(dtype):
    idx = np.random.default_rng(1).integers(0, 50, (16, 12))   # many repeats
    idx[0, :4] = 7
    ref, got = _grad(False, dtype, idx), _grad(True, dtype, idx)
    assert got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    # and against the definition
    g = np.random.default_rng(0)
    g.standard_normal((50, 96))
    gg = g.standard_normal(idx.shape + (96,)).astype(dtype).reshape(-1, 96)
    want = np.zeros((50, 96))
    for k, r in enumerate(idx.reshape(-1)):
        want[r] += gg[k]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_embedding_kernel_taken(monkeypatch):
    calls = []
    real = sp._scatter_rows_into

    def spy(*a):
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(sp, "_scatter_rows_into", spy)
    idx = np.random.default_rng(2).integers(0, 50, (16, 12))
    _grad(True, np.float32, idx)
    assert calls
    calls.clear()
    _grad(False, np.float32, idx)
    assert not calls


def test_embedding_gradcheck_float64():
    w = ktrain.tensor(np.random.default_rng(3).standard_normal((6, 5)), requires_grad=True)
    idx = ktrain.tensor(np.array([[0, 2, 2], [5, 0, 1]]))
    assert ktrain.autograd.gradcheck(lambda w: ktrain.nn.functional.embedding(idx, w), (w,))
