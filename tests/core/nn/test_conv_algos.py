"""ktrain.backends.conv: forcing, benchmark mode's per-key cache, the heuristic, errors."""
from __future__ import annotations

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn.functional as F
from ktrain.backends import conv as algo
from ktrain.ops import conv as C


@pytest.fixture(autouse=True)
def restore():
    old = algo.algorithm, algo.benchmark
    algo.clear_cache()
    try:
        yield
    finally:
        algo.algorithm, algo.benchmark = old
        algo.clear_cache()


def counting(monkeypatch):
    calls = []
    orig_w, orig_i = C._wino_forward, C._im2col_forward
    monkeypatch.setattr(C, "_wino_forward", lambda *a: (calls.append("winograd"), orig_w(*a))[1])
    monkeypatch.setattr(C, "_im2col_forward", lambda *a: (calls.append("im2col"), orig_i(*a))[1])
    return calls


def step(x, w, **kw):
    xt = kt.tensor(x, requires_grad=True)
    y = F.conv2d(xt, kt.tensor(w, requires_grad=True), **kw)
    y.sum().backward()
    return np.asarray(y.detach()), np.asarray(xt.grad)


def test_forced_algorithm_is_used(monkeypatch):
    calls = counting(monkeypatch)
    x, w = np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3))
    algo.algorithm = "winograd"
    step(x, w, padding=1)
    assert calls == ["winograd", "winograd"]  # forward and the input gradient's conv
    calls.clear()
    algo.algorithm = "im2col"
    step(x, w, padding=1)
    assert calls == ["im2col", "im2col"]


def test_winograd_only_where_it_applies(monkeypatch):
    calls = counting(monkeypatch)
    algo.algorithm = "winograd"
    x = np.ones((1, 2, 7, 7))
    step(x, np.ones((3, 2, 3, 3)), padding=1, stride=2)   # strided: im2col forward + col2im
    step(x, np.ones((3, 2, 5, 5)), padding=2)             # 5x5
    step(x, np.ones((4, 1, 3, 3)), padding=1, groups=2)   # grouped
    step(x, np.ones((3, 2, 3, 3)), dilation=2, padding=2)               # dilated
    assert "winograd" not in calls


def test_default_heuristic_is_im2col(monkeypatch):
    calls = counting(monkeypatch)
    algo.algorithm = None
    algo.benchmark = False
    step(np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3)), padding=1)
    assert set(calls) == {algo.heuristic(None)}


def test_benchmark_times_once_per_key_and_caches(monkeypatch):
    calls = counting(monkeypatch)
    algo.algorithm = None
    algo.benchmark = True
    x, w = np.random.default_rng(0).standard_normal((2, 3, 8, 8)), np.ones((4, 3, 3, 3))
    ref = C._im2col_forward(np, x, w, None, C._Geom((3, 3), (1, 1), (1, 1), ((1, 1),) * 2, 1),
                            False)[0]
    calls.clear()
    y1, _ = step(x, w, padding=1)
    assert sorted(calls[:2]) == ["im2col", "winograd"]        # forward: both timed
    keys = [k for k in algo.cache if k[0] == "forward"]
    assert len(keys) == 1 and algo.cache[keys[0]] in algo.ALGORITHMS
    n_first = len(calls)
    calls.clear()
    y2, _ = step(x, w, padding=1)
    assert len(calls) < n_first and len(calls) == 2   # cached: one run each pass
    np.testing.assert_allclose(y1, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y2, ref, rtol=1e-12, atol=1e-12)


def test_unknown_algorithm_is_a_clear_error():
    algo.algorithm = "fft"
    with pytest.raises(ValueError, match="im2col"):
        step(np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3)), padding=1)


def test_saved_buffer_goes_back_to_the_pool():
    algo.algorithm = "winograd"
    C._POOL.clear()
    x = kt.tensor(np.ones((2, 16, 32, 32), np.float32), requires_grad=True)
    w = kt.tensor(np.ones((16, 16, 3, 3), np.float32), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert C._POOL._bytes > 0   # V and the GEMM outputs were recycled


def test_weight_grad_chosen_on_its_own(monkeypatch):
    """A Winograd forward's V serves the Winograd weight gradient; with im2col chosen for
    the weight gradient it is not used and the result is the same."""
    calls = []
    orig = C._wino_weight_grad
    monkeypatch.setattr(C, "_wino_weight_grad", lambda *a: (calls.append(a[-1]), orig(*a))[1])
    rng = np.random.default_rng(1)
    grads = []
    for back in ("winograd", "im2col"):
        algo.algorithm = "winograd"
        x = kt.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
        w = kt.tensor(np.arange(54.0).reshape(2, 3, 3, 3) / 50, requires_grad=True)
        y = F.conv2d(x, w, padding=1)
        algo.algorithm = back
        y.sum().backward()
        grads.append(np.asarray(w.grad))
        rng = np.random.default_rng(1)
    assert len(calls) == 1 and isinstance(calls[0], C._Saved)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)
