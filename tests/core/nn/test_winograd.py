"""Winograd F(2x2, 3x3) convolution (ops.winograd through ops.conv): forward and both
gradients against the im2col path over many shapes, kernel and numpy paths, the float32
error bound of the module docstring, float64 gradcheck, and that the kernels are taken."""
from __future__ import annotations

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn.functional as F
from ktrain import _fast
from ktrain.autograd import gradcheck, gradgradcheck
from ktrain.backends import conv as algo
from ktrain.backends import cpu
from ktrain.ops import conv as C
from ktrain.ops import winograd as W

EPS32 = 2.0 ** -24


@pytest.fixture(params=[True, False], ids=["kernels", "numpy"])
def fast(request):
    old = _fast._State.enabled
    cpu.set_fast_kernels(request.param)
    try:
        yield request.param
    finally:
        cpu.set_fast_kernels(old)


@pytest.fixture
def force():
    old, bench = algo.algorithm, algo.benchmark

    def set_(name):
        algo.algorithm = name

    try:
        yield set_
    finally:
        algo.algorithm, algo.benchmark = old, bench
        algo.clear_cache()


def run(x, w, b, pad, name, force, grad=True):
    """y, gx, gw, gb of conv2d through the algorithm ``name`` for a fixed gy."""
    force(name)
    xt = kt.tensor(x, requires_grad=True)
    wt = kt.tensor(w, requires_grad=True)
    bt = kt.tensor(b, requires_grad=True) if b is not None else None
    y = F.conv2d(xt, wt, bt, padding=pad)
    gy = np.random.default_rng(9).standard_normal(y.shape).astype(x.dtype)
    y.backward(kt.tensor(gy))
    return (np.asarray(y.detach()), np.asarray(xt.grad), np.asarray(wt.grad),
            None if bt is None else np.asarray(bt.grad))


SHAPES = [  # n, c, h, w, o, pad
    (2, 3, 7, 5, 4, 1), (1, 1, 2, 2, 1, 1), (3, 5, 8, 9, 2, 0), (2, 4, 5, 6, 3, 2),
    (1, 2, 3, 3, 1, 0), (2, 1, 1, 4, 5, 1), (4, 8, 16, 16, 8, 1), (2, 16, 32, 32, 8, 1),
    ((1, 3), 2, 6, 7, 3, 1),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_im2col_float64(shape, fast, force):
    n, c, h, wd, o, pad = shape
    rng = np.random.default_rng(1)
    x = rng.standard_normal(((n if isinstance(n, int) else n[0]), c, h, wd))
    w = rng.standard_normal((o, c, 3, 3))
    b = rng.standard_normal(o)
    ref = run(x, w, b, pad, "im2col", force)
    got = run(x, w, b, pad, "winograd", force)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-11 * max(1, abs(r).max()))


def test_non_contiguous_input(fast, force):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 9, 10)).transpose(0, 1, 3, 2)[:, ::2]
    w = rng.standard_normal((3, 4, 3, 3))
    ref = run(x, w, None, 1, "im2col", force)
    got = run(x, w, None, 1, "winograd", force)
    for r, g in zip(ref[:3], got[:3]):
        np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("shape,mag", [((4, 16, 32, 32, 16, 1), 1.0), ((2, 64, 8, 8, 32, 1), 1e3),
                                       ((3, 7, 11, 13, 5, 0), 1e-3),
                                       ((8, 32, 16, 16, 32, 2), 1.0)])
def test_float32_error_bound(shape, mag, fast, force):
    """The docstring's bound: forward/input grad 8 eps32 max|x| max|w| C 9, weight grad
    8 eps32 max|x| max|gy| N Ho Wo, against the float64 result."""
    n, c, h, wd, o, pad = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, c, h, wd)) * mag
    w = rng.standard_normal((o, c, 3, 3))
    y64, gx64, gw64, _ = run(x, w, None, pad, "winograd", force)
    y32, gx32, gw32, _ = run(x.astype(np.float32), w.astype(np.float32), None, pad,
                             "winograd", force)
    assert y32.dtype == np.float32 and gw32.dtype == np.float32
    gy = np.random.default_rng(9).standard_normal(y64.shape)  # what run() used
    ho, wo = y64.shape[2:]
    assert abs(y32 - y64).max() <= 8 * EPS32 * abs(x).max() * abs(w).max() * c * 9
    assert abs(gx32 - gx64).max() <= 8 * EPS32 * abs(gy).max() * abs(w).max() * o * 9
    assert abs(gw32 - gw64).max() <= 8 * EPS32 * abs(x).max() * abs(gy).max() * n * ho * wo


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_gradcheck_float64(pad, force):
    force("winograd")
    rng = np.random.default_rng(4)
    x = kt.tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True)
    w = kt.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    b = kt.tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda a, k, c: F.conv2d(a, k, c, padding=pad), (x, w, b))
    assert gradgradcheck(lambda a, k: F.conv2d(a, k, padding=pad), (x, w))


def test_variants_numpy_transforms_agree():
    """F(4x4) (numpy path, measurement only) and F(2x2) give the same conv."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 9, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    outs = []
    for v in (W.F2, W.F4):
        ho, wo = 9, 7
        th, tw = W.tiles(ho, wo, v)
        V = np.empty((v.P, 3, 2 * th * tw))
        W.input_transform(np, x, 1, 1, th, tw, V, v)
        M = np.matmul(W.filter_transform(np, w, v), V)
        y = np.empty((2, 4, ho, wo))
        W.output_transform(np, M, y, th, tw, v=v)
        outs.append(y)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-10)


def test_kernels_taken(monkeypatch, force):
    """Big contiguous float32 arrays go through the Numba kernels (when numba is here)."""
    if not _fast.available():
        pytest.skip("numba not installed")
    old = _fast._State.enabled
    cpu.set_fast_kernels(True)
    calls = []
    for name in ("_k_input", "_k_output", "_k_gradout"):
        orig = getattr(W, name)
        monkeypatch.setattr(W, name, lambda *a, _o=orig, _n=name: (calls.append(_n), _o(*a))[1])
    try:
        run(np.ones((2, 8, 32, 32), np.float32), np.ones((8, 8, 3, 3), np.float32), None, 1,
            "winograd", force)
    finally:
        cpu.set_fast_kernels(old)
    assert {"_k_input", "_k_output", "_k_gradout"} <= set(calls)


@pytest.mark.parametrize("name", ["im2col", "winograd"])
def test_epilogue_keywords(name, fast, force):
    """_conv_forward's relu/scale/shift: relu((conv + b) * scale + shift)."""
    force(name)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 8, 32, 32)).astype(np.float32)
    w = rng.standard_normal((4, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    sc = rng.standard_normal(4).astype(np.float32)
    sh = rng.standard_normal(4).astype(np.float32)
    g = C._Geom((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
    y0 = C._conv_forward(x, w, b, g, False)[0]
    ref = np.maximum(y0 * sc.reshape(4, 1, 1) + sh.reshape(4, 1, 1), 0)
    for kw, r in [(dict(relu=True), np.maximum(y0, 0)),
                  (dict(scale=sc, shift=sh), y0 * sc.reshape(4, 1, 1) + sh.reshape(4, 1, 1)),
                  (dict(scale=sc, shift=sh, relu=True), ref),
                  (dict(shift=sh), y0 + sh.reshape(4, 1, 1))]:
        y = C._conv_forward(x, w, b, g, False, **kw)[0]
        np.testing.assert_allclose(y, r, rtol=1e-5, atol=1e-4)
