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


# ---------------------------------------------------------------------- LSTM backward step


def _lstm_grads(fast, dtype, packed=False, bidir=False, layers=1):
    ktrain.manual_seed(0)
    m = ktrain.nn.LSTM(6, 8, num_layers=layers, bidirectional=bidir).to(
        ktrain.float64 if dtype == np.float64 else ktrain.float32)
    x = ktrain.tensor(np.random.default_rng(4).standard_normal((7, 3, 6)).astype(dtype),
                      requires_grad=True)
    old = _fast.enabled()
    cpu.set_fast_kernels(fast)
    try:
        inp = x
        if packed:
            inp = ktrain.nn.utils.rnn.pack_padded_sequence(x, [7, 5, 2])
        out, (h, c) = m(inp)
        if packed:
            out = ktrain.nn.utils.rnn.pad_packed_sequence(out)[0]
        ((out * out).sum() + h.sum() + (c * c).sum()).backward()
    finally:
        cpu.set_fast_kernels(old)
    return [x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("packed,bidir,layers", [(False, False, 1), (True, True, 2)])
def test_lstm_backward_kernel_matches_numpy(dtype, packed, bidir, layers):
    ref = _lstm_grads(False, dtype, packed, bidir, layers)
    got = _lstm_grads(True, dtype, packed, bidir, layers)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(ref, got):
        assert b.dtype == dtype
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


def test_lstm_backward_kernel_taken(monkeypatch):
    from ktrain.ops import rnn
    calls = []
    real = rnn._lstm_bwd_step

    def spy(*a):
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(rnn, "_lstm_bwd_step", spy)
    _lstm_grads(True, np.float32)
    assert len(calls) == 7
    calls.clear()
    _lstm_grads(False, np.float32)
    assert not calls


def test_lstm_gradcheck_float64_kernel_path():
    m = ktrain.nn.LSTMCell(3, 4).double()
    x = ktrain.tensor(np.random.default_rng(5).standard_normal((2, 3)), requires_grad=True)
    h = ktrain.tensor(np.random.default_rng(6).standard_normal((2, 4)), requires_grad=True)
    c = ktrain.tensor(np.random.default_rng(7).standard_normal((2, 4)), requires_grad=True)
    assert ktrain.autograd.gradcheck(lambda x, h, c: m(x, (h, c)), (x, h, c))
