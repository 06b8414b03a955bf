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


# ---------------------------------------------------------------------- recurrence kernels
# ops._rnn_kernels: the per-step gate arithmetic of the LSTM and GRU against the numpy
# path of ops.rnn (the reference), on padded and packed batches, both directions, with an
# LSTM projection, float32 and float64.

def _run_rnn(fast, kind, dtype, packed=False, **kw):
    from ktrain.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    ktrain.manual_seed(0)
    mod = getattr(ktrain.nn, kind)(12, 16, batch_first=True, **kw).to(
        dtype=ktrain.float64 if dtype == np.float64 else ktrain.float32)
    rng = np.random.default_rng(4)
    x = ktrain.tensor(rng.standard_normal((5, 7, 12)).astype(dtype), requires_grad=True)
    old = _fast.enabled()
    cpu.set_fast_kernels(fast)
    try:
        if packed:
            lengths = [7, 6, 6, 3, 1]
            out, state = mod(pack_padded_sequence(x, lengths, batch_first=True))
            out = pad_packed_sequence(out, batch_first=True)[0]
        else:
            out, state = mod(x)
        hn = state[0] if kind == "LSTM" else state
        w = ktrain.tensor(rng.standard_normal(out.shape).astype(dtype))
        loss = (out * w).sum() + (hn * hn).sum()
        if kind == "LSTM":
            loss = loss + (state[1] ** 2).sum()
        loss.backward()
    finally:
        cpu.set_fast_kernels(old)
    grads = [x.grad.numpy()] + [p.grad.numpy() for p in mod.parameters()]
    return [out.detach().numpy(), hn.detach().numpy()], grads


_RNN_CASES = [("LSTM", {}), ("LSTM", {"bidirectional": True}), ("LSTM", {"proj_size": 8}),
              ("LSTM", {"num_layers": 2, "bias": False}), ("GRU", {}),
              ("GRU", {"bidirectional": True}), ("GRU", {"num_layers": 2, "bias": False})]


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("kind,kw", _RNN_CASES)
def test_recurrence_kernels_equal_numpy_path_float32(kind, kw, packed):
    """float32: the kernels do the numpy path's arithmetic in its order, so the results
    are the same bits (the backward's products of the gates, the forward's gate and
    cell updates)."""
    ref_out, ref_g = _run_rnn(False, kind, np.float32, packed, **kw)
    out, g = _run_rnn(True, kind, np.float32, packed, **kw)
    for a, b in zip(out + g, ref_out + ref_g):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind,kw", _RNN_CASES[:1] + _RNN_CASES[4:5])
def test_recurrence_kernels_float64_and_gradcheck(kind, kw):
    ref_out, ref_g = _run_rnn(False, kind, np.float64, True, **kw)
    out, g = _run_rnn(True, kind, np.float64, True, **kw)
    for a, b in zip(out + g, ref_out + ref_g):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    mod = getattr(ktrain.nn, kind)(3, 4).double()
    x = ktrain.tensor(np.random.default_rng(5).standard_normal((4, 2, 3)), requires_grad=True)
    assert ktrain.autograd.gradcheck(lambda x: mod(x)[0], (x,))


def test_recurrence_kernels_taken(monkeypatch):
    from ktrain.ops import _rnn_kernels as K
    from ktrain.ops import rnn as R

    calls = []
    for name in ("lstm_gates_fwd", "lstm_gates_bwd", "gru_gates_bwd"):
        real = getattr(K, name)

        def spy(*a, real=real, name=name):
            calls.append(name)
            return real(*a)

        monkeypatch.setattr(R._K, name, spy)
    _run_rnn(True, "LSTM", np.float32)
    _run_rnn(True, "GRU", np.float32)
    assert {"lstm_gates_fwd", "lstm_gates_bwd", "gru_gates_bwd"} <= set(calls)
    calls.clear()
    _run_rnn(False, "LSTM", np.float32)
    _run_rnn(False, "GRU", np.float32)
    assert not calls


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrence_work_arrays_recycled_and_never_shared(kind):
    """The gate buffers come from the buffer pool and go back when the graph is freed;
    two graphs alive at once never share one, and retain_graph keeps them for a second
    backward."""
    from ktrain.ops._buffer_pool import _POOL

    ktrain.manual_seed(1)
    mod = getattr(ktrain.nn, kind)(32, 128)
    x = ktrain.randn(40, 16, 32, requires_grad=True)
    _POOL.clear()
    out1, _ = mod(x)
    out2, _ = mod(x * 2)          # a second graph alive at the same time
    out1.sum().backward(retain_graph=True)
    g1 = x.grad.clone()
    x.grad = None
    out1.sum().backward()         # the retained buffers are intact
    np.testing.assert_array_equal(x.grad.numpy(), g1.numpy())
    x.grad = None
    out2.sum().backward()
    g2 = x.grad.clone()
    assert _POOL._bytes > 0       # released nodes gave their arrays back
    x.grad = None
    mod(x * 2)[0].sum().backward()   # runs on recycled arrays: same result
    np.testing.assert_array_equal(x.grad.numpy(), g2.numpy())
    with ktrain.no_grad():        # inference gives them back at once
        _POOL.clear()
        mod(x)
        assert _POOL._bytes > 0
