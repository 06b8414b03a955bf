"""ktrain.amp: autocast state and the cast_inputs hook; GradScaler against PyTorch's numbers."""
import io
import pickle
import threading
import warnings

import ktrain as kt
import numpy as np
import pytest
from ktrain.amp import GradScaler, OptState, autocast
from ktrain.amp import autocast_mode as am
from ktrain.amp.autocast_mode import cast_inputs

HAS_BF16 = kt.bfloat16.np is not None
HAS_CUDA = kt.cuda.is_available()
needs_bf16 = pytest.mark.skipif(not HAS_BF16, reason="bfloat16 needs ml_dtypes")
LOW = [kt.float16, pytest.param(kt.bfloat16, marks=needs_bf16)]


def state(dev="cpu"):
    return am.is_autocast_enabled(dev), am.get_autocast_dtype(dev)


# ----------------------------------------------------------------------------- autocast state


def test_default_dtypes_and_initial_state():
    assert am.get_autocast_dtype("cpu") is kt.bfloat16
    assert am.get_autocast_dtype("cuda") is kt.float16
    assert not am.is_autocast_enabled("cpu") and not am.is_autocast_enabled()
    assert autocast("cuda", enabled=False).fast_dtype is kt.float16
    if HAS_BF16:
        assert autocast("cpu").fast_dtype is kt.bfloat16
    assert autocast("cpu", dtype="float16").fast_dtype is kt.float16
    assert kt.amp.autocast is autocast


@needs_bf16
def test_context_enters_nests_and_restores():
    with autocast("cpu") as ac:
        assert isinstance(ac, autocast)
        assert state() == (True, kt.bfloat16) and am.STATE.active
        assert not am.is_autocast_enabled()  # no argument: cuda, as torch.is_autocast_enabled()
        with autocast("cpu", dtype=kt.float16):
            assert state() == (True, kt.float16)
            with autocast("cpu", enabled=False):
                assert state() == (False, kt.float16) and not am.STATE.active
                assert cast_inputs("matmul", kt.ones(2))[0].dtype is kt.float32
            assert state() == (True, kt.float16)
        assert state() == (True, kt.bfloat16)
    assert state() == (False, kt.bfloat16) and not am.STATE.active
    with pytest.raises(KeyError):  # an exception inside still restores the state
        with autocast("cpu", dtype=kt.float16):
            raise KeyError("x")
    assert state() == (False, kt.bfloat16) and am.STATE.nesting == 0


def test_decorator_form_and_recursion():
    @autocast("cpu", dtype=kt.float16)
    def f(depth):
        inner = f(depth - 1) if depth else None
        return state(), inner

    outer, inner = f(1)
    assert outer == (True, kt.float16) and inner[0] == (True, kt.float16)
    assert state()[0] is False

    @autocast("cpu", dtype=kt.float16, enabled=False)
    def g():
        return state()[0]

    with autocast("cpu", dtype=kt.float16):
        assert g() is False and state()[0] is True
    with pytest.raises(TypeError, match="requires a callable"):
        autocast("cpu", dtype=kt.float16)(3)


def test_state_is_thread_local():
    seen = {}

    def worker():
        seen["before"] = state()
        with autocast("cpu", dtype=kt.float16):
            seen["inside"] = state()
            seen["any"] = am.ANY_ACTIVE
            barrier.wait()  # the main thread checks its own state meanwhile
            barrier.wait()

    barrier = threading.Barrier(2)
    t = threading.Thread(target=worker)
    with autocast("cpu", dtype=kt.float16, enabled=False):
        t.start()
        barrier.wait()
        assert state()[0] is False  # the worker's region does not leak here
        barrier.wait()
    t.join()
    assert seen["before"] == (False, kt.bfloat16)  # a new thread starts with defaults
    assert seen["inside"] == (True, kt.float16)
    assert seen["any"] == 1 and am.ANY_ACTIVE == 0  # the process-wide "maybe" counter


def test_bad_arguments():
    with pytest.raises(ValueError, match="of type `str`"):
        autocast(kt.device("cpu"))
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        autocast("tpu")
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        ac = autocast("cpu", dtype=kt.float32)
    with ac:
        assert not am.is_autocast_enabled("cpu")


@pytest.mark.skipif(HAS_CUDA, reason="checks the no-CUDA fallback")
def test_cuda_without_gpu_warns_and_disables():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ac = autocast("cuda")
    with ac:
        assert not am.is_autocast_enabled("cuda") and not am.STATE.active


def test_bfloat16_without_ml_dtypes_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(kt.bfloat16, "np", None)
    with pytest.raises(RuntimeError, match="ml_dtypes"):
        autocast("cpu")
    autocast("cpu", dtype=kt.float16)  # float16 needs nothing extra


# ----------------------------------------------------------------------------- cast_inputs


def test_cast_inputs_is_identity_when_off():
    a, b = kt.ones(2), kt.ones(2, dtype=kt.float64)
    out = cast_inputs("matmul", a, b)
    assert out[0] is a and out[1] is b
    with autocast("cpu", dtype=kt.float16, enabled=False):
        assert cast_inputs("matmul", a)[0] is a


@pytest.mark.parametrize("low", LOW)
def test_cast_inputs_policies(low):
    f32 = kt.randn(2, 3)
    f64 = kt.randn(2, 3, dtype=kt.float64)
    i64 = kt.arange(6).reshape(2, 3)
    with autocast("cpu", dtype=low):
        lowered = f32.to(low)
        for op in ("matmul", "mm", "bmm", "linear", "conv1d", "conv2d", "conv_transpose1d",
                   "conv_transpose2d", "baddbmm", "addmm", "einsum"):
            a, b, c, d, e = cast_inputs(op, f32, f64, i64, None, 2.5)
            assert a.dtype is low and b is f64 and c is i64 and d is None and e == 2.5
        np.testing.assert_array_equal(np.asarray(a.float()), np.asarray(lowered.float()))
        for op in ("softmax", "log_softmax", "cross_entropy", "nll_loss", "layer_norm",
                   "batch_norm", "group_norm", "exp", "log", "sum", "mean", "mse_loss", "norm"):
            a, b, c = cast_inputs(op, lowered, f64, i64)
            assert a.dtype is kt.float32 and b is f64 and c is i64
            assert cast_inputs(op, f32)[0] is f32  # already float32: no copy
        assert cast_inputs("relu", lowered)[0] is lowered  # not listed: unchanged
        assert cast_inputs("add", f32, lowered) == (f32, lowered)
        a, b = cast_inputs("cat", lowered, f32)  # promote: the widest
        assert a.dtype is kt.float32 and b is f32
        a, b = cast_inputs("stack", lowered, f64)
        assert a.dtype is kt.float64 and b is f64
        assert cast_inputs("cat", lowered, lowered)[0] is lowered


def test_suspend_for_backward():
    f32 = kt.randn(2)
    with autocast("cpu", dtype=kt.float16):
        am.STATE.suspend()  # what the backward engine does around its walk
        try:
            assert cast_inputs("matmul", f32)[0] is f32 and not am.STATE.active
            with autocast("cpu", dtype=kt.float16):  # stays suspended inside
                assert cast_inputs("matmul", f32)[0] is f32
        finally:
            am.STATE.resume()
        assert cast_inputs("matmul", f32)[0].dtype is kt.float16
    assert am.ANY_ACTIVE == 0 and not am.STATE.active


def test_cast_inputs_ignores_other_device_types():
    f32 = kt.randn(2)
    with autocast("cuda", enabled=False):
        pass
    am.set_autocast_enabled("cuda", True)  # cuda on, cpu off: cpu tensors are not touched
    try:
        assert am.STATE.active
        assert cast_inputs("matmul", f32)[0] is f32
    finally:
        am.set_autocast_enabled("cuda", False)
    assert not am.STATE.active


@pytest.mark.parametrize("low", LOW)
def test_end_to_end_matmul_gradients_in_float32(low):
    def matmul(a, b):  # what ops/linalg.py does with the hook
        a, b = cast_inputs("matmul", a, b)
        return kt.matmul(a, b)

    def total(x):
        (x,) = cast_inputs("sum", x)
        return x.sum()

    rng = np.random.default_rng(0)
    xa = rng.standard_normal((5, 4)).astype(np.float32)
    wa = rng.standard_normal((4, 3)).astype(np.float32)
    x, w = kt.tensor(xa, requires_grad=True), kt.tensor(wa, requires_grad=True)
    with autocast("cpu", dtype=low):
        y = matmul(x, w)
        loss = total(y)
        assert loss.dtype is kt.float32
    loss.backward()
    assert w.grad.dtype is kt.float32 and x.grad.dtype is kt.float32
    tol = 1e-2 if low is kt.float16 else 5e-2
    np.testing.assert_allclose(np.asarray(w.grad), xa.T @ np.ones((5, 3), np.float32),
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(x.grad), np.ones((5, 3), np.float32) @ wa.T,
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(float(loss), float((xa @ wa).sum()), rtol=tol, atol=5 * tol)
    if low is kt.float16:
        assert y.dtype is kt.float16


@needs_bf16
def test_bfloat16_matmul_output_dtype():
    a = kt.randn(3, 3)
    with autocast("cpu", dtype=kt.bfloat16):
        assert kt.matmul(*cast_inputs("matmul", a, a)).dtype is kt.bfloat16


def test_weight_cast_cache():
    w = kt.randn(3, 3, requires_grad=True)
    act = kt.randn(3, 3).requires_grad_()
    nonleaf = w * 2
    with autocast("cpu", dtype=kt.float16):
        w1, = cast_inputs("matmul", w)
        w2, = cast_inputs("linear", w)
        assert w1 is w2  # a weight is cast once per region
        assert cast_inputs("matmul", nonleaf)[0] is not cast_inputs("matmul", nonleaf)[0]
        with kt.no_grad():
            w.add_(1.0)  # a new version must not be served from the cache
        w3, = cast_inputs("matmul", w)
        assert w3 is not w1
        np.testing.assert_allclose(np.asarray(w3.detach().float()),
                                   np.asarray(w.detach()), rtol=1e-3)
        with autocast("cpu", dtype=kt.float16, cache_enabled=False):
            assert cast_inputs("matmul", w)[0] is not cast_inputs("matmul", w)[0]
        assert cast_inputs("matmul", act)[0] is cast_inputs("matmul", act)[0]
    assert not am.STATE.cache  # cleared when the outermost region exits
    with autocast("cpu", dtype=kt.float16):
        assert cast_inputs("matmul", w)[0] is not w3


# ----------------------------------------------------------------------------- GradScaler


class StubSGD:
    """PyTorch's optimizer interface, no more: param_groups and step (p -= lr * grad)."""

    def __init__(self, params, lr=0.1):
        self.param_groups = [{"params": list(params), "lr": lr}]
        self.calls = 0

    def step(self, *args, **kwargs):
        self.calls += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p._data -= np.float32(group["lr"]) * p.grad._data
        return ("stepped", args, kwargs)

    def zero_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None


def param(values, dtype=kt.float32):
    return kt.tensor(values, dtype=dtype, requires_grad=True)


def test_scale_outputs():
    sc = GradScaler("cpu")
    loss = kt.tensor(1.5)
    out = sc.scale(loss)
    assert out.dtype is kt.float32 and float(out) == 1.5 * 65536
    nested = sc.scale([kt.tensor(1.0), (kt.tensor(2.0), [kt.tensor(3.0)])])
    assert isinstance(nested, list) and isinstance(nested[1], tuple)
    assert [float(nested[0]), float(nested[1][0]), float(nested[1][1][0])] == \
        [65536.0, 131072.0, 196608.0]
    assert float(sc.scale({"a": kt.tensor(1.0)})["a"]) == 65536.0
    with pytest.raises(ValueError, match="iterable of Tensors"):
        sc.scale(3.0)
    off = GradScaler("cpu", enabled=False)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and not off.is_enabled()
    assert sc.is_enabled() and sc.get_scale() == 65536.0


def test_unscale_and_stage_errors():
    r = param([1.0, 2.0])
    opt = StubSGD([r], lr=1.0)
    sc = GradScaler("cpu")
    with pytest.raises(AssertionError, match="_scale is None"):
        sc.unscale_(opt)
    sc.scale((r * kt.tensor([3.0, -0.5])).sum()).backward()
    assert r.grad.tolist() == [196608.0, -32768.0]
    sc.unscale_(opt)
    assert r.grad.tolist() == [3.0, -0.5]
    assert sc._per_optimizer_states[id(opt)]["stage"] is OptState.UNSCALED
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        sc.unscale_(opt)
    assert sc.step(opt) == ("stepped", (), {})
    assert r.tolist() == [-2.0, 2.5]  # stepped with the unscaled grads, not unscaled twice
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        sc.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        sc.unscale_(opt)
    sc.update()
    assert sc.get_scale() == 65536.0 and sc._get_growth_tracker() == 1
    sc.update(4.0)
    assert sc.get_scale() == 4.0
    sc.update(kt.tensor(8.0))
    assert sc.get_scale() == 8.0
    with pytest.raises(AssertionError, match="new_scale"):
        sc.update(kt.tensor([1.0, 2.0]))


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -float("inf")])
def test_inf_or_nan_skips_the_step(bad):
    p, q = param([1.0, 2.0]), param([[3.0]])
    opt = StubSGD([p, q])
    sc = GradScaler("cpu", init_scale=1024.0)
    loss = (p * kt.tensor([1.0, bad])).sum() + q.sum()
    sc.scale(loss).backward()
    before = (p.tolist(), q.tolist())
    assert sc.step(opt, 7, key="v") is None
    assert opt.calls == 0 and (p.tolist(), q.tolist()) == before
    assert q.grad.tolist() == [[1.0]]  # grads were unscaled all the same
    sc.update()
    assert sc.get_scale() == 512.0 and sc._get_growth_tracker() == 0
    # a good step next: args and kwargs reach optimizer.step, its result comes back
    opt.zero_grad()
    sc.scale((p * 2).sum()).backward()
    assert sc.step(opt, 7, key="v") == ("stepped", (7,), {"key": "v"})
    np.testing.assert_allclose(p.tolist(), [0.8, 1.8], rtol=1e-6)


def test_schedule_matches_pytorch():
    # the same script run through torch.amp.GradScaler('cpu', ...) and torch.optim.SGD
    p = param([1.0, -2.0, 3.0])
    opt = StubSGD([p], lr=0.1)
    sc = GradScaler("cpu", init_scale=1000.0, growth_factor=3.0, backoff_factor=0.3,
                    growth_interval=3)
    flags = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0]
    scales, trackers, params = [], [], []
    for f in flags:
        opt.zero_grad()
        x = np.array([0.5, 0.25, -1.0], np.float32)
        if f == 1:
            x[1] = np.inf
        if f == 2:
            x[2] = np.nan
        sc.scale((p * kt.tensor(x)).sum()).backward()
        sc.step(opt)
        sc.update()
        scales.append(sc.get_scale())
        trackers.append(sc._get_growth_tracker())
        params.append(p.tolist())
    assert scales == [1000.0, 1000.0, 3000.0, 900.0, 900.0, 900.0, 2700.0, 2700.0, 2700.0,
                      8100.0, 2430.0, 729.0, 729.0, 729.0, 2187.0]
    assert trackers == [1, 2, 0, 0, 1, 2, 0, 1, 2, 0, 0, 0, 1, 2, 0]
    torch_params = [
        [0.949999988079071, -2.0250000953674316, 3.0999999046325684],
        [0.8999999761581421, -2.0500001907348633, 3.1999998092651367],
        [0.8499999642372131, -2.075000286102295, 3.299999713897705],
        [0.8499999642372131, -2.075000286102295, 3.299999713897705],
        [0.7999999523162842, -2.1000003814697266, 3.3999996185302734],
        [0.7499999403953552, -2.125000476837158, 3.499999523162842],
        [0.6999999284744263, -2.15000057220459, 3.59999942779541],
        [0.6499999165534973, -2.1750006675720215, 3.6999993324279785],
        [0.5999999046325684, -2.200000762939453, 3.799999237060547],
        [0.5499998927116394, -2.2250008583068848, 3.8999991416931152],
        [0.5499998927116394, -2.2250008583068848, 3.8999991416931152],
        [0.5499998927116394, -2.2250008583068848, 3.8999991416931152],
        [0.49999988079071045, -2.2500009536743164, 3.9999990463256836],
        [0.4499998688697815, -2.275001049041748, 4.099998950958252],
        [0.39999985694885254, -2.3000011444091797, 4.19999885559082]]
    np.testing.assert_allclose(params, torch_params, rtol=1e-6)
    assert sc.state_dict() == {"scale": 2187.0, "growth_factor": 3.0, "backoff_factor": 0.3,
                               "growth_interval": 3, "_growth_tracker": 0}


def test_growth_that_overflows_keeps_the_scale():
    q = param([1.0])
    opt = StubSGD([q])
    sc = GradScaler("cpu", init_scale=3.0e38, growth_interval=1)
    sc.scale(q.sum()).backward()
    sc.step(opt)
    sc.update()
    assert sc.get_scale() == 3.0000000054977558e+38 and sc._get_growth_tracker() == 0


def test_state_dict_round_trip_through_save_load():
    sc = GradScaler("cpu", init_scale=256.0, growth_factor=4.0, backoff_factor=0.25,
                    growth_interval=5)
    p = param([1.0])
    opt = StubSGD([p])
    for _ in range(2):
        opt.zero_grad()
        sc.scale(p.sum()).backward()
        sc.step(opt)
        sc.update()
    buf = io.BytesIO()
    kt.save({"scaler": sc.state_dict()}, buf)
    buf.seek(0)
    sd = kt.load(buf)["scaler"]
    assert sd == {"scale": 256.0, "growth_factor": 4.0, "backoff_factor": 0.25,
                  "growth_interval": 5, "_growth_tracker": 2}
    other = GradScaler("cpu")
    other.load_state_dict(sd)
    assert other.state_dict() == sd and other.get_scale() == 256.0
    for s in (sc, other):  # both continue identically: three more good steps grow the scale
        for _ in range(3):
            opt.zero_grad()
            s.scale(p.sum()).backward()
            s.step(opt)
            s.update()
    assert sc.state_dict() == other.state_dict() and other.get_scale() == 1024.0
    with pytest.raises(RuntimeError, match="empty"):
        other.load_state_dict({})
    off = GradScaler("cpu", enabled=False)
    assert off.state_dict() == {}
    off.load_state_dict(sd)  # a no-op


def test_per_optimizer_state_and_errors():
    a, b = param([1.0]), param([2.0])
    oa, ob = StubSGD([a]), StubSGD([b])
    sc = GradScaler("cpu", init_scale=2.0)
    sc.scale([a.sum(), b.sum() * float("inf")])[0].backward()
    sc.scale(b.sum() * float("inf")).backward()
    sc.step(oa)
    sc.step(ob)
    assert oa.calls == 1 and ob.calls == 0  # only b's optimizer saw an inf
    sc.update()
    assert sc.get_scale() == 1.0  # any inf in the iteration backs off
    with pytest.raises(RuntimeError, match="Closure"):
        sc.step(oa, closure=lambda: 0)
    empty = StubSGD([param([0.0])])
    with pytest.raises(AssertionError, match="No inf checks"):
        sc.step(empty)
    fresh = GradScaler("cpu")
    fresh.scale(kt.tensor(1.0))
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        fresh.update()
    h = param([1.0], dtype=kt.float16)
    h.grad = kt.ones(1, dtype=kt.float16)
    with pytest.raises(ValueError, match="FP16 gradients"):
        sc.unscale_(StubSGD([h]))
    with pytest.raises(AssertionError, match="growth factor"):
        GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="backoff factor"):
        GradScaler("cpu", backoff_factor=1.0)


def test_disabled_scaler_is_a_pass_through():
    p = param([1.0])
    opt = StubSGD([p], lr=1.0)
    sc = GradScaler("cpu", enabled=False)
    loss = p.sum()
    assert sc.scale(loss) is loss
    loss.backward()
    sc.unscale_(opt)
    assert sc.step(opt) == ("stepped", (), {}) and p.tolist() == [0.0]
    sc.update()


@pytest.mark.skipif(HAS_CUDA, reason="checks the no-CUDA fallback")
def test_cuda_scaler_without_gpu_warns_and_disables():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        sc = GradScaler()
    assert not sc.is_enabled()


@needs_bf16
def test_bfloat16_and_float64_gradients_are_unscaled():
    p = param([1.0, 2.0], dtype=kt.bfloat16)
    d = param([1.0], dtype=kt.float64)
    p.grad = kt.tensor([512.0, -1024.0], dtype=kt.bfloat16)
    d.grad = kt.tensor([256.0], dtype=kt.float64)
    opt = StubSGD([p, d], lr=0.0)
    sc = GradScaler("cpu", init_scale=256.0)
    sc.scale(kt.tensor(1.0))
    sc.unscale_(opt)
    assert p.grad.dtype is kt.bfloat16 and p.grad.float().tolist() == [2.0, -4.0]
    assert d.grad.dtype is kt.float64 and d.grad.tolist() == [1.0]


def test_pickle_between_iterations():
    sc = GradScaler("cpu", init_scale=64.0, growth_interval=7)
    p = param([1.0])
    opt = StubSGD([p])
    sc.scale(p.sum()).backward()
    sc.step(opt)
    with pytest.raises(AssertionError, match="pickled"):
        pickle.dumps(sc)
    sc.update()
    clone = pickle.loads(pickle.dumps(sc))
    assert clone.state_dict() == sc.state_dict()


def test_with_ktrain_optimizer():
    SGD = getattr(getattr(kt, "optim", None), "SGD", None)
    if SGD is None:
        pytest.skip("ktrain.optim.SGD is not available")
    w = kt.nn.Parameter(kt.tensor([1.0, -1.0])) if hasattr(kt, "nn") else param([1.0, -1.0])
    opt = SGD([w], lr=0.5)
    sc = GradScaler("cpu", init_scale=128.0)
    sc.scale((w * kt.tensor([2.0, 4.0])).sum()).backward()
    sc.step(opt)
    sc.update()
    np.testing.assert_allclose(w.detach().tolist(), [0.0, -3.0])
    opt.zero_grad()
    sc.scale((w * kt.tensor([float("nan"), 1.0])).sum()).backward()
    sc.step(opt)
    sc.update()
    np.testing.assert_allclose(w.detach().tolist(), [0.0, -3.0])
    assert sc.get_scale() == 64.0


def test_no_warnings_on_the_normal_path():
    p = param([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sc = GradScaler("cpu")
        sc.scale(p.sum()).backward()
        sc.step(StubSGD([p]))
        sc.update()
        with autocast("cpu", dtype=kt.float16):
            pass


def test_top_level_names():
    assert kt.autocast is autocast
    assert kt.is_autocast_enabled is am.is_autocast_enabled
    assert kt.get_autocast_dtype is am.get_autocast_dtype


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available: cuda variant skipped")
def test_cuda_autocast_and_scaler():
    x = kt.randn(4, 3, device="cuda", requires_grad=True)
    cpu = kt.randn(4, 3)
    with autocast("cuda"):
        a, b = cast_inputs("matmul", x, cpu)
        assert a.dtype is kt.float16 and a.is_cuda and b is cpu  # cpu tensors untouched
    p = kt.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    opt = StubSGD([p], lr=1.0)
    sc = GradScaler("cuda", init_scale=4.0)
    sc.scale((p * kt.tensor([1.0, float("inf")], device="cuda")).sum()).backward()
    sc.step(opt)
    sc.update()
    assert opt.calls == 0 and sc.get_scale() == 2.0 and p.tolist() == [1.0, 2.0]
    opt.zero_grad()
    sc.scale((p * 3).sum()).backward()
    sc.step(opt)
    sc.update()
    assert p.tolist() == [-2.0, -1.0]


@needs_bf16
def test_autocast_through_nn_layers_end_to_end():
    from ktrain import nn

    m = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 3))
    x, y = kt.randn(5, 4), kt.randint(0, 3, (5,))
    with autocast("cpu"):
        out = m(x)
        assert out.dtype is kt.bfloat16  # linear runs in the lower precision
        assert m[1](m[0](x)).dtype is kt.float32  # layer_norm runs in float32
        loss = nn.functional.cross_entropy(out, y)
        assert loss.dtype is kt.float32
    loss.backward()
    assert all(p.grad.dtype is kt.float32 for p in m.parameters())


@needs_bf16
def test_autocast_runs_exp_in_float32():
    with autocast("cpu"):
        assert kt.exp(kt.ones(3, dtype=kt.bfloat16)).dtype is kt.float32
