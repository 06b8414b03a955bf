"""Convolutions (ktrain.nn.functional.conv, ktrain.nn.modules.conv): forward against a
direct loop implementation, gradients against finite differences (first and second
order), module parameters and reprs against PyTorch's, and errors."""
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
    """A float64 leaf requiring grad."""
    return kt.tensor(rnd(*shape, seed=seed), requires_grad=True)


def N(t):
    return np.asarray(t.detach())


# ---------------------------------------------------------------------- loop references


def ref_conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """out[n, o, i, j] = sum over the window, one output element at a time."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for b_ in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(ho):
                for j in range(wo):
                    patch = xp[b_, g * cg:(g + 1) * cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                               j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[b_, oc, i, j] = (patch * w[oc]).sum()
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def ref_conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                         dilation=(1, 1), groups=1):
    """Each input element scatters weight * value into the (uncropped) output."""
    n, cin, h, wd = x.shape
    _, cog, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    hf = (h - 1) * sh + dh * (kh - 1) + 1 + output_padding[0]
    wf = (wd - 1) * sw + dw * (kw - 1) + 1 + output_padding[1]
    full = np.zeros((n, cog * groups, hf, wf))
    cig = cin // groups
    for b_ in range(n):
        for ci in range(cin):
            g = ci // cig
            for i in range(h):
                for j in range(wd):
                    for ki in range(kh):
                        for kj in range(kw):
                            full[b_, g * cog:(g + 1) * cog, i * sh + ki * dh,
                                 j * sw + kj * dw] += x[b_, ci, i, j] * w[ci, :, ki, kj]
    out = full[:, :, ph:hf - ph, pw:wf - pw]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


# ---------------------------------------------------------------------- forward vs reference

CONV_CASES = [
    # x shape, w shape, kwargs
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding=1)),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=(1, 0))),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(stride=(2, 3), padding=2, dilation=(2, 1))),
    ((2, 4, 7, 6), (6, 2, 3, 3), dict(padding=1, groups=2)),
    ((2, 4, 7, 6), (4, 1, 3, 3), dict(padding=1, groups=4)),          # depthwise
    ((2, 4, 7, 6), (8, 1, 3, 3), dict(stride=2, padding=1, groups=4)),  # depthwise x2
    ((2, 4, 5, 5), (6, 4, 1, 1), {}),                                   # 1x1
    ((2, 4, 5, 5), (6, 2, 1, 1), dict(groups=2)),
    ((2, 4, 5, 5), (6, 4, 1, 1), dict(stride=2)),
    ((2, 4, 5, 5), (6, 4, 1, 1), dict(padding=1)),
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding="valid")),
    ((1, 2, 4, 4), (3, 2, 4, 4), {}),                                   # one output pixel
]


def _ref_kwargs(kw, k):
    stride = kw.get("stride", 1)
    stride = (stride, stride) if isinstance(stride, int) else stride
    dil = kw.get("dilation", 1)
    dil = (dil, dil) if isinstance(dil, int) else dil
    p = kw.get("padding", 0)
    if p == "valid":
        p = 0
    if p == "same":
        tot = [d * (kk - 1) for d, kk in zip(dil, k)]
        pads = tuple((t // 2, t - t // 2) for t in tot)
    else:
        p = (p, p) if isinstance(p, int) else p
        pads = tuple((v, v) for v in p)
    return dict(stride=stride, pads=pads, dilation=dil, groups=kw.get("groups", 1))


@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
def test_conv2d_matches_loop_reference(xs, ws, kw):
    x, w, b = rnd(*xs), rnd(*ws, seed=1), rnd(ws[0], seed=2)
    y = F.conv2d(kt.tensor(x), kt.tensor(w), kt.tensor(b), **kw)
    np.testing.assert_allclose(N(y), ref_conv2d(x, w, b, **_ref_kwargs(kw, ws[2:])),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k,dil", [((3, 3), 1), ((2, 4), 1), ((3, 2), (2, 3)), ((4, 4), 2)])
def test_conv2d_same_padding(k, dil):
    x, w = rnd(2, 3, 7, 6), rnd(4, 3, *k, seed=1)
    y = F.conv2d(kt.tensor(x), kt.tensor(w), padding="same", dilation=dil)
    assert y.shape == (2, 4, 7, 6)
    ref = ref_conv2d(x, w, **_ref_kwargs(dict(padding="same", dilation=dil), k))
    np.testing.assert_allclose(N(y), ref, rtol=1e-10, atol=1e-10)


CONVT_CASES = [
    ((2, 4, 5, 5), (4, 3, 3, 3), {}),
    ((2, 4, 5, 5), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1),
                                      output_padding=(1, 1))),
    ((2, 4, 5, 5), (4, 2, 3, 3), dict(stride=2, groups=2)),
    ((2, 4, 4, 4), (4, 1, 3, 3), dict(stride=3, padding=1, groups=4, output_padding=2)),
    ((2, 4, 5, 5), (4, 3, 1, 1), {}),
    ((2, 4, 5, 5), (4, 3, 1, 1), dict(stride=2, output_padding=1)),
    ((2, 4, 5, 5), (4, 3, 3, 3), dict(padding=3)),  # padding > kernel: the output shrinks
]


@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES)
def test_conv_transpose2d_matches_loop_reference(xs, ws, kw):
    x, w, b = rnd(*xs), rnd(*ws, seed=1), rnd(ws[1] * kw.get("groups", 1), seed=2)
    y = F.conv_transpose2d(kt.tensor(x), kt.tensor(w), kt.tensor(b), **kw)

    def pair(v, d):
        v = kw.get(v, d)
        return (v, v) if isinstance(v, int) else v
    ref = ref_conv_transpose2d(x, w, b, pair("stride", 1), pair("padding", 0),
                               pair("output_padding", 0), pair("dilation", 1),
                               kw.get("groups", 1))
    np.testing.assert_allclose(N(y), ref, rtol=1e-10, atol=1e-10)


def test_conv_transpose_is_the_adjoint_of_conv():
    x, w, g = rnd(2, 3, 7, 6), rnd(4, 3, 3, 3, seed=1), rnd(2, 4, 4, 3, seed=2)
    y = F.conv2d(kt.tensor(x), kt.tensor(w), stride=2, padding=1)
    assert y.shape == g.shape
    z = F.conv_transpose2d(kt.tensor(g), kt.tensor(w), stride=2, padding=1, output_padding=(0, 1))
    assert z.shape == x.shape
    assert math.isclose(float((N(y) * g).sum()), float((x * N(z)).sum()), rel_tol=1e-10)


def test_conv1d_and_conv_transpose1d_match_the_2d_path():
    x, w, b = rnd(2, 4, 9), rnd(6, 2, 3, seed=1), rnd(6, seed=2)
    y = F.conv1d(kt.tensor(x), kt.tensor(w), kt.tensor(b), stride=2, padding=1, groups=2)
    ref = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), ((0, 0), (1, 1)), (1, 1), 2)
    np.testing.assert_allclose(N(y), ref[:, :, 0], rtol=1e-10, atol=1e-10)
    y = F.conv1d(kt.tensor(x), kt.tensor(w), padding="same", dilation=3, groups=2)
    assert y.shape == (2, 6, 9)
    wt = rnd(4, 3, 3, seed=3)
    z = F.conv_transpose1d(kt.tensor(x), kt.tensor(wt), stride=3, padding=1, output_padding=2)
    ref = ref_conv_transpose2d(x[:, :, None], wt[:, :, None], None, (1, 3), (0, 1), (0, 2))
    np.testing.assert_allclose(N(z), ref[:, :, 0], rtol=1e-10, atol=1e-10)


def test_unbatched_input():
    x, w = rnd(3, 6, 5), rnd(4, 3, 3, 3, seed=1)
    y = F.conv2d(kt.tensor(x), kt.tensor(w), padding=1)
    np.testing.assert_allclose(N(y), ref_conv2d(x[None], w, pads=((1, 1), (1, 1)))[0],
                               atol=1e-10)
    assert F.conv1d(kt.tensor(rnd(3, 8)), kt.tensor(rnd(2, 3, 3))).shape == (2, 6)
    assert F.conv_transpose2d(kt.tensor(x), kt.tensor(rnd(3, 2, 3, 3))).shape == (2, 8, 7)


def test_float32_stays_float32_and_non_contiguous_input():
    x = rnd(2, 3, 8, 8).astype(np.float32)
    w = rnd(4, 3, 3, 3, seed=1).astype(np.float32)
    xt = kt.tensor(x, requires_grad=True)
    wt = kt.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, kt.zeros(4), stride=2, padding=1)
    assert y.dtype == kt.float32
    y.sum().backward()
    assert xt.grad.dtype == kt.float32 and wt.grad.dtype == kt.float32
    # a transposed (non-contiguous) input view gives the same result
    xn = kt.tensor(np.ascontiguousarray(x.transpose(0, 1, 3, 2))).transpose(2, 3)
    np.testing.assert_allclose(N(F.conv2d(xn, kt.tensor(w), padding=1)),
                               N(F.conv2d(kt.tensor(x), kt.tensor(w), padding=1)), rtol=1e-6)


# ---------------------------------------------------------------------- gradients

GRAD_CASES = [
    ((1, 2, 5, 4), (3, 2, 3, 3), dict(padding=1)),
    ((2, 2, 5, 5), (2, 2, 2, 3), dict(stride=2, padding=(1, 0))),
    ((1, 2, 6, 5), (2, 2, 2, 2), dict(stride=(2, 1), dilation=2, padding=1)),
    ((1, 4, 4, 4), (4, 2, 3, 3), dict(padding=1, groups=2)),
    ((1, 3, 4, 4), (3, 1, 3, 3), dict(padding="same", groups=3)),
    ((2, 3, 3, 3), (2, 3, 1, 1), {}),
    ((1, 3, 5, 5), (2, 3, 1, 1), dict(stride=2)),
    ((1, 2, 4, 5), (2, 2, 2, 3), dict(padding="same")),
    ((2, 2, 6, 6), (5, 2, 3, 3), dict(padding=2, dilation=2)),  # O > C: W.T @ gy + col2im
]


def test_input_grad_paths_agree_when_outputs_outnumber_inputs():
    # stride 1 with O > C takes W.T @ gy + col2im; O <= C the conv of gy with the flipped
    # kernel: both are the same adjoint
    from ktrain.ops import conv as C

    rs = np.random.RandomState(0)
    gy = rs.randn(3, 6, 7, 7)
    w = rs.randn(6, 4, 3, 3)
    geom = C._Geom((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
    got = C._conv_input_grad(gy, w, geom, (7, 7))
    g2 = C._Geom((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
    want = C._conv_forward(gy, C._flip_weight(np, w, 1), None, g2, False)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,kw", GRAD_CASES)
def test_conv2d_gradcheck(xs, ws, kw):
    x, w, b = D(*xs), D(*ws, seed=1), D(ws[0], seed=2)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


CONVT_GRAD_CASES = [
    ((1, 2, 3, 3), (2, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 2, 3, 4), (2, 2, 3, 2), dict(padding=1)),
    ((1, 4, 3, 3), (4, 1, 2, 2), dict(stride=2, groups=2)),
    ((1, 2, 3, 3), (2, 2, 3, 3), dict(dilation=2, output_padding=1)),
    ((1, 2, 3, 3), (2, 3, 1, 1), dict(stride=2, output_padding=1)),
]


@pytest.mark.parametrize("xs,ws,kw", CONVT_GRAD_CASES)
def test_conv_transpose2d_gradcheck(xs, ws, kw):
    x, w = D(*xs), D(*ws, seed=1)
    b = D(ws[1] * kw.get("groups", 1), seed=2)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), (x, w, b))


def test_conv1d_gradchecks():
    x, w, b = D(2, 2, 6), D(3, 2, 3, seed=1), D(3, seed=2)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), (x, w, b))
    wt = D(2, 3, 3, seed=3)
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1),
                     (x, wt))


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1),
                                dict(groups=2, dilation=(1, 2), padding=(0, 1)),
                                dict(kernel=1, stride=2)])
def test_conv2d_gradgradcheck(kw):
    kw = dict(kw)
    k = kw.pop("kernel", 2)
    x, w, b = D(1, 2, 4, 4), D(2, 2 // kw.get("groups", 1), k, k, seed=1), D(2, seed=2)
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(padding=1), dict(dilation=2, output_padding=1)])
def test_conv_transpose2d_gradgradcheck(kw):
    x, w = D(1, 2, 3, 3), D(2, 2, 2, 2, seed=1)
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, **kw), (x, w))


def test_retain_graph_and_repeated_steps_give_identical_grads():
    """The im2col buffer goes back to a pool after backward: reuse must never corrupt."""
    conv = nn.Conv2d(3, 4, 3, padding=1).double()
    x = kt.tensor(rnd(2, 3, 6, 6), requires_grad=True)
    y = conv(x)
    y.backward(kt.ones(y.shape), retain_graph=True)
    g1 = (N(x.grad).copy(), N(conv.weight.grad).copy())
    x.grad = None
    conv.zero_grad()
    y.backward(kt.ones(y.shape))
    np.testing.assert_array_equal(N(x.grad), g1[0])
    np.testing.assert_array_equal(N(conv.weight.grad), g1[1])
    for _ in range(3):  # pooled buffers recycled across steps
        x.grad = None
        conv.zero_grad()
        y2 = conv(x)
        other = conv(kt.tensor(rnd(2, 3, 6, 6, seed=5)))  # a second graph in flight
        y2.backward(kt.ones(y2.shape))
        del other
        np.testing.assert_allclose(N(conv.weight.grad), g1[1], rtol=1e-12)


def test_frozen_weight_and_input_only_grads():
    x = D(1, 2, 5, 5)
    w = kt.tensor(rnd(3, 2, 3, 3, seed=1))
    assert gradcheck(lambda x: F.conv2d(x, w, stride=2, padding=1), (x,))
    wg = D(3, 2, 3, 3, seed=1)
    xc = kt.tensor(rnd(1, 2, 5, 5))
    assert gradcheck(lambda w: F.conv2d(xc, w, padding=1), (wg,))


# ---------------------------------------------------------------------- modules


@pytest.mark.parametrize("make,shapes,count", [
    (lambda: nn.Conv2d(3, 16, 3), {"weight": (16, 3, 3, 3), "bias": (16,)}, 448),
    (lambda: nn.Conv2d(16, 32, (3, 5), groups=4, bias=False), {"weight": (32, 4, 3, 5)}, 1920),
    (lambda: nn.Conv1d(4, 8, 5), {"weight": (8, 4, 5), "bias": (8,)}, 168),
    (lambda: nn.ConvTranspose2d(16, 8, 4, stride=2), {"weight": (16, 8, 4, 4), "bias": (8,)},
     2056),
    (lambda: nn.ConvTranspose2d(16, 8, 3, groups=2), {"weight": (16, 4, 3, 3), "bias": (8,)},
     584),
    (lambda: nn.ConvTranspose1d(6, 3, 2), {"weight": (6, 3, 2), "bias": (3,)}, 39),
])
def test_module_parameters_match_pytorch(make, shapes, count):
    m = make()
    assert {k: tuple(v.shape) for k, v in m.named_parameters()} == shapes
    assert sum(p.numel() for p in m.parameters()) == count
    assert list(m.state_dict()) == list(shapes)


def test_default_initialisation_bounds():
    kt.manual_seed(0)
    m = nn.Conv2d(8, 16, 3)
    fan_in = 8 * 9
    wb = math.sqrt(6 / ((1 + 5) * fan_in))  # kaiming_uniform_(a=sqrt(5)) = 1/sqrt(fan_in)
    assert np.abs(N(m.weight)).max() <= wb + 1e-7
    assert np.abs(N(m.weight)).max() > 0.8 * wb
    assert np.abs(N(m.bias)).max() <= 1 / math.sqrt(fan_in) + 1e-7
    t = nn.ConvTranspose2d(8, 4, 3, groups=2)
    fan_in_t = 2 * 9  # weight.size(1) * k * k
    assert np.abs(N(t.bias)).max() <= 1 / math.sqrt(fan_in_t) + 1e-7
    assert m.weight.dtype == kt.float32
    assert nn.Conv2d(2, 2, 1, dtype=kt.float64).weight.dtype == kt.float64


def test_module_reprs_match_pytorch():
    assert repr(nn.Conv2d(3, 16, 3)) == "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(16, 32, (3, 5), stride=2, padding=(1, 2), dilation=2, groups=4,
                          bias=False, padding_mode="reflect")) == (
        "Conv2d(16, 32, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), "
        "groups=4, bias=False, padding_mode=reflect)")
    assert repr(nn.Conv1d(4, 8, 3, padding="same")) == (
        "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=same)")
    assert repr(nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)) == (
        "ConvTranspose2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))")


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
def test_conv2d_padding_modes(mode, np_mode):
    m = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode).double()
    x = rnd(2, 2, 5, 6)
    ref = ref_conv2d(np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode=np_mode), N(m.weight),
                     N(m.bias))
    np.testing.assert_allclose(N(m(kt.tensor(x))), ref, rtol=1e-10, atol=1e-10)
    xg = D(1, 2, 4, 4)
    assert gradcheck(lambda x: m(x), (xg,))


def test_conv1d_padding_mode_and_same():
    m = nn.Conv1d(2, 3, 4, padding="same", padding_mode="circular").double()
    x = rnd(2, 2, 7)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 2)), mode="wrap")
    ref = ref_conv2d(xpad[:, :, None], N(m.weight)[:, :, None], N(m.bias))[:, :, 0]
    np.testing.assert_allclose(N(m(kt.tensor(x))), ref, rtol=1e-10, atol=1e-10)


def test_module_forward_matches_functional_and_trains():
    kt.manual_seed(1)
    m = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = kt.randn(2, 3, 8, 8)
    y = m(x)
    np.testing.assert_allclose(N(y), N(F.conv2d(x, m.weight, m.bias, 2, 1)), rtol=1e-6)
    y.sum().backward()
    assert m.weight.grad.shape == m.weight.shape and m.bias.grad.shape == (4,)
    np.testing.assert_allclose(N(m.bias.grad), np.full(4, 2 * 4 * 4), rtol=1e-6)


def test_conv_transpose_output_size():
    m = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1).double()
    x = kt.tensor(rnd(1, 4, 5, 5))
    assert m(x).shape == (1, 2, 9, 9)
    y = m(x, output_size=(10, 10))
    assert y.shape == (1, 2, 10, 10)
    ref = ref_conv_transpose2d(N(x), N(m.weight), N(m.bias), (2, 2), (1, 1), (1, 1))
    np.testing.assert_allclose(N(y), ref, rtol=1e-10, atol=1e-10)
    assert m(x, output_size=[1, 2, 10, 9]).shape == (1, 2, 10, 9)
    with pytest.raises(ValueError, match="valid sizes range from"):
        m(x, output_size=(12, 12))


def test_conv_downsample_then_transpose_roundtrip_shapes():
    down = nn.Conv2d(3, 8, 4, stride=2, padding=1)
    up = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)
    x = kt.randn(2, 3, 16, 16)
    assert up(down(x)).shape == x.shape


# ---------------------------------------------------------------------- errors


def test_errors_name_layer_and_shapes():
    conv = nn.Conv2d(3, 16, 3)
    with pytest.raises(RuntimeError, match=r"Conv2d: expected input with 3 channels.*got 4 "
                                           r"\(input shape \[2, 4, 8, 8\]\)"):
        conv(kt.randn(2, 4, 8, 8))
    with pytest.raises(RuntimeError, match=r"Conv2d: expected 3D \(unbatched\) or 4D"):
        conv(kt.randn(8, 8))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        conv(kt.randn(1, 3, 2, 2))
    with pytest.raises(RuntimeError, match="should be the same"):
        conv(kt.randn(1, 3, 5, 5, dtype=kt.float64))
    with pytest.raises(RuntimeError, match="conv2d: expected bias of shape \\[16\\]"):
        F.conv2d(kt.randn(1, 3, 5, 5), conv.weight, kt.zeros(3))
    with pytest.raises(RuntimeError, match="divisible by groups"):
        F.conv2d(kt.randn(1, 4, 5, 5), kt.randn(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="not supported for strided"):
        F.conv2d(kt.randn(1, 3, 5, 5), conv.weight, padding="same", stride=2)
    with pytest.raises(ValueError, match="invalid padding string"):
        F.conv2d(kt.randn(1, 3, 5, 5), conv.weight, padding="full")
    with pytest.raises(RuntimeError, match="stride should be positive"):
        F.conv2d(kt.randn(1, 3, 5, 5), conv.weight, stride=0)
    with pytest.raises(RuntimeError, match="padding should be non-negative"):
        F.conv2d(kt.randn(1, 3, 5, 5), conv.weight, padding=-1)
    with pytest.raises(RuntimeError, match="4-D weight"):
        F.conv2d(kt.randn(1, 3, 5, 5), kt.randn(3, 3, 3))
    with pytest.raises(RuntimeError, match="ConvTranspose2d: expected input with 4 channels"):
        nn.ConvTranspose2d(4, 2, 3)(kt.randn(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose2d(kt.randn(1, 2, 3, 3), kt.randn(2, 2, 3, 3), output_padding=1)


def test_module_constructor_errors():
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="not supported for strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(3, 6, 3, padding_mode="reflect")


def test_buffer_pool_recycles_only_unreferenced_arrays(monkeypatch):
    from ktrain.ops import conv as C

    pool = C._BufferPool(min_bytes=0)
    a = pool.take(np, (4, 5), np.float32)
    view = a[1:]
    pool.give(a)  # a live view: must not be recycled
    assert pool.take(np, (4, 5), np.float32) is not a
    del view
    pool.give(a)
    assert pool.take(np, (4, 5), np.float32) is a


def test_pooled_buffers_never_corrupt_results(monkeypatch):
    """Every work array goes through the pool (min_bytes=0): repeated steps over several
    layer shapes, interleaved graphs and retained graphs must keep matching the reference."""
    from ktrain.ops import conv as C

    monkeypatch.setattr(C, "_POOL", C._BufferPool(min_bytes=0))
    x, w, w2 = rnd(2, 3, 7, 6), rnd(4, 3, 3, 3, seed=1), rnd(3, 4, 3, 3, seed=2)
    ref = ref_conv2d(x, w, pads=((1, 1), (1, 1)))
    grads = None
    for _ in range(3):
        xt = kt.tensor(x, requires_grad=True)
        wt = kt.tensor(w, requires_grad=True)
        w2t = kt.tensor(w2, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        z = F.conv2d(y, w2t, stride=2, padding=1)          # col2im path in backward
        other = F.conv_transpose2d(kt.tensor(rnd(2, 3, 4, 3)), w2t, stride=2)
        np.testing.assert_allclose(N(y), ref, atol=1e-10)
        z.sum().backward(retain_graph=True)
        g = [N(t.grad).copy() for t in (xt, wt, w2t)]
        if grads is None:
            grads = g
        for a, b in zip(g, grads):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        for t in (xt, wt, w2t):
            t.grad = None
        z.sum().backward()  # the retained graph still has its buffers
        for a, t in zip(grads, (xt, wt, w2t)):
            np.testing.assert_allclose(N(t.grad), a, rtol=1e-12, atol=1e-12)
        del other


@pytest.mark.parametrize("x_shape,k,stride,dil,pads", [
    ((4, 8, 26, 26), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((6, 6, 17, 16), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1))),
    ((3, 5, 20, 19), (5, 3), (2, 1), (2, 1), ((2, 1), (0, 3))),
    ((3, 4, 30, 30), (4, 4), (3, 3), (1, 2), ((3, 3), (2, 2))),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_kernel_is_bit_identical_to_numpy(x_shape, k, stride, dil, pads, dtype):
    from ktrain import _fast
    from ktrain.backends import cpu
    from ktrain.ops import conv as C

    if not _fast.available():
        pytest.skip("numba not installed")
    n, c, h, w = x_shape
    geom = C._Geom(k, stride, dil, pads, 1)
    ho, wo = geom.out_hw(h, w)
    dcol = np.random.RandomState(0).randn(c, k[0], k[1], n, ho, wo).astype(dtype)
    assert dcol.size >= _fast.MIN_SIZE
    old = _fast.enabled()
    try:
        cpu.set_fast_kernels(True)
        got = C._col2im(np, dcol, x_shape, geom)
        cpu.set_fast_kernels(False)
        want = C._col2im(np, dcol, x_shape, geom)
    finally:
        cpu.set_fast_kernels(old)
    assert got.dtype == dtype and got.shape == x_shape
    np.testing.assert_array_equal(got, want)
