"""Normalisation layers (ktrain.nn.functional.normalization and nn.BatchNorm*/LayerNorm/
GroupNorm/InstanceNorm*/RMSNorm): values and running statistics against numpy, first and
second derivatives against finite differences, parameters/buffers/state_dict keys,
train/eval behaviour and errors."""
from __future__ import annotations

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn as nn
import ktrain.nn.functional as F
from ktrain.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)


def rnd(*shape, scale=1.0, shift=0.0):
    return RNG.standard_normal(shape) * scale + shift


def D(arr):
    return kt.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def N(t):
    return np.asarray(t.detach())


def np_norm(x, axes, eps=1e-5):
    m = x.mean(axes, keepdims=True)
    v = ((x - m) ** 2).mean(axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def chan(v, nd):
    return np.asarray(v).reshape((1, -1) + (1,) * (nd - 2))


# ---------------------------------------------------------------------- batch norm


def test_batchnorm_parameters_buffers_and_repr():
    bn = nn.BatchNorm2d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert np.all(N(bn.weight) == 1) and np.all(N(bn.bias) == 0)
    assert np.all(N(bn.running_mean) == 0) and np.all(N(bn.running_var) == 1)
    assert bn.num_batches_tracked.dtype == kt.int64 and bn.num_batches_tracked.item() == 0
    assert bn.running_mean.dtype == kt.float32
    assert repr(bn) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                        "track_running_stats=True)")
    m = nn.Sequential(nn.BatchNorm1d(4))
    assert list(m.state_dict()) == ["0.weight", "0.bias", "0.running_mean", "0.running_var",
                                    "0.num_batches_tracked"]
    na = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(na.state_dict()) == [] and na.weight is None and na.running_mean is None


def test_batchnorm_state_dict_round_trip():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            return self.bn(x)

    a = Net()
    for _ in range(2):
        a(kt.tensor(rnd(4, 2, 3, 3, scale=2, shift=1).astype(np.float32)))
    sd = a.state_dict()
    assert list(sd) == ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                        "bn.num_batches_tracked"]
    b = Net()
    b.load_state_dict(sd)
    for k in sd:
        np.testing.assert_array_equal(N(b.state_dict()[k]), N(sd[k]))
    assert b.bn.num_batches_tracked.item() == 2
    b.double()
    assert b.bn.running_mean.dtype == kt.float64 and b.bn.num_batches_tracked.dtype == kt.int64
    b.bn.reset_running_stats()
    assert b.bn.num_batches_tracked.item() == 0 and np.all(N(b.bn.running_var) == 1)


def test_batchnorm_training_forward_matches_numpy():
    x = rnd(6, 3, 4, 5, scale=2, shift=1)
    w, b = RNG.random(3) + 0.5, rnd(3)
    bn = nn.BatchNorm2d(3).double()
    with kt.no_grad():
        bn.weight.copy_(kt.tensor(w))
        bn.bias.copy_(kt.tensor(b))
    y = bn(kt.tensor(x))
    ref = np_norm(x, (0, 2, 3)) * chan(w, 4) + chan(b, 4)
    np.testing.assert_allclose(N(y), ref, rtol=1e-10, atol=1e-12)
    x3 = rnd(5, 3, 7)
    np.testing.assert_allclose(N(nn.BatchNorm1d(3, affine=False).double()(kt.tensor(x3))),
                               np_norm(x3, (0, 2)), rtol=1e-10, atol=1e-12)
    x2 = rnd(5, 3)
    np.testing.assert_allclose(N(nn.BatchNorm1d(3).double()(kt.tensor(x2))),
                               np_norm(x2, (0,)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats(momentum):
    bn = nn.BatchNorm2d(2, momentum=momentum)
    rm, rv = np.zeros(2), np.ones(2)
    batches = [rnd(4, 2, 3, 3, scale=s, shift=s) for s in (1.0, 2.0, 0.5)]
    for k, xb in enumerate(batches, 1):
        bn(kt.tensor(xb.astype(np.float32)))
        mean = xb.mean((0, 2, 3))
        var = xb.var((0, 2, 3), ddof=1)  # the running variance takes the unbiased one
        f = 1.0 / k if momentum is None else momentum
        rm = (1 - f) * rm + f * mean
        rv = (1 - f) * rv + f * var
    assert bn.num_batches_tracked.item() == 3
    np.testing.assert_allclose(N(bn.running_mean), rm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(N(bn.running_var), rv, rtol=1e-5, atol=1e-6)
    if momentum is None:  # the cumulative average of all batches
        np.testing.assert_allclose(N(bn.running_mean),
                                   np.mean([b.mean((0, 2, 3)) for b in batches], 0), rtol=1e-5)
    # eval uses the running statistics and leaves them alone
    bn.eval()
    x = rnd(3, 2, 3, 3)
    y = bn(kt.tensor(x.astype(np.float32)))
    ref = (x - chan(rm, 4)) / np.sqrt(chan(rv, 4) + 1e-5)
    np.testing.assert_allclose(N(y), ref, rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 3
    assert y.dtype == kt.float32


def test_batchnorm_without_tracking_uses_batch_stats_in_eval():
    bn = nn.BatchNorm1d(3, track_running_stats=False).double()
    bn.eval()
    x = rnd(4, 3)
    np.testing.assert_allclose(N(bn(kt.tensor(x))), np_norm(x, (0,)), rtol=1e-10)
    assert bn.num_batches_tracked is None


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size ktrain.Size\(\[1, 3\]\)"):
        nn.BatchNorm1d(3)(kt.ones(1, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(kt.ones(2, 3, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(kt.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements"):
        F.batch_norm(kt.ones(2, 3), kt.zeros(4), kt.ones(4), training=True)
    with pytest.raises(RuntimeError, match="evaluation mode"):
        F.batch_norm(kt.ones(2, 3), None, None, training=False)
    bn = nn.BatchNorm1d(3).eval()
    assert tuple(bn(kt.ones(1, 3)).shape) == (1, 3)  # batch size 1 is fine in eval


def test_batchnorm_gradients():
    x, w, b = rnd(4, 3, 2, 2, scale=2), RNG.random(3) + 0.5, rnd(3)

    def f(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(f, (D(x), D(w), D(b)))
    assert gradgradcheck(f, (D(x), D(w), D(b)))
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (D(rnd(5, 2)),))
    assert gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), (D(rnd(5, 2)),))
    rm, rv = kt.tensor(rnd(3), dtype=kt.float64), kt.tensor(RNG.random(3) + 0.5,
                                                            dtype=kt.float64)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
                     (D(x), D(w), D(b)))


def test_batchnorm_module_backward_float32():
    bn = nn.BatchNorm2d(4)
    x = kt.tensor(rnd(8, 4, 3, 3).astype(np.float32), requires_grad=True)
    y = bn(x)
    g = rnd(8, 4, 3, 3)
    y.backward(kt.tensor(g.astype(np.float32)))
    assert x.grad.dtype == kt.float32 and bn.weight.grad.dtype == kt.float32
    xh = np_norm(N(x).astype(np.float64), (0, 2, 3))
    np.testing.assert_allclose(N(bn.weight.grad), (g * xh).sum((0, 2, 3)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(N(bn.bias.grad), g.sum((0, 2, 3)), rtol=1e-5, atol=1e-4)
    # the input gradient of a normalisation sums to zero per channel
    np.testing.assert_allclose(N(x.grad).sum((0, 2, 3)), 0, atol=1e-4)


def test_batchnorm_output_modified_in_place_keeps_gradient():
    x = D(rnd(4, 3))
    y = F.batch_norm(x, None, None, training=True)
    F.relu(y, inplace=True)  # the common BN -> ReLU(inplace) pattern
    y.sum().backward()
    x2 = D(N(x))
    F.relu(F.batch_norm(x2, None, None, training=True)).sum().backward()
    np.testing.assert_allclose(N(x.grad), N(x2.grad), rtol=1e-12)


# ---------------------------------------------------------------------- layer / group norm


def test_layernorm_module_and_values():
    ln = nn.LayerNorm((4, 5))
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    assert tuple(ln.weight.shape) == (4, 5) and np.all(N(ln.weight) == 1)
    assert repr(ln) == "LayerNorm((4, 5), eps=1e-05, elementwise_affine=True)"
    assert nn.LayerNorm(5, bias=False).bias is None
    assert list(nn.LayerNorm(5, elementwise_affine=False).state_dict()) == []
    x, w, b = rnd(2, 3, 4, 5, scale=3), rnd(4, 5), rnd(4, 5)
    y = F.layer_norm(kt.tensor(x), (4, 5), kt.tensor(w), kt.tensor(b), eps=1e-6)
    np.testing.assert_allclose(N(y), np_norm(x, (2, 3), 1e-6) * w + b, rtol=1e-10, atol=1e-12)
    x32 = kt.tensor(x.astype(np.float32))
    assert nn.LayerNorm(5)(x32).dtype == kt.float32


def test_layernorm_gradients():
    x, w, b = rnd(3, 4, scale=2), rnd(4), rnd(4)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), (D(x), D(w), D(b)))
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), (D(x), D(w), D(b)))
    assert gradcheck(lambda x: F.layer_norm(x, (3, 4)), (D(rnd(2, 3, 4)),))
    assert gradcheck(lambda x, w: F.layer_norm(x, (4,), w), (D(x), D(w)))


def test_layernorm_shape_error():
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[5\], expected input with "
                                           r"shape \[\*, 5\], but got input of size"):
        nn.LayerNorm(5)(kt.ones(2, 4))


def test_groupnorm():
    gn = nn.GroupNorm(2, 6)
    assert repr(gn) == "GroupNorm(2, 6, eps=1e-05, affine=True)"
    assert tuple(gn.weight.shape) == (6,)
    x, w, b = rnd(3, 6, 2, 2, scale=2), rnd(6), rnd(6)
    ref = np_norm(x.reshape(3, 2, 3, 4), (2, 3)).reshape(x.shape) * chan(w, 4) + chan(b, 4)
    y = F.group_norm(kt.tensor(x), 2, kt.tensor(w), kt.tensor(b))
    np.testing.assert_allclose(N(y), ref, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (D(x), D(w), D(b)))
    assert gradgradcheck(lambda x, w, b: F.group_norm(x, 3, w, b),
                         (D(rnd(2, 6, 2)), D(w), D(b)))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(kt.ones(2, 6, 3), 4)


# ---------------------------------------------------------------------- instance norm


def test_instancenorm_values_and_gradients():
    x = rnd(2, 3, 6, scale=2)
    m = nn.InstanceNorm1d(3).double()
    assert list(m.state_dict()) == [] and repr(m).startswith("InstanceNorm1d(3, eps=1e-05")
    np.testing.assert_allclose(N(m(kt.tensor(x))), np_norm(x, (2,)), rtol=1e-10, atol=1e-12)
    # unbatched (C, L)
    np.testing.assert_allclose(N(m(kt.tensor(x[0]))), np_norm(x[:1], (2,))[0], rtol=1e-10,
                               atol=1e-12)
    w, b = RNG.random(3) + 0.5, rnd(3)
    x4 = rnd(2, 3, 3, 2)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (D(x4), D(w), D(b)))
    assert gradgradcheck(lambda x: F.instance_norm(x), (D(x),))
    ma = nn.InstanceNorm2d(3, affine=True)
    assert [n for n, _ in ma.named_parameters()] == ["weight", "bias"]
    with pytest.raises(ValueError, match="num_features"):
        ma(kt.ones(2, 4, 3, 3))
    with pytest.raises(ValueError, match="expected 3D"):
        nn.InstanceNorm2d(3)(kt.ones(2, 3))


def test_instancenorm_running_stats():
    m = nn.InstanceNorm1d(2, track_running_stats=True, momentum=0.2)
    assert list(m.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    x = rnd(3, 2, 5, scale=2, shift=1)
    m(kt.tensor(x.astype(np.float32)))
    mean = x.mean(2).mean(0)
    var = x.var(2, ddof=1).mean(0)
    np.testing.assert_allclose(N(m.running_mean), 0.2 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(N(m.running_var), 0.8 + 0.2 * var, rtol=1e-5, atol=1e-6)
    m.eval()
    xe = rnd(1, 2, 5)
    ref = (xe - N(m.running_mean)[None, :, None]) / np.sqrt(N(m.running_var)[None, :, None]
                                                             + 1e-5)
    np.testing.assert_allclose(N(m(kt.tensor(xe.astype(np.float32)))), ref, rtol=1e-4,
                               atol=1e-5)


# ---------------------------------------------------------------------- others


def test_rms_norm_normalize_lrn():
    x, w = rnd(3, 4), rnd(4)
    y = F.rms_norm(kt.tensor(x), (4,), kt.tensor(w), eps=1e-6)
    np.testing.assert_allclose(N(y), x / np.sqrt((x ** 2).mean(1, keepdims=True) + 1e-6) * w,
                               rtol=1e-10)
    m = nn.RMSNorm(4)
    assert tuple(m.weight.shape) == (4,) and np.all(N(m.weight) == 1)
    assert gradcheck(lambda x, w: F.rms_norm(x, (4,), w), (D(x), D(w)))
    n = F.normalize(kt.tensor(x), dim=1)
    np.testing.assert_allclose(N(n), x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-10)
    assert gradcheck(lambda x: F.normalize(x, p=1.5, dim=0), (D(x),))
    x4 = RNG.random((2, 5, 3))
    sq = np.pad(x4 ** 2, ((0, 0), (1, 1), (0, 0)))
    div = (sq[:, :-2] + sq[:, 1:-1] + sq[:, 2:]) / 3
    ref = x4 / (1.0 + 1e-2 * div) ** 0.75
    lrn = nn.LocalResponseNorm(3, alpha=1e-2)
    np.testing.assert_allclose(N(lrn(kt.tensor(x4))), ref, rtol=1e-10)
    assert gradcheck(lambda x: F.local_response_norm(x, 2, alpha=0.1), (D(x4),))


def test_normalization_all_exports():
    import importlib

    mod = importlib.import_module("ktrain.nn.functional.normalization")
    for name in mod.__all__:
        assert getattr(F, name) is getattr(mod, name)


# ---------------------------------------------------------------------- blocked CPU path


@pytest.fixture
def small_blocks(monkeypatch):
    """Shrink the cache blocks so that small inputs take the block-by-block CPU path."""
    import importlib

    mod = importlib.import_module("ktrain.ops.norm")
    monkeypatch.setattr(mod, "_BLOCK", 16)


BLOCK_CASES = {
    "batch": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (9, 3, 2, 3), 3,
              (0, 2, 3)),
    "instance": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (9, 3, 5), 3, (2,)),
    "layer": (lambda x, w, b: F.layer_norm(x, (4,), w, b), (20, 4), 4, (1,)),
    "group": (lambda x, w, b: F.group_norm(x, 2, w, b), (9, 4, 3), 4, None),
}


@pytest.mark.parametrize("kind", sorted(BLOCK_CASES))
def test_blocked_path_matches_and_differentiates(kind, small_blocks):
    fn, shape, c, axes = BLOCK_CASES[kind]
    x, w, b = rnd(*shape, scale=2, shift=1), RNG.random(c) + 0.5, rnd(c)
    y = fn(kt.tensor(x), kt.tensor(w), kt.tensor(b))
    if axes is not None:
        wb = w if kind == "layer" else chan(w, len(shape))
        bb = b if kind == "layer" else chan(b, len(shape))
        np.testing.assert_allclose(N(y), np_norm(x, axes) * wb + bb, rtol=1e-10, atol=1e-12)
    assert gradcheck(fn, (D(x), D(w), D(b)))
    # the fast backward equals the differentiable (create_graph) formula
    xs, ws, bs = D(x), D(w), D(b)
    g = kt.tensor(rnd(*shape))
    fast = kt.autograd.grad([fn(xs, ws, bs)], [xs, ws, bs], [g])
    graph = kt.autograd.grad([fn(xs, ws, bs)], [xs, ws, bs], [g], create_graph=True)
    for a, r in zip(fast, graph):
        np.testing.assert_allclose(N(a), N(r), rtol=1e-9, atol=1e-11)


def test_blocked_running_stats(small_blocks):
    bn = nn.BatchNorm1d(3, momentum=None).double()
    x = rnd(40, 3, 5, scale=3, shift=2)
    bn(kt.tensor(x))
    np.testing.assert_allclose(N(bn.running_mean), x.mean((0, 2)), rtol=1e-10)
    np.testing.assert_allclose(N(bn.running_var), x.var((0, 2), ddof=1), rtol=1e-10)
