"""The top-level namespace (issue 13): every lazy entry resolves, ``hasattr`` never raises,
the ``torch.*`` functional aliases, ``set_printoptions``, ``ktrain.backends``, and the old
import paths of what moved at the bottom of the core (same objects)."""
from __future__ import annotations

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn.functional as F


@pytest.mark.parametrize("name", sorted(kt._LAZY))
def test_every_lazy_entry_resolves(name):
    assert getattr(kt, name) is not None
    assert name in dir(kt)


@pytest.mark.parametrize("name", kt._LAZY_MODULES)
def test_lazy_submodules(name):
    import importlib

    assert getattr(kt, name) is importlib.import_module(f"ktrain.{name}")


@pytest.mark.parametrize("name", ["testing", "no_such_thing", "__wrapped__", "_private", "Cuda"])
def test_hasattr_is_false_for_unknown_names(name):
    assert hasattr(kt, name) is False
    with pytest.raises(AttributeError):
        getattr(kt, name)


SAME_AS_F = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "avg_pool1d",
             "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "adaptive_avg_pool1d",
             "layer_norm", "group_norm", "rms_norm", "pixel_shuffle", "pixel_unshuffle",
             "cosine_similarity", "pairwise_distance", "pdist", "bilinear", "prelu", "selu",
             "selu_", "celu", "celu_", "rrelu", "threshold", "threshold_", "hardshrink",
             "relu_"]


@pytest.mark.parametrize("name", SAME_AS_F)
def test_functional_aliases_are_the_functional_objects(name):
    assert getattr(kt, name) is getattr(F, name)


def test_aten_order_aliases():
    x = kt.randn(4, 3, 5)
    assert kt.dropout(x, 0.5, False) is x or np.array_equal(kt.dropout(x, 0.5, False).numpy(),
                                                           x.numpy())
    kt.manual_seed(0)
    a = kt.dropout(x, 0.5, True)
    kt.manual_seed(0)
    b = F.dropout(x, 0.5, training=True)
    assert np.array_equal(a.numpy(), b.numpy())
    w = kt.randn(10, 4)
    idx = kt.tensor([1, 3, 3])
    assert np.array_equal(kt.embedding(w, idx).numpy(), F.embedding(idx, w).numpy())
    gamma, beta = kt.ones(3) * 2, kt.zeros(3) + 1
    rm, rv = kt.zeros(3), kt.ones(3)
    y = kt.batch_norm(x, gamma, beta, rm, rv, False, 0.1, 1e-5, True)
    ref = F.batch_norm(x, kt.zeros(3), kt.ones(3), gamma, beta, False, 0.1, 1e-5)
    assert np.allclose(y.numpy(), ref.numpy())
    y = kt.instance_norm(x, gamma, beta, None, None, True, 0.1, 1e-5, True)
    assert np.allclose(y.numpy(), F.instance_norm(x, None, None, gamma, beta).numpy())
    vals, ind = kt.adaptive_max_pool1d(x, 2)
    assert vals.shape == (4, 3, 2) and ind.shape == (4, 3, 2)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_cdist_matches_numpy_and_gradcheck(p, mode):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 30, 3)), rng.standard_normal((1, 5, 3))
    ref = np.linalg.norm(a[:, :, None] - b[:, None], ord=p, axis=-1) if p != float("inf") \
        else np.abs(a[:, :, None] - b[:, None]).max(-1)
    x = kt.tensor(a, requires_grad=True)
    out = kt.cdist(x, kt.tensor(b), p=p, compute_mode=mode)
    assert out.shape == (2, 30, 5)
    assert np.allclose(out.detach().numpy(), ref, atol=1e-10)
    if p == 2.0:
        assert kt.autograd.gradcheck(lambda t: kt.cdist(t, kt.tensor(b), compute_mode=mode),
                                     (x,))


def test_cdist_zero_distance_has_zero_gradient_and_checks():
    z = kt.zeros(30, 3, dtype=kt.float64, requires_grad=True)
    kt.cdist(z, kt.zeros(2, 3, dtype=kt.float64)).sum().backward()
    assert float(z.grad.abs().sum()) == 0.0
    assert kt.cdist(kt.randn(4, 3), kt.randn(5, 3)).dtype == kt.float32
    with pytest.raises(RuntimeError, match="same number of columns"):
        kt.cdist(kt.randn(4, 3), kt.randn(5, 2))
    with pytest.raises(RuntimeError, match="at least 2D"):
        kt.cdist(kt.randn(3), kt.randn(5, 3))


# ------------------------------------------------------------------------- print options

@pytest.fixture
def printopts():
    yield
    kt.set_printoptions(profile="default")


def test_printoptions_defaults_are_pytorchs(printopts):
    from ktrain import _tensor

    assert _tensor.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                          "linewidth": 80, "sci_mode": None}
    assert repr(kt.tensor([1 / 3, 2.0])) == "tensor([0.3333, 2.0000])"


def test_set_printoptions_changes_repr(printopts):
    from ktrain import _tensor

    kt.set_printoptions(precision=2)
    assert repr(kt.tensor([1 / 3, 2.0])) == "tensor([0.33, 2.00])"
    assert _tensor.PRINT_OPTS.precision == 2
    kt.set_printoptions(sci_mode=True, precision=3)
    assert repr(kt.tensor([1.5, 2.0])) == "tensor([1.500e+00, 2.000e+00])"
    kt.set_printoptions(sci_mode=False)
    assert repr(kt.tensor([1e-6, 1.0])) == "tensor([0.000, 1.000])"
    kt.set_printoptions(profile="default", threshold=5, edgeitems=1)
    assert repr(kt.arange(10)) == "tensor([0, ..., 9])"
    kt.set_printoptions(profile="full")
    assert "..." not in repr(kt.arange(2000))
    kt.set_printoptions(profile="short")
    assert repr(kt.tensor([1 / 3])) == "tensor([0.33])"
    assert "..." in str(kt.arange(2000)) and str(kt.arange(2000)).count(",") == 4
    kt.set_printoptions(profile="default", linewidth=20)
    assert max(len(line) for line in repr(kt.arange(30) * 1000).splitlines()) <= 20
    with pytest.raises(ValueError, match="profile"):
        kt.set_printoptions(profile="long")


# ------------------------------------------------------------------------------ backends

def test_backends_report_honestly():
    import ktrain.backends as bk
    from ktrain import _backend

    assert kt.backends is bk
    assert bk.cpu.get_cpu_capability() in ("AVX512", "AVX2", "VSX", "Z VECTOR", "DEFAULT")
    assert bk.cuda.is_built() == (_backend.cupy_version() is not None)
    assert bk.cudnn.is_available() == (bk.cudnn.version() is not None)
    if _backend.cupy_module() is None:
        assert bk.cudnn.version() is None and not bk.cudnn.is_available()
    assert bk.mps.is_available() is False and bk.mps.is_built() is False
    assert bk.mkldnn.is_available() is False
    assert isinstance(bk.openmp.is_available(), bool)
    assert isinstance(bk.mkl.is_available(), bool)


def test_backend_flags_are_settable_like_pytorchs(monkeypatch):
    import ktrain.backends as bk

    assert (bk.cudnn.enabled, bk.cudnn.benchmark, bk.cudnn.deterministic) == (True, False, False)
    monkeypatch.setattr(bk.cudnn, "benchmark", True)
    monkeypatch.setattr(bk.cudnn, "deterministic", True)
    assert kt.backends.cudnn.benchmark is True
    with bk.cudnn.flags(enabled=False, benchmark=False):
        assert bk.cudnn.enabled is False and bk.cudnn.benchmark is False
    assert bk.cudnn.enabled is True and bk.cudnn.benchmark is True
    monkeypatch.setattr(bk.cuda.matmul, "allow_tf32", True)
    assert bk.cuda.matmul.allow_tf32 is True
    assert bk.cuda.flash_sdp_enabled() is True


# ------------------------------------------------------------------- moved, same objects

def test_old_paths_give_the_same_objects():
    from ktrain import _tensor, _tensor_str, creation
    from ktrain.autograd import hooks
    from ktrain.utils import hooks as old_hooks

    assert old_hooks.RemovableHandle is hooks.RemovableHandle
    assert kt.utils.hooks.RemovableHandle is hooks.RemovableHandle
    assert creation._size_arg is _tensor._size_arg
    assert _tensor.set_printoptions is _tensor_str.set_printoptions is kt.set_printoptions
    assert _tensor.PRINT_OPTS is _tensor_str.PRINT_OPTS


def test_methods_attached_by_higher_modules():
    x = kt.zeros(3, requires_grad=True) * 1
    x.fill_(2.0)  # a number: the old values' history is dropped
    assert x.grad_fn is None and x.tolist() == [2.0, 2.0, 2.0]
    x.copy_(kt.ones(3, requires_grad=True))
    assert x.grad_fn is not None and x.tolist() == [1.0, 1.0, 1.0]
    v = kt.tensor(3.0, requires_grad=True)
    y = kt.zeros(2) * 1
    y.fill_(v)
    y.sum().backward()
    assert float(v.grad) == 2.0
    t = kt.ones(2, dtype=kt.float64).new_tensor([1, 2])
    assert t.dtype == kt.float64
    assert kt.Tensor([1, 2]).dtype == kt.float32


def test_register_method_attaches_dunders_inplace_and_properties():
    from ktrain._tensor import Tensor, register_method

    calls = []

    def probe(self, other=None):
        calls.append(other)
        return self

    try:
        register_method("__matmul_probe__", "_probe_")(probe)
        register_method("probe_prop")(property(lambda self: "p"))
        t = kt.ones(1)
        assert t.__matmul_probe__(3) is t and t._probe_() is t and calls == [3, None]
        assert t.probe_prop == "p"
    finally:
        for n in ("__matmul_probe__", "_probe_", "probe_prop"):
            delattr(Tensor, n)


def test_engine_brackets_run_around_backward_even_on_error():
    from ktrain.autograd import engine

    seen = []
    h = engine.register_backward_bracket(lambda: seen.append("start"), lambda: seen.append("end"))
    try:
        x = kt.ones(2, requires_grad=True)
        (x * 2).sum().backward()
        assert seen == ["start", "end"]
        y = (x * 2).sum()
        y.grad_fn.register_prehook(lambda g: (_ for _ in ()).throw(ValueError("boom")))
        with pytest.raises(ValueError):
            y.backward()
        assert seen == ["start", "end", "start", "end"]
    finally:
        h.remove()
    (kt.ones(1, requires_grad=True) * 1).sum().backward()
    assert len(seen) == 4


def test_backward_runs_in_forward_dtypes_under_autocast():
    w = kt.randn(4, 4, requires_grad=True)
    with kt.autocast("cpu", dtype=kt.bfloat16):
        y = (kt.randn(2, 4) @ w).float().exp().sum()
        from ktrain.amp import autocast_mode

        seen = []
        h = __import__("ktrain.autograd.engine", fromlist=["x"]).register_backward_bracket(
            lambda: seen.append(autocast_mode.STATE.active), lambda: None)
        try:
            y.backward()
        finally:
            h.remove()
    assert seen == [False]  # the amp bracket ran first: autocast is off during backward
    assert w.grad.dtype == kt.float32
