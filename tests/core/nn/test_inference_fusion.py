"""Inference fusion (``ops.conv_fusion``): conv + eval BatchNorm + ReLU under no_grad give
the unfused result for any forward, and the fusion really happens where it can."""
import pickle
import threading

import numpy as np
import pytest

import ktrain
import ktrain.nn as nn
import ktrain.nn.functional as F
from ktrain.ops import conv_fusion as cf


@pytest.fixture(params=[True, False], ids=["kernels", "numpy"])
def fast(request):
    prev = ktrain.backends.cpu.fast_kernels_enabled()
    ktrain.backends.cpu.set_fast_kernels(request.param)
    try:
        yield request.param
    finally:
        ktrain.backends.cpu.set_fast_kernels(prev)


@pytest.fixture(autouse=True)
def fusion_on():
    prev = cf.set_enabled(True)
    cf.reset_stats()
    try:
        yield
    finally:
        cf.set_enabled(prev)


def _randomise_bn(model, dtype=ktrain.float32):
    g = np.random.default_rng(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(ktrain.tensor(g.normal(size=c), dtype=dtype))
            m.running_var.copy_(ktrain.tensor(g.uniform(0.5, 2.0, size=c), dtype=dtype))
            if m.affine:
                with ktrain.no_grad():
                    m.weight.copy_(ktrain.tensor(g.normal(size=c), dtype=dtype))
                    m.bias.copy_(ktrain.tensor(g.normal(size=c), dtype=dtype))
    return model


def _both(fn):
    """fn() with fusion off, then on (arrays)."""
    cf.set_enabled(False)
    try:
        ref = fn()
    finally:
        cf.set_enabled(True)
    cf.reset_stats()
    return ref, fn()


def _np(t):
    return np.array(t.detach().numpy())


class Block(nn.Module):
    def __init__(self, cin, cout, stride, bias=False, inplace=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=bias)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=inplace)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def _resnet20():
    import importlib.util
    import pathlib
    p = pathlib.Path(__file__).resolve().parents[3] / "benchmarks" / "bench_models.py"
    spec = importlib.util.spec_from_file_location("_bench_models", p)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.resnet20(ktrain)


@pytest.mark.parametrize("dtype,tol", [(ktrain.float32, 2e-5), (ktrain.float64, 1e-12)])
def test_resnet20_matches_unfused(fast, dtype, tol):
    ktrain.manual_seed(0)
    model = _randomise_bn(_resnet20().to(dtype), dtype).eval()
    x = ktrain.randn(2, 3, 32, 32, dtype=dtype)  # the stem output passes _fast.MIN_SIZE

    def run():
        with ktrain.no_grad():
            return _np(model(x))

    ref, got = _both(run)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())
    # 21 convs each followed by its BN: all folded; the 10 ReLUs right after a BN fused;
    # only the 21 final pending tensors are computed (never the superseded ones)
    assert cf.STATS["pending"] == 21 and cf.STATS["folds"] == 21
    assert cf.STATS["relus"] == 10 and cf.STATS["computed"] == 21
    if {"relu", "shift"} <= cf._conv_kw():  # the conv applies the epilogue itself
        assert cf.STATS["conv_epilogue"] == 21
    else:
        assert (cf.STATS["kernel"] > 0) == (fast and
                                            ktrain.backends.cpu.fast_kernels_available())


def test_own_epilogue_kernel_against_numpy(monkeypatch):
    """The fallback used when ops.conv has no epilogue keywords: kernel and numpy paths."""
    monkeypatch.setattr(cf, "_CONV_KW", frozenset())
    ktrain.manual_seed(3)
    conv = nn.Conv2d(3, 16, 3, padding=1)
    bn = _randomise_bn(nn.BatchNorm2d(16)).eval()
    x = ktrain.randn(2, 3, 32, 32)
    outs = []
    prev = ktrain.backends.cpu.fast_kernels_enabled()
    try:
        for k in (True, False):
            ktrain.backends.cpu.set_fast_kernels(k)
            cf.reset_stats()
            with ktrain.no_grad():
                outs.append(_np(F.relu(bn(conv(x)))))
            assert cf.STATS["kernel"] == int(k and
                                             ktrain.backends.cpu.fast_kernels_available())
    finally:
        ktrain.backends.cpu.set_fast_kernels(prev)
    with ktrain.no_grad():
        y = F.conv2d(x, conv.weight, conv.bias, padding=1)
        ref = _np(F.relu(F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight,
                                      bn.bias)))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outs[0], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bias,inplace,stride", [(False, False, 1), (True, True, 2),
                                                 (True, False, 1)])
def test_block_variants(fast, bias, inplace, stride):
    ktrain.manual_seed(1)
    blk = _randomise_bn(Block(4, 6, stride, bias, inplace)).eval()
    x = ktrain.randn(2, 4, 9, 9)

    def run():
        with ktrain.no_grad():
            return _np(blk(x))

    ref, got = _both(run)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert cf.STATS["folds"] == 3


@pytest.mark.parametrize("kw", [dict(groups=2), dict(stride=2, padding=2, dilation=2),
                                dict(padding="same"), dict(groups=4, padding=1)])
def test_conv_geometries(fast, kw):
    ktrain.manual_seed(2)
    conv = nn.Conv2d(4, 8, 3, bias=True, **kw)
    bn = _randomise_bn(nn.BatchNorm2d(8)).eval()
    x = ktrain.randn(2, 4, 10, 10)

    def run():
        with ktrain.no_grad():
            return _np(F.relu(bn(conv(x))))

    ref, got = _both(run)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert cf.STATS["folds"] == 1 and cf.STATS["relus"] == 1


def test_pointwise_conv_and_affine_false():
    conv = nn.Conv2d(3, 5, 1, bias=False)
    bn = _randomise_bn(nn.BatchNorm2d(5, affine=False)).eval()
    x = ktrain.randn(2, 3, 6, 6)

    def run():
        with ktrain.no_grad():
            return _np(ktrain.relu(bn(conv(x))))

    ref, got = _both(run)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert cf.STATS["folds"] == 1 and cf.STATS["relus"] == 1


def test_no_fold_in_training_or_without_running_stats():
    conv = nn.Conv2d(3, 4, 3)
    x = ktrain.randn(2, 3, 6, 6)
    for bn, train in ((nn.BatchNorm2d(4), True),
                      (nn.BatchNorm2d(4, track_running_stats=False), False)):
        bn.train(train)
        with ktrain.no_grad():
            ref_in = F.conv2d(x, conv.weight, conv.bias)
            ref = _np(F.batch_norm(ref_in.clone(), None, None, bn.weight, bn.bias, True))
            cf.reset_stats()
            got = _np(bn(conv(x)))
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        assert cf.STATS["folds"] == 0


def test_model_train_again_means_no_fusion():
    blk = _randomise_bn(Block(3, 3, 1)).eval()
    x = ktrain.randn(2, 3, 5, 5)
    with ktrain.no_grad():
        blk(x)
    assert cf.STATS["folds"] == 2
    blk.train()
    cf.reset_stats()
    with ktrain.no_grad():
        blk(x)
    assert cf.STATS["folds"] == 0


def test_grad_mode_not_fused_and_switching_on_later():
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)
    y = bn(conv(x))  # grad enabled, parameters require grad: the ordinary ops
    assert y.requires_grad and type(y) is ktrain.Tensor and cf.STATS["pending"] == 0
    plain = F.conv2d(x, conv.weight.detach())  # grad enabled, nothing requires grad
    assert type(plain) is ktrain.Tensor and cf.STATS["pending"] == 0
    with ktrain.no_grad():
        p = bn(conv(x))
    assert type(p) is cf.PendingConv and not p.requires_grad
    w = ktrain.ones(1, requires_grad=True)
    (p * w).sum().backward()  # the pending tensor is a constant of the graph
    np.testing.assert_allclose(w.grad.numpy(), _np(y).sum(keepdims=True).reshape(1),
                               rtol=1e-4)
    assert p.grad_fn is None and not p.requires_grad
    with ktrain.inference_mode():
        q = conv(x)
    assert type(q) is cf.PendingConv
    np.testing.assert_allclose(_np(q), _np(y.detach() * 0 + F.conv2d(x, conv.weight,
                                                                     conv.bias).detach()),
                               rtol=1e-6)


def test_requires_grad_on_pending_stops_fusion():
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)
    with ktrain.no_grad():
        p = conv(x)
    p.requires_grad_()
    y = bn(p)
    assert cf.STATS["folds"] == 0 and y.requires_grad
    y.sum().backward()
    assert p.grad is not None and p.grad.shape == p.shape


def test_double_use_of_conv_output(fast):
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)

    def run():
        with ktrain.no_grad():
            y = conv(x)
            z = F.relu(bn(y))
            return _np(z + y * 2), _np(y)

    (r1, r2), (g1, g2) = _both(run)
    np.testing.assert_allclose(g1, r1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g2, r2, rtol=1e-6, atol=1e-6)
    # the folded chain and the unfolded conv (read separately): two computations
    assert cf.STATS["folds"] == 1 and cf.STATS["computed"] == 2


def test_inplace_ops_on_pending():
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)
    with ktrain.no_grad():
        ref = F.conv2d(x, conv.weight, conv.bias)
        ref = ref.numpy().copy()
        y = conv(x)
        v = y._version[0]
        y += 1
        assert y._version[0] > v and type(y) is ktrain.Tensor
        np.testing.assert_allclose(y.numpy(), ref + 1, rtol=1e-6)
        y = conv(x)
        y.relu_()  # fused: the version bumps, the value is relu(conv)
        assert type(y) is cf.PendingConv and y._version[0] == 1
        np.testing.assert_allclose(_np(y), np.maximum(ref, 0), rtol=1e-6)
        y = conv(x)
        z = bn(y)
        F.relu(y, inplace=True)  # y changes after bn read it: bn's value must not
        refz = _np(F.batch_norm(ktrain.tensor(ref), bn.running_mean, bn.running_var,
                                bn.weight, bn.bias))
        np.testing.assert_allclose(_np(z), refz, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_np(y), np.maximum(ref, 0), rtol=1e-6)


def test_input_and_weight_changed_after_the_call():
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)
    with ktrain.no_grad():
        ref = _np(F.relu(bn(F.conv2d(x.clone(), conv.weight.clone(), conv.bias.clone()))))
        cf.reset_stats()
        y = F.relu(bn(conv(x)))
        x.mul_(3)  # the input written before the result was read
        conv.weight.data.copy_(conv.weight * 2)  # own version counter: copied at the call
        bn.running_mean.add_(1)
    np.testing.assert_allclose(_np(y), ref, rtol=1e-5, atol=1e-5)
    assert cf.STATS["folds"] == 1
    # later calls see the new weights and statistics (the fold is recomputed)
    with ktrain.no_grad():
        ref2 = _np(F.batch_norm(F.conv2d(x, conv.weight, conv.bias), bn.running_mean,
                                bn.running_var, bn.weight, bn.bias))
        cf.reset_stats()
        got2 = _np(bn(conv(x)))
    np.testing.assert_allclose(got2, ref2, rtol=1e-5, atol=1e-5)
    assert type(x) is ktrain.Tensor  # no longer watched once its dependents are computed


def test_write_through_an_older_view_is_an_error():
    base = ktrain.randn(4, 3, 6, 6)
    other = base[2:]
    conv = nn.Conv2d(3, 4, 3)
    with ktrain.no_grad():
        y = conv(base[:2])
        other.add_(1)
        with pytest.raises(RuntimeError, match="modified in place"):
            y.numpy()


def test_forward_hooks_see_and_replace_outputs():
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    seq = nn.Sequential(conv, bn, nn.ReLU())
    x = ktrain.randn(2, 3, 6, 6)
    seen = []
    h = conv.register_forward_hook(lambda m, i, o: seen.append(o.sum().item()))
    with ktrain.no_grad():
        ref_conv = F.conv2d(x, conv.weight, conv.bias)
        out = seq(x)
    h.remove()
    np.testing.assert_allclose(seen[0], ref_conv.sum().item(), rtol=1e-5)
    h = conv.register_forward_hook(lambda m, i, o: o * 0)
    with ktrain.no_grad():
        out2 = seq(x)
    h.remove()
    ref2 = F.relu(F.batch_norm(ref_conv * 0, bn.running_mean, bn.running_var, bn.weight,
                               bn.bias))
    np.testing.assert_allclose(_np(out2), _np(ref2), atol=1e-6)
    ref = F.relu(F.batch_norm(ref_conv, bn.running_mean, bn.running_var, bn.weight, bn.bias))
    np.testing.assert_allclose(_np(out), _np(ref), rtol=1e-5, atol=1e-5)


def test_readers_materialise(tmp_path):
    conv = nn.Conv2d(3, 4, 3)
    x = ktrain.randn(2, 3, 6, 6)
    with ktrain.no_grad():
        ref = _np(F.conv2d(x, conv.weight, conv.bias))
        for read in (lambda t: t.numpy(), lambda t: t.data.numpy(),
                     lambda t: t.detach().numpy(), lambda t: pickle.loads(pickle.dumps(t)).numpy(),
                     lambda t: np.asarray(t), lambda t: ref if repr(t) else None):
            p = conv(x)
            assert type(p) is cf.PendingConv
            assert p.shape == (2, 4, 4, 4) and p.dtype == ktrain.float32 and p.ndim == 4
            assert type(p) is cf.PendingConv  # metadata does not compute
            np.testing.assert_allclose(read(p), ref, rtol=1e-6)
        p = conv(x)
        ktrain.save({"y": p}, tmp_path / "y.pt")
        np.testing.assert_allclose(ktrain.load(tmp_path / "y.pt")["y"].numpy(), ref, rtol=1e-6)
        p = conv(x)
        p.data = ktrain.zeros(2, 4, 4, 4)  # overwritten: the conv is never computed
        assert type(p) is ktrain.Tensor and not p.numpy().any()


def test_shape_errors_at_the_call_and_1d_untouched():
    with ktrain.no_grad():
        with pytest.raises(RuntimeError, match="channels"):
            F.conv2d(ktrain.randn(1, 3, 5, 5), ktrain.randn(2, 4, 3, 3))
        with pytest.raises(RuntimeError, match="Kernel size"):
            F.conv2d(ktrain.randn(1, 3, 2, 2), ktrain.randn(2, 3, 3, 3))
        y = F.conv1d(ktrain.randn(2, 3, 8), ktrain.randn(4, 3, 3))
        assert type(y) is ktrain.Tensor
        y = F.conv2d(ktrain.randn(3, 5, 5), ktrain.randn(2, 3, 3, 3))  # unbatched
        assert type(y) is ktrain.Tensor
        y = F.conv2d(ktrain.randn(1, 3, 5, 5, dtype=ktrain.float16),
                     ktrain.randn(2, 3, 3, 3, dtype=ktrain.float16))
        assert type(y) is ktrain.Tensor
    assert cf.STATS["pending"] == 0


def test_off_switch():
    cf.set_enabled(False)
    with ktrain.no_grad():
        y = F.conv2d(ktrain.randn(1, 3, 5, 5), ktrain.randn(2, 3, 3, 3))
    assert type(y) is ktrain.Tensor and cf.STATS["pending"] == 0


def test_read_from_another_thread():
    conv = nn.Conv2d(3, 4, 3)
    bn = _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)
    with ktrain.no_grad():
        ref = _np(F.relu(F.batch_norm(F.conv2d(x, conv.weight, conv.bias), bn.running_mean,
                                      bn.running_var, bn.weight, bn.bias)))
        ys = [F.relu(bn(conv(x))) for _ in range(4)]
    out = [None] * 4

    def read(i):
        out[i] = ys[i].numpy()

    th = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    for o in out:
        np.testing.assert_allclose(o, ref, rtol=1e-5, atol=1e-5)


def test_downsample_before_main_path_keeps_fusion():
    conv_a, conv_b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 3, padding=1)
    bn_a, bn_b = _randomise_bn(nn.BatchNorm2d(4)).eval(), _randomise_bn(nn.BatchNorm2d(4)).eval()
    x = ktrain.randn(2, 3, 6, 6)

    def run():
        with ktrain.no_grad():
            a = conv_a(x)       # x is watched for a ...
            b = conv_b(x)       # ... and read again by a conv: a stays pending
            return _np(bn_a(a) + F.relu(bn_b(b)))

    ref, got = _both(run)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert cf.STATS["folds"] == 2 and cf.STATS["computed"] == 2
