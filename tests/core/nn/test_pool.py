"""Pooling (ktrain.nn.functional.pool, ktrain.nn.modules.pooling): forward and indices
against loop references written from PyTorch's definitions, gradients against finite
differences, module reprs, errors."""
from __future__ import annotations

import math

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


def out_len(n, k, s, p, d, ceil):
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


# ---------------------------------------------------------------------- loop references


def ref_max_pool2d(x, k, s, p, d, ceil):
    """Values and PyTorch's flat indices, one output element at a time."""
    n, c, h, w = x.shape
    ho, wo = (out_len(h, k[0], s[0], p[0], d[0], ceil), out_len(w, k[1], s[1], p[1], d[1], ceil))
    out = np.zeros((n, c, ho, wo))
    idx = np.zeros((n, c, ho, wo), np.int64)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    best, arg = -np.inf, -1
                    for a in range(k[0]):
                        for bb in range(k[1]):
                            r, q = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + bb * d[1]
                            if 0 <= r < h and 0 <= q < w and x[b, ch, r, q] > best:
                                best, arg = x[b, ch, r, q], r * w + q
                    out[b, ch, i, j], idx[b, ch, i, j] = best, arg
    return out, idx


def ref_avg_pool2d(x, k, s, p, ceil, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    ho, wo = out_len(h, k[0], s[0], p[0], 1, ceil), out_len(w, k[1], s[1], p[1], 1, ceil)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            hs, ws = i * s[0] - p[0], j * s[1] - p[1]
            he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
            size = (he - hs) * (we - ws)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            tot = x[:, :, hs:he, ws:we].sum((2, 3))
            div = divisor_override or (size if count_include_pad else (he - hs) * (we - ws))
            out[:, :, i, j] = tot / div
    return out


def bins(n, o):
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def ref_adaptive(x, oh, ow, fn):
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow))
    for i, (hs, he) in enumerate(bins(h, oh)):
        for j, (ws, we) in enumerate(bins(w, ow)):
            out[:, :, i, j] = fn(x[:, :, hs:he, ws:we].reshape(n, c, -1), axis=2)
    return out


# ---------------------------------------------------------------------- max pooling

MAX_CASES = [
    # kernel, stride, padding, dilation, ceil_mode, input shape
    ((2, 2), (2, 2), (0, 0), (1, 1), False, (2, 3, 8, 8)),
    ((3, 3), (2, 2), (1, 1), (1, 1), False, (2, 3, 7, 6)),
    ((3, 2), (2, 1), (1, 1), (2, 1), True, (2, 2, 7, 6)),
    ((3, 3), (2, 2), (0, 0), (1, 1), True, (1, 2, 8, 7)),
    ((2, 3), (3, 2), (1, 0), (1, 2), True, (1, 2, 7, 9)),
    ((4, 4), (1, 1), (2, 2), (1, 1), False, (1, 2, 5, 5)),
]


@pytest.mark.parametrize("k,s,p,d,ceil,shape", MAX_CASES)
def test_max_pool2d_values_and_indices(k, s, p, d, ceil, shape):
    x = rnd(*shape)
    out, idx = F.max_pool2d(kt.tensor(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    ref, ridx = ref_max_pool2d(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(N(out), ref)
    np.testing.assert_array_equal(N(idx), ridx)
    assert idx.dtype == kt.int64
    np.testing.assert_array_equal(N(F.max_pool2d(kt.tensor(x), k, s, p, d, ceil)), ref)


@pytest.mark.parametrize("k,s,p,d,ceil,shape", MAX_CASES)
def test_max_pool2d_gradcheck(k, s, p, d, ceil, shape):
    x = D(1, 2, *shape[2:])
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p, d, ceil), (x,))


def test_max_pool_gradient_goes_to_first_max_on_ties():
    x = kt.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    g = np.zeros((4, 4))
    g[::2, ::2] = 1
    np.testing.assert_array_equal(N(x.grad)[0, 0], g)
    x.grad = None
    F.max_pool2d(x, 3, stride=1).sum().backward()  # overlapping windows add up
    g = np.zeros((4, 4))
    g[0, 0] = g[0, 1] = g[1, 0] = g[1, 1] = 1
    np.testing.assert_array_equal(N(x.grad)[0, 0], g)


@pytest.mark.parametrize("k,s,p,d,ceil,shape", MAX_CASES)
def test_max_pool2d_indices_on_ties_and_minus_inf(k, s, p, d, ceil, shape):
    """The winning offset is counted arithmetically (offsets before the first hit):
    against the loop reference on data full of ties (3 values), with -inf cells that tie
    with the padding, in float32 and float64."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, shape).astype(np.float64)
    x[rng.random(shape) < 0.2] = -np.inf
    x[0, 0] = -np.inf  # a whole plane of -inf: only cells inside the input may win
    for dtype in (np.float64, np.float32):
        out, idx = F.max_pool2d(kt.tensor(x.astype(dtype)), k, s, p, d, ceil_mode=ceil,
                                return_indices=True)
        # the reference skips -inf cells (its running max starts at -inf): -1e30 stands in
        ref, ridx = ref_max_pool2d(np.where(np.isinf(x), -1e30, x), k, s, p, d, ceil)
        np.testing.assert_array_equal(N(out), np.where(ref == -1e30, -np.inf, ref).astype(dtype))
        np.testing.assert_array_equal(N(idx), ridx)


def test_max_pool_indices_cost_little_more_than_the_max():
    """Finding each window's winner for backward (2x2, stride 2, a conv stack's pool)
    costs a few passes over the output, not a masked copy per offset: recording the pool
    takes under 5x the plain max (it took ~10x with np.copyto(where=))."""
    import time

    x = kt.tensor(np.random.default_rng(0).standard_normal((64, 32, 28, 28)).astype(np.float32),
                  requires_grad=True)

    def best(fn, reps=7):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    def plain():
        with kt.no_grad():
            F.max_pool2d(x, 2, 2)

    plain(), F.max_pool2d(x, 2, 2)
    ratio = best(lambda: F.max_pool2d(x, 2, 2)) / best(plain)
    assert ratio < 5.0, ratio


def test_max_pool_nan_propagates():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    out, idx = F.max_pool2d(kt.tensor(x), 2, return_indices=True)
    assert np.isnan(N(out)[0, 0, 0, 0]) and N(idx)[0, 0, 0, 0] == 4
    assert np.isnan(N(F.max_pool2d(kt.tensor(x), 2))[0, 0, 0, 0])


def test_max_pool2d_gradgradcheck():
    x = D(1, 2, 5, 5)
    assert gradgradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), (x,))


def test_max_pool1d_and_unbatched():
    x = rnd(2, 3, 9)
    out, idx = F.max_pool1d(kt.tensor(x), 3, 2, 1, return_indices=True)
    ref, ridx = ref_max_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), (1, 1), False)
    np.testing.assert_array_equal(N(out), ref[:, :, 0])
    np.testing.assert_array_equal(N(idx), ridx[:, :, 0])
    assert gradcheck(lambda x: F.max_pool1d(x, 2, ceil_mode=True), (D(1, 2, 7),))
    xu = rnd(3, 6, 6)
    np.testing.assert_array_equal(N(F.max_pool2d(kt.tensor(xu), 2)),
                                  ref_max_pool2d(xu[None], (2, 2), (2, 2), (0, 0), (1, 1),
                                                 False)[0][0])


def test_max_pool_float32():
    x = kt.randn(2, 3, 8, 8, requires_grad=True)
    y = F.max_pool2d(x, 3, 2, 1)
    assert y.dtype == kt.float32
    y.sum().backward()
    assert x.grad.dtype == kt.float32
    assert float(N(x.grad).sum()) == y.numel()


def test_max_unpool2d_inverts_max_pool():
    x = rnd(2, 3, 6, 6)
    out, idx = F.max_pool2d(kt.tensor(x), 2, return_indices=True)
    up = N(F.max_unpool2d(out, idx, 2))
    ref = np.zeros_like(x)
    flat = ref.reshape(2, 3, -1)
    np.put_along_axis(flat, N(idx).reshape(2, 3, -1), N(out).reshape(2, 3, -1), axis=2)
    np.testing.assert_array_equal(up, ref)
    assert F.max_unpool2d(out, idx, 2, output_size=(7, 7)).shape == (2, 3, 7, 7)
    assert nn.MaxUnpool2d(2)(out, idx).shape == (2, 3, 6, 6)
    o1, i1 = F.max_pool1d(kt.tensor(rnd(1, 2, 8)), 2, return_indices=True)
    assert F.max_unpool1d(o1, i1, 2).shape == (1, 2, 8)
    v = D(1, 1, 3, 3)
    _, i2 = F.max_pool2d(kt.tensor(rnd(1, 1, 6, 6)), 2, return_indices=True)
    assert gradcheck(lambda v: F.max_unpool2d(v, i2, 2), (v,))
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool2d(out, idx, 2, output_size=(9, 9))


# ---------------------------------------------------------------------- average pooling

AVG_CASES = [
    ((2, 2), (2, 2), (0, 0), False, True, None, (2, 3, 8, 8)),
    ((3, 3), (2, 2), (1, 1), False, True, None, (2, 3, 7, 6)),
    ((3, 3), (2, 2), (1, 1), True, False, None, (2, 3, 7, 6)),
    ((3, 2), (2, 2), (1, 1), True, True, 5, (1, 2, 7, 6)),
    ((2, 4), (3, 1), (1, 2), True, True, None, (1, 2, 8, 7)),
    ((3, 3), (1, 1), (0, 0), False, True, None, (1, 2, 5, 5)),
]


@pytest.mark.parametrize("k,s,p,ceil,cip,div,shape", AVG_CASES)
def test_avg_pool2d_matches_reference(k, s, p, ceil, cip, div, shape):
    x = rnd(*shape)
    y = F.avg_pool2d(kt.tensor(x), k, s, p, ceil, cip, div)
    np.testing.assert_allclose(N(y), ref_avg_pool2d(x, k, s, p, ceil, cip, div), rtol=1e-12)


@pytest.mark.parametrize("k,s,p,ceil,cip,div,shape", AVG_CASES)
def test_avg_pool2d_gradcheck(k, s, p, ceil, cip, div, shape):
    x = D(1, 1, *shape[2:])
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip, div), (x,))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1,
                                                          count_include_pad=False,
                                                          ceil_mode=True)])
def test_avg_pool2d_gradgradcheck(kw):
    x = D(1, 2, 5, 4)
    assert gradgradcheck(lambda x: F.avg_pool2d(x, **kw), (x,))


def test_avg_pool1d():
    x = rnd(2, 3, 9)
    y = F.avg_pool1d(kt.tensor(x), 4, 3, 2, True, False)
    ref = ref_avg_pool2d(x[:, :, None], (1, 4), (1, 3), (0, 2), True, False, None)[:, :, 0]
    np.testing.assert_allclose(N(y), ref, rtol=1e-12)
    assert gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1), (D(1, 2, 7),))


def test_avg_pool_float32():
    x = kt.randn(2, 3, 8, 8, requires_grad=True)
    y = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    assert y.dtype == kt.float32
    y.sum().backward()
    assert x.grad.dtype == kt.float32


# ---------------------------------------------------------------------- adaptive pooling


@pytest.mark.parametrize("shape,out", [((2, 3, 8, 8), (1, 1)), ((2, 3, 8, 8), (4, 2)),
                                       ((2, 3, 7, 5), (3, 4)), ((1, 2, 3, 4), (5, 6))])
def test_adaptive_avg_pool2d(shape, out):
    x = rnd(*shape)
    y = F.adaptive_avg_pool2d(kt.tensor(x), out)
    np.testing.assert_allclose(N(y), ref_adaptive(x, *out, np.mean), rtol=1e-12)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, out), (D(1, 1, *shape[2:]),))


def test_adaptive_avg_pool_none_and_1d_and_gradgrad():
    x = rnd(2, 3, 7, 5)
    y = F.adaptive_avg_pool2d(kt.tensor(x), (None, 2))
    np.testing.assert_allclose(N(y), ref_adaptive(x, 7, 2, np.mean), rtol=1e-12)
    x1 = rnd(2, 3, 10)
    y1 = F.adaptive_avg_pool1d(kt.tensor(x1), 4)
    np.testing.assert_allclose(N(y1), ref_adaptive(x1[:, :, None], 1, 4, np.mean)[:, :, 0],
                               rtol=1e-12)
    assert gradgradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (D(1, 1, 5, 4),))
    assert F.adaptive_avg_pool2d(kt.randn(4, 8, 8), 1).shape == (4, 1, 1)


@pytest.mark.parametrize("shape,out", [((2, 3, 8, 8), (1, 1)), ((2, 3, 7, 5), (3, 4)),
                                       ((1, 2, 3, 4), (5, 6)), ((1, 2, 6, 6), (3, 3))])
def test_adaptive_max_pool2d(shape, out):
    x = rnd(*shape)
    y, idx = F.adaptive_max_pool2d(kt.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(N(y), ref_adaptive(x, *out, np.max))
    n, c, h, w = shape
    flat = x.reshape(n, c, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, N(idx).reshape(n, c, -1), 2),
                                  N(y).reshape(n, c, -1))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, out), (D(1, 1, *shape[2:]),))


def test_adaptive_max_pool1d():
    x = rnd(2, 3, 10)
    y, idx = F.adaptive_max_pool1d(kt.tensor(x), 4, return_indices=True)
    np.testing.assert_array_equal(N(y), ref_adaptive(x[:, :, None], 1, 4, np.max)[:, :, 0])
    assert idx.shape == (2, 3, 4)
    assert gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (2, 3)), (D(1, 1, 5, 4),))


# ---------------------------------------------------------------------- modules


def test_module_reprs_match_pytorch():
    assert repr(nn.MaxPool2d(2)) == ("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1,"
                                     " ceil_mode=False)")
    assert repr(nn.MaxPool1d(3, 2, 1, ceil_mode=True)) == (
        "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)")
    assert repr(nn.AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert repr(nn.AdaptiveMaxPool2d(2)) == "AdaptiveMaxPool2d(output_size=2)"
    assert list(nn.MaxPool2d(2).parameters()) == []


def test_modules_call_functional():
    x = kt.tensor(rnd(2, 3, 8, 8))
    np.testing.assert_array_equal(N(nn.MaxPool2d(3, 2, 1)(x)), N(F.max_pool2d(x, 3, 2, 1)))
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert out.shape == idx.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(N(nn.AvgPool2d(2, divisor_override=3)(x)),
                                  N(F.avg_pool2d(x, 2, divisor_override=3)))
    assert nn.AvgPool1d(2)(kt.tensor(rnd(2, 3, 8))).shape == (2, 3, 4)
    assert nn.MaxPool1d(2)(kt.tensor(rnd(2, 3, 8))).shape == (2, 3, 4)
    assert nn.AdaptiveAvgPool2d((None, 2))(x).shape == (2, 3, 8, 2)
    assert nn.AdaptiveAvgPool1d(2)(kt.tensor(rnd(2, 3, 8))).shape == (2, 3, 2)
    out, idx = nn.AdaptiveMaxPool2d(3, return_indices=True)(x)
    assert out.shape == idx.shape == (2, 3, 3, 3)
    assert nn.AdaptiveMaxPool1d(3)(kt.tensor(rnd(2, 3, 8))).shape == (2, 3, 3)


# ---------------------------------------------------------------------- errors


def test_errors():
    x = kt.randn(1, 3, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="pad should be at most half of kernel size"):
        F.avg_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool2d(x, 5)
    with pytest.raises(RuntimeError, match=r"max_pool2d: expected 3D \(unbatched\) or 4D"):
        F.max_pool2d(kt.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match=r"MaxPool2d|max_pool2d"):
        nn.MaxPool2d(2)(kt.randn(2, 1, 3, 4, 4))
    with pytest.raises(RuntimeError, match="must be positive"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="output_size must have 2 elements"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))


def test_resnet_stem_shapes():
    x = kt.randn(2, 3, 32, 32)
    y = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)(x)
    assert y.shape == (2, 3, 16, 16)
    assert math.isclose(float(nn.AdaptiveAvgPool2d(1)(x).sum()), float(x.mean((2, 3)).sum()),
                        rel_tol=1e-5)
