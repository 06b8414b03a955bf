"""Resampling (ktrain.nn.functional.vision, ktrain.nn.modules.upsampling): interpolate
against per-pixel loop references written from PyTorch's formulas, gradients against
finite differences, pixel (un)shuffle, modules and errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn as nn
import ktrain.nn.functional as F
from ktrain.autograd import gradcheck, gradgradcheck


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def D(*shape, seed=0):
    return kt.tensor(rnd(*shape, seed=seed), requires_grad=True)


def N(t):
    return np.asarray(t.detach())


# ---------------------------------------------------------------------- loop references


def scale_of(n_in, n_out, sf, align_corners=False):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / sf if sf else n_in / n_out


def ref_nearest(x, out, sf=(None, None), exact=False):
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out))
    sh = np.float32(scale_of(h, out[0], sf[0]))
    sw = np.float32(scale_of(w, out[1], sf[1]))
    off = np.float32(0.5 if exact else 0.0)
    for i in range(out[0]):
        r = i if out[0] == h else min(int(math.floor(np.float32(i + off) * sh)), h - 1)
        for j in range(out[1]):
            q = j if out[1] == w else min(int(math.floor(np.float32(j + off) * sw)), w - 1)
            y[:, :, i, j] = x[:, :, r, q]
    return y


def src_linear(i, n_in, n_out, sf, ac):
    if n_in == n_out and not ac:
        return i, i, 0.0
    s = scale_of(n_in, n_out, sf, ac)
    src = s * i if ac else max(s * (i + 0.5) - 0.5, 0.0)
    i0 = min(int(math.floor(src)), n_in - 1)
    lam = min(max(src - i0, 0.0), 1.0)
    return i0, i0 + (i0 < n_in - 1), lam


def ref_bilinear(x, out, ac, sf=(None, None)):
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out))
    for i in range(out[0]):
        r0, r1, a = src_linear(i, h, out[0], sf[0], ac)
        for j in range(out[1]):
            q0, q1, b = src_linear(j, w, out[1], sf[1], ac)
            y[:, :, i, j] = ((1 - a) * ((1 - b) * x[:, :, r0, q0] + b * x[:, :, r0, q1])
                             + a * ((1 - b) * x[:, :, r1, q0] + b * x[:, :, r1, q1]))
    return y


def cubic_weights(t, a=-0.75):
    def c1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def c2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]


def ref_bicubic(x, out, ac):
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out))

    def taps(i, n_in, n_out):
        s = scale_of(n_in, n_out, None, ac)
        src = s * i if ac else s * (i + 0.5) - 0.5
        i0 = min(int(math.floor(src)), n_in - 1)
        t = min(max(src - i0, 0.0), 1.0)
        return [min(max(i0 - 1 + k, 0), n_in - 1) for k in range(4)], cubic_weights(t)

    for i in range(out[0]):
        rs, wr = taps(i, h, out[0])
        for j in range(out[1]):
            qs, wq = taps(j, w, out[1])
            y[:, :, i, j] = sum(wr[a] * wq[b] * x[:, :, rs[a], qs[b]]
                                for a in range(4) for b in range(4))
    return y


# ---------------------------------------------------------------------- interpolate


@pytest.mark.parametrize("kw,out,sf", [
    (dict(scale_factor=2), (12, 14), (2.0, 2.0)),
    (dict(size=(5, 9)), (5, 9), (None, None)),
    (dict(scale_factor=(0.5, 1.7)), (3, 11), (0.5, 1.7)),
    (dict(scale_factor=1.3, recompute_scale_factor=True), (7, 9), (None, None)),
    (dict(size=(6, 7)), (6, 7), (None, None)),
])
def test_nearest(kw, out, sf):
    x = rnd(2, 3, 6, 7)
    y = F.interpolate(kt.tensor(x), **kw)
    np.testing.assert_array_equal(N(y), ref_nearest(x, out, sf))
    y = F.interpolate(kt.tensor(x), mode="nearest-exact", **kw)
    np.testing.assert_array_equal(N(y), ref_nearest(x, out, sf, exact=True))


@pytest.mark.parametrize("ac", [False, True])
@pytest.mark.parametrize("kw,out,sf", [
    (dict(scale_factor=2), (12, 14), (2.0, 2.0)),
    (dict(size=(5, 9)), (5, 9), (None, None)),
    (dict(scale_factor=(0.5, 1.7)), (3, 11), (0.5, 1.7)),
    (dict(size=(1, 7)), (1, 7), (None, None)),
])
def test_bilinear(ac, kw, out, sf):
    x = rnd(2, 3, 6, 7)
    y = F.interpolate(kt.tensor(x), mode="bilinear", align_corners=ac, **kw)
    np.testing.assert_allclose(N(y), ref_bilinear(x, out, ac, sf), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ac", [False, True])
@pytest.mark.parametrize("out", [(12, 14), (4, 9)])
def test_bicubic(ac, out):
    x = rnd(1, 2, 6, 7)
    y = F.interpolate(kt.tensor(x), size=out, mode="bicubic", align_corners=ac)
    np.testing.assert_allclose(N(y), ref_bicubic(x, out, ac), rtol=1e-12, atol=1e-12)


def test_linear_1d_and_area():
    x = rnd(2, 3, 6)
    for ac in (False, True):
        y = F.interpolate(kt.tensor(x), scale_factor=2.5, mode="linear", align_corners=ac)
        ref = ref_bilinear(x[:, :, None], (1, 15), ac, (None, 2.5))[:, :, 0]
        np.testing.assert_allclose(N(y), ref, rtol=1e-12, atol=1e-12)
    y = F.interpolate(kt.tensor(x), size=4, mode="nearest")
    np.testing.assert_array_equal(N(y), ref_nearest(x[:, :, None], (1, 4))[:, :, 0])
    x2 = rnd(2, 3, 6, 7)
    np.testing.assert_allclose(N(F.interpolate(kt.tensor(x2), size=(3, 4), mode="area")),
                               N(F.adaptive_avg_pool2d(kt.tensor(x2), (3, 4))))


def test_float32_preserved():
    x = kt.randn(2, 3, 5, 5, requires_grad=True)
    for mode, ac in [("nearest", None), ("bilinear", False), ("bicubic", True)]:
        y = F.interpolate(x, scale_factor=2, mode=mode, align_corners=ac)
        assert y.dtype == kt.float32
        y.sum().backward()
        assert x.grad.dtype == kt.float32
        x.grad = None


@pytest.mark.parametrize("mode,ac,kw", [
    ("nearest", None, dict(scale_factor=2)),
    ("nearest", None, dict(size=(3, 5))),
    ("nearest-exact", None, dict(size=(5, 3))),
    ("bilinear", False, dict(scale_factor=2)),
    ("bilinear", True, dict(size=(3, 7))),
    ("bicubic", False, dict(size=(5, 5))),
    ("area", None, dict(size=(2, 3))),
])
def test_interpolate_gradcheck(mode, ac, kw):
    x = D(1, 2, 4, 4)
    assert gradcheck(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw), (x,))


def test_interpolate_gradgradcheck_and_linear_grad():
    x = D(1, 1, 3, 4)
    assert gradgradcheck(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (x,))
    assert gradgradcheck(lambda x: F.interpolate(x, size=(5, 2)), (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=7, mode="linear", align_corners=True),
                     (D(1, 2, 4),))


def test_nearest_backward_sums_duplicates():
    x = kt.tensor(rnd(1, 1, 2, 3), requires_grad=True)
    F.interpolate(x, scale_factor=2).sum().backward()
    np.testing.assert_array_equal(N(x.grad), np.full((1, 1, 2, 3), 4.0))


# ---------------------------------------------------------------------- pixel shuffle


def test_pixel_shuffle_and_unshuffle():
    x = rnd(2, 8, 3, 4)
    y = N(F.pixel_shuffle(kt.tensor(x), 2))
    assert y.shape == (2, 2, 6, 8)
    for c in range(2):
        for i in range(6):
            for j in range(8):
                assert y[0, c, i, j] == x[0, c * 4 + (i % 2) * 2 + (j % 2), i // 2, j // 2]
    np.testing.assert_array_equal(N(F.pixel_unshuffle(kt.tensor(y), 2)), x)
    assert F.pixel_shuffle(kt.tensor(rnd(3, 2, 9, 2, 2)), 3).shape == (3, 2, 1, 6, 6)
    assert gradcheck(lambda x: F.pixel_shuffle(x, 2), (D(1, 4, 2, 3),))
    assert gradcheck(lambda x: F.pixel_unshuffle(x, 2), (D(1, 1, 4, 2),))


# ---------------------------------------------------------------------- modules


def test_modules_and_reprs():
    x = kt.tensor(rnd(1, 2, 3, 4))
    up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    assert repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    np.testing.assert_allclose(N(up(x)), ref_bilinear(N(x), (6, 8), False, (2.0, 2.0)),
                               rtol=1e-12)
    assert repr(nn.Upsample(size=(5, 5))) == "Upsample(size=(5, 5), mode='nearest')"
    assert repr(nn.UpsamplingNearest2d(scale_factor=3)) == \
        "UpsamplingNearest2d(scale_factor=3.0, mode='nearest')"
    ub = nn.UpsamplingBilinear2d(size=(5, 7))
    assert repr(ub) == "UpsamplingBilinear2d(size=(5, 7), mode='bilinear')"
    np.testing.assert_allclose(N(ub(x)), ref_bilinear(N(x), (5, 7), True), rtol=1e-12)
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(2)) == "PixelUnshuffle(downscale_factor=2)"
    assert nn.PixelShuffle(2)(kt.randn(1, 8, 2, 2)).shape == (1, 2, 4, 4)
    assert nn.PixelUnshuffle(2)(kt.randn(1, 2, 4, 4)).shape == (1, 8, 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert F.upsample(x, scale_factor=2).shape == (1, 2, 6, 8)
        assert F.upsample_bilinear(x, size=(5, 7)).shape == (1, 2, 5, 7)
        assert F.upsample_nearest(x, size=(5, 7)).shape == (1, 2, 5, 7)


# ---------------------------------------------------------------------- errors


def test_errors():
    x = kt.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 4D input, but linear mode needs 3D"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        F.interpolate(kt.randn(1, 2, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, size=(2, 3, 4))
    with pytest.raises(NotImplementedError, match="unknown mode"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(kt.randn(1, 5, 2, 2), 2)
    with pytest.raises(RuntimeError, match="at least 3 dimensions"):
        F.pixel_unshuffle(kt.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match="divisible by downscale_factor"):
        F.pixel_unshuffle(kt.randn(1, 1, 5, 4), 2)
