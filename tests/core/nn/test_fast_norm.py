"""The compiled kernels of batch norm, layer norm, ReLU, pooling and dropout's mask
(``ops._norm_kernels``, ``_act_kernels``, ``_pool_kernels``) against the numpy reference
paths (``set_fast_kernels(False)``), float64 gradchecks through the kernels, and checks
that the kernels are really taken."""
import numpy as np
import pytest

import ktrain as kt
import ktrain.nn.functional as F
from ktrain import _fast
from ktrain.autograd import gradcheck
from ktrain.backends import cpu
from ktrain.ops import _act_kernels, _norm_kernels, _pool_kernels

pytestmark = pytest.mark.skipif(not _fast.available(), reason="numba not installed")
RNG = np.random.default_rng(7)


def both(fn):
    """fn() on the numpy path, then on the kernel path."""
    out = []
    for flag in (False, True):
        cpu.set_fast_kernels(flag)
        try:
            out.append(fn())
        finally:
            cpu.set_fast_kernels(True)
    return out


def close(a, b, dt):
    tol = 2e-5 if dt == np.float32 else 1e-11
    for p, q in zip(a, b):
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol * max(1.0, np.abs(p).max()))


def count(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def spy(*a):
        calls.append(1)
        return real(*a)
    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(8, 16, 12, 12), (64, 8, 130), (256, 40)])
def test_batch_norm_train_and_eval_match_numpy(dt, affine, shape):
    X = (RNG.standard_normal(shape) * 3 + 50).astype(dt)
    G = RNG.standard_normal(shape).astype(dt)
    c = shape[1]
    W, B = RNG.standard_normal(c).astype(dt), RNG.standard_normal(c).astype(dt)

    def run():
        x = kt.tensor(X, requires_grad=True)
        w = kt.tensor(W, requires_grad=True) if affine else None
        b = kt.tensor(B, requires_grad=True) if affine else None
        rm, rv = kt.zeros(c, dtype=x.dtype), kt.ones(c, dtype=x.dtype)
        y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
        (y * kt.tensor(G)).sum().backward()
        with kt.no_grad():
            ye = F.batch_norm(x, rm, rv, w, b, training=False)
        r = [y.detach().numpy(), x.grad.numpy(), rm.numpy(), rv.numpy(), ye.numpy()]
        return r + ([w.grad.numpy(), b.grad.numpy()] if affine else [])
    close(*both(run), dt)


def test_batch_norm_takes_the_kernels(monkeypatch):
    calls = [count(monkeypatch, _norm_kernels, n)
             for n in ("bn_stats", "bn_apply", "bn_grad_sums", "bn_grad_input", "channel_affine")]
    x = kt.randn(16, 8, 10, 10, requires_grad=True)
    bn = kt.nn.BatchNorm2d(8)
    bn(x).sum().backward()
    bn.eval()
    with kt.no_grad():
        bn(x)
    assert all(len(c) == 1 for c in calls)


def test_batch_norm_momentum_none_is_a_cumulative_average():
    x1, x2 = kt.randn(32, 4, 16, 16), kt.randn(32, 4, 16, 16) * 2 + 1
    bn = kt.nn.BatchNorm2d(4, momentum=None)
    bn(x1), bn(x2)
    xs = np.stack([x1.numpy(), x2.numpy()])
    mean = xs.mean(axis=(1, 3, 4)).mean(0)
    var = xs.var(axis=(1, 3, 4), ddof=1).mean(0)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-5)


def test_batch_norm_gradcheck_float64_through_kernels(monkeypatch):
    monkeypatch.setattr("ktrain.ops.norm.FAST_MIN", 1)
    calls = count(monkeypatch, _norm_kernels, "bn_grad_input")
    x = kt.tensor(RNG.standard_normal((4, 3, 5)), requires_grad=True)
    w = kt.tensor(RNG.standard_normal(3), requires_grad=True)
    b = kt.tensor(RNG.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     (x, w, b))
    assert calls


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_numpy(dt, affine):
    X = (RNG.standard_normal((32, 64, 128)) * 2 + 3).astype(dt)
    G = RNG.standard_normal(X.shape).astype(dt)
    W, B = RNG.standard_normal(128).astype(dt), RNG.standard_normal(128).astype(dt)

    def run():
        x = kt.tensor(X, requires_grad=True)
        w = kt.tensor(W, requires_grad=True) if affine else None
        b = kt.tensor(B, requires_grad=True) if affine else None
        y = F.layer_norm(x, (128,), w, b)
        (y * kt.tensor(G)).sum().backward()
        r = [y.detach().numpy(), x.grad.numpy()]
        return r + ([w.grad.numpy(), b.grad.numpy()] if affine else [])
    close(*both(run), dt)


def test_layer_norm_gradcheck_float64_through_kernels(monkeypatch):
    monkeypatch.setattr("ktrain.ops.norm.FAST_MIN", 1)
    calls = [count(monkeypatch, _norm_kernels, n)
             for n in ("ln_forward", "ln_grad_input", "ln_grad_params")]
    x = kt.tensor(RNG.standard_normal((5, 6)), requires_grad=True)
    w = kt.tensor(RNG.standard_normal(6), requires_grad=True)
    b = kt.tensor(RNG.standard_normal(6), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (6,), w, b), (x, w, b))
    assert all(calls)


# ---------------------------------------------------------------------- relu, dropout


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_relu_forward_inplace_backward_match_numpy(dt, monkeypatch):
    X = RNG.standard_normal((64, 16, 32, 32)).astype(dt)
    X.reshape(-1)[:3] = [0.0, -0.0, 1e-30]
    n = X.copy()
    n.reshape(-1)[::1000] = np.nan              # NaN stays NaN forward, as np.maximum
    a, b = both(lambda: F.relu(kt.tensor(n)).numpy())
    np.testing.assert_array_equal(a, b)

    def run():
        x = kt.tensor(X, requires_grad=True)
        y = F.relu(x)
        (y * y).sum().backward()
        x2 = kt.tensor(X, requires_grad=True)
        z = x2 * 1.0
        F.relu(z, inplace=True)
        (z * 3.0).sum().backward()
        return [y.detach().numpy(), x.grad.numpy(), z.detach().numpy(), x2.grad.numpy()]
    a, b = both(run)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    calls = [count(monkeypatch, _act_kernels, n) for n in ("relu_into", "relu_grad")]
    run()
    assert len(calls[0]) == 2 and len(calls[1]) == 2


def test_dropout_mask_kernel_keeps_the_random_stream(monkeypatch):
    x = kt.ones(64, 32, 32, 32)

    def run():
        kt.manual_seed(3)
        return [F.dropout(x, 0.3).numpy(), F.dropout(x.double(), 0.5).numpy()]
    a, b = both(run)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    calls = count(monkeypatch, _act_kernels, "dropout_mask")
    run()
    assert len(calls) == 2


# ---------------------------------------------------------------------- pooling

POOLS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=3, stride=1, dilation=2, ceil_mode=True),
         dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), ceil_mode=True)]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kw", POOLS)
def test_max_pool_matches_numpy(dt, kw):
    X = RNG.standard_normal((4, 8, 26, 26)).astype(dt)
    X[0, 0, :4, :4] = 1.0                      # ties: the first one wins
    X[0, 1, 5, 5] = X[0, 1, 6, 7] = np.nan     # NaN wins
    G = RNG.standard_normal((4, 8, 26, 26)).astype(dt)

    def run():
        x = kt.tensor(X, requires_grad=True)
        y, i = F.max_pool2d(x, return_indices=True, **kw)
        (y * kt.tensor(G[..., :y.shape[2], :y.shape[3]].copy())).sum().backward()
        return [y.detach().numpy(), i.numpy(), x.grad.numpy()]
    a, b = both(run)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # overlapping windows add up in another order (numpy's bincount sums in float64)
    close(a[2:], b[2:], dt)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=3, divisor_override=5)])
def test_avg_pool_matches_numpy(kw):
    X = RNG.standard_normal((4, 8, 26, 26)).astype(np.float32)

    def run():
        x = kt.tensor(X, requires_grad=True)
        y = F.avg_pool2d(x, **kw)
        (y * y).sum().backward()
        return [y.detach().numpy(), x.grad.numpy()]
    close(*both(run), np.float32)


def test_pool_kernels_taken_and_gradcheck(monkeypatch):
    monkeypatch.setattr("ktrain.ops.pool.FAST_MIN", 1)
    calls = [count(monkeypatch, _pool_kernels, n)
             for n in ("max_pool", "scatter_flat", "avg_pool", "avg_scatter")]
    x = kt.tensor(RNG.standard_normal((2, 3, 7, 7)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (x,))
    assert all(calls)


def test_max_unpool_keeps_assignment_semantics():
    x = kt.randn(8, 16, 32, 32)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    a, b = both(lambda: F.max_unpool2d(y, i, 2).numpy())
    np.testing.assert_array_equal(a, b)
