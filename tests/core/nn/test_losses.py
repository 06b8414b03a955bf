"""Loss functions (ktrain.nn.functional.loss and the *Loss modules): values against numpy
implementations of PyTorch's formulas, gradients against finite differences (second
order for the fused ones), CTC against a brute-force sum over all alignments,
reductions, module buffers and errors."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn as nn
import ktrain.nn.functional as F
from ktrain.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


def rnd(*shape):
    return RNG.standard_normal(shape)


def D(arr):
    return kt.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def T(arr):
    return kt.tensor(np.asarray(arr))


def N(t):
    return np.asarray(t.detach())


def reduce_np(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def log_softmax_np(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


# ---------------------------------------------------------------------- cross entropy


def ce_ref(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's cross entropy with class indices, written out with numpy: classes on
    axis 1, (1 - eps) * nll + eps / C * smooth, 'mean' divided by the summed target
    weight of the non-ignored elements."""
    c = x.shape[1]
    lp = log_softmax_np(x, 1)
    lp = np.moveaxis(lp, 1, -1).reshape(-1, c)
    tf = t.reshape(-1)
    w = np.ones(c) if weight is None else weight
    valid = tf != ignore_index
    tt = np.where(valid, tf, 0)
    wt = w[tt] * valid
    nll = -lp[np.arange(len(tf)), tt] * wt
    smooth = -(lp * w).sum(1) * valid
    loss = (1 - eps) * nll + eps / c * smooth
    if reduction == "none":
        return loss.reshape(t.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wt.sum()


CE_CASES = list(itertools.product(["mean", "sum", "none"], [0.0, 0.25], [False, True],
                                  [False, True]))


@pytest.mark.parametrize("reduction,eps,weighted,ignore", CE_CASES)
def test_cross_entropy_matches_reference(reduction, eps, weighted, ignore):
    x = rnd(5, 4) * 2
    t = RNG.integers(0, 4, 5)
    if ignore:
        t[1] = -100
    w = RNG.random(4) + 0.2 if weighted else None
    kw = dict(weight=None if w is None else kt.tensor(w), reduction=reduction,
              label_smoothing=eps)
    y = F.cross_entropy(kt.tensor(x), T(t), **kw)
    np.testing.assert_allclose(N(y), ce_ref(x, t, w, -100, reduction, eps), rtol=1e-10)
    assert gradcheck(lambda a: F.cross_entropy(a, T(t), **kw), (D(x),))
    assert gradgradcheck(lambda a: F.cross_entropy(a, T(t), **kw), (D(x),))


def test_cross_entropy_nd_and_unbatched():
    x = rnd(2, 3, 4, 2)
    t = RNG.integers(0, 3, (2, 4, 2))
    t[0, 1, 1] = 7  # ignore_index below
    for red in ("mean", "none"):
        y = F.cross_entropy(kt.tensor(x), T(t), ignore_index=7, reduction=red,
                            label_smoothing=0.1)
        np.testing.assert_allclose(N(y), ce_ref(x, t, None, 7, red, 0.1), rtol=1e-10)
    assert tuple(F.cross_entropy(kt.tensor(x), T(t), ignore_index=7,
                                 reduction="none").shape) == (2, 4, 2)
    assert gradcheck(lambda a: F.cross_entropy(a, T(t), ignore_index=7), (D(x),))
    x1 = rnd(5)
    y1 = F.cross_entropy(kt.tensor(x1), T(np.array(3)))
    np.testing.assert_allclose(N(y1), -log_softmax_np(x1, 0)[3], rtol=1e-12)


def test_cross_entropy_probability_targets():
    x = rnd(4, 5)
    p = RNG.random((4, 5))
    p /= p.sum(1, keepdims=True)
    w = RNG.random(5) + 0.5
    ps = p * 0.8 + 0.2 / 5
    ref = -(log_softmax_np(x, 1) * ps * w).sum(1)
    for red in ("none", "sum", "mean"):
        y = F.cross_entropy(kt.tensor(x), kt.tensor(p), weight=kt.tensor(w), reduction=red,
                            label_smoothing=0.2)
        np.testing.assert_allclose(N(y), reduce_np(ref, red), rtol=1e-10)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), (D(x), D(p)))


def test_cross_entropy_float32_and_module():
    x = kt.tensor(rnd(6, 10).astype(np.float32), requires_grad=True)
    t = T(RNG.integers(0, 10, 6))
    crit = nn.CrossEntropyLoss(weight=kt.rand(10), label_smoothing=0.1)
    assert list(crit.state_dict()) == ["weight"]
    loss = crit(x, t)
    assert loss.dtype == kt.float32 and loss.shape == ()
    loss.backward()
    assert x.grad.dtype == kt.float32
    ref = ce_ref(N(x).astype(np.float64), N(t), N(crit.weight).astype(np.float64), eps=0.1)
    np.testing.assert_allclose(N(loss), ref, rtol=1e-5)
    # the gradient of the unweighted mean loss is (softmax - onehot) / N
    x2 = kt.tensor(rnd(6, 10).astype(np.float32), requires_grad=True)
    nn.CrossEntropyLoss()(x2, t).backward()
    sm = np.exp(log_softmax_np(N(x2).astype(np.float64), 1))
    sm[np.arange(6), N(t)] -= 1
    np.testing.assert_allclose(N(x2.grad), sm / 6, rtol=1e-4, atol=1e-7)
    assert list(nn.CrossEntropyLoss().state_dict()) == []


def test_cross_entropy_edge_cases_and_errors():
    x = kt.tensor(rnd(3, 4))
    t = T(np.array([-100, -100, -100]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(F.cross_entropy(x, t).item())  # all ignored: 0 / 0, as PyTorch
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(x, T([0, 4, 1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)"):
        F.cross_entropy(x, T([0, 1]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        F.cross_entropy(x, T([0, 1, 2]), weight=kt.ones(3))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, T([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, T([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="class indices"):
        F.cross_entropy(x, kt.tensor([0.0, 1.0, 2.0]))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        y = F.cross_entropy(x, T([0, 1, 2]), size_average=False)
    np.testing.assert_allclose(N(y), ce_ref(N(x), np.array([0, 1, 2]), reduction="sum"))


def test_cross_entropy_backward_twice_with_retain_graph():
    x = D(rnd(4, 5))
    loss = F.cross_entropy(x, T([0, 1, 2, 3]), label_smoothing=0.1)
    loss.backward(retain_graph=True)
    g1 = N(x.grad).copy()
    loss.backward()  # the softmax kept for backward was consumed: it is recomputed
    np.testing.assert_allclose(N(x.grad), 2 * g1, rtol=1e-12)


# ---------------------------------------------------------------------- nll


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    lp = log_softmax_np(rnd(5, 3), 1)
    t = np.array([0, 2, 1, 1, 2])
    w = RNG.random(3) + 0.5
    t_ign = t.copy()
    t_ign[2] = 1  # ignore_index=1 drops rows 2 and 3
    for weight in (None, w):
        ww = np.ones(3) if weight is None else weight
        valid = t_ign != 1
        loss = -lp[np.arange(5), t_ign] * ww[t_ign] * valid
        ref = {"none": loss, "sum": loss.sum(), "mean": loss.sum() / (ww[t_ign] * valid).sum()}
        kw = dict(weight=None if weight is None else kt.tensor(weight), ignore_index=1,
                  reduction=reduction)
        y = F.nll_loss(kt.tensor(lp), T(t_ign), **kw)
        np.testing.assert_allclose(N(y), ref[reduction], rtol=1e-12)
        assert gradcheck(lambda a, kw=kw: F.nll_loss(a, T(t_ign), **kw), (D(lp),))
        assert gradgradcheck(lambda a, kw=kw: F.nll_loss(a * a, T(t_ign), **kw), (D(lp),))
    m = nn.NLLLoss(weight=kt.tensor(w), ignore_index=1)
    assert list(m.state_dict()) == ["weight"]


# ---------------------------------------------------------------------- binary


def test_binary_cross_entropy():
    x = RNG.random((3, 4)) * 0.9 + 0.05
    t = RNG.random((3, 4))
    w = RNG.random((3, 4))
    ref = -w * (t * np.log(x) + (1 - t) * np.log(1 - x))
    for red in ("none", "sum", "mean"):
        y = F.binary_cross_entropy(kt.tensor(x), kt.tensor(t), kt.tensor(w), reduction=red)
        np.testing.assert_allclose(N(y), reduce_np(ref, red), rtol=1e-12)
    assert gradcheck(F.binary_cross_entropy, (D(x), D(t)))
    assert gradgradcheck(F.binary_cross_entropy, (D(x), D(t)))
    # logs are clamped at -100, so confident mistakes cost 100 and stay finite
    y = F.binary_cross_entropy(kt.tensor([0.0, 1.0, 1.0]), kt.tensor([1.0, 0.0, 1.0]),
                               reduction="none")
    np.testing.assert_allclose(N(y), [100.0, 100.0, 0.0])
    m = nn.BCELoss(weight=kt.ones(4))
    assert list(m.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(kt.tensor(x), kt.tensor(t[0]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(kt.tensor([1.5]), kt.tensor([1.0]))


def test_binary_cross_entropy_with_logits():
    x = rnd(3, 4) * 3
    t = RNG.random((3, 4))
    pw = RNG.random(4) * 3
    sp = lambda z: np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)  # noqa: E731
    ref = (1 - t) * x + (1 + (pw - 1) * t) * sp(-x)
    for red in ("none", "mean"):
        y = F.binary_cross_entropy_with_logits(kt.tensor(x), kt.tensor(t),
                                               pos_weight=kt.tensor(pw), reduction=red)
        np.testing.assert_allclose(N(y), reduce_np(ref, red), rtol=1e-12)
    plain = (1 - t) * x + sp(-x)
    np.testing.assert_allclose(N(F.binary_cross_entropy_with_logits(kt.tensor(x), kt.tensor(t))),
                               plain.mean(), rtol=1e-12)
    assert gradcheck(F.binary_cross_entropy_with_logits, (D(x), D(t)))
    assert gradgradcheck(F.binary_cross_entropy_with_logits, (D(x), D(t)))
    f = lambda a, b, p: F.binary_cross_entropy_with_logits(a, b, pos_weight=p)  # noqa: E731
    assert gradcheck(f, (D(x), D(t), D(pw)))
    assert gradgradcheck(f, (D(x), D(t), D(pw)))
    big = F.binary_cross_entropy_with_logits(kt.tensor([1000.0, -1000.0]),
                                             kt.tensor([0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(N(big), [1000.0, 1000.0])  # stable: no inf / nan
    m = nn.BCEWithLogitsLoss(pos_weight=kt.ones(4))
    assert list(m.state_dict()) == ["pos_weight"]
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(kt.tensor(x), kt.tensor(t[:, :2]))


# ---------------------------------------------------------------------- regression


def test_regression_losses():
    x, y = rnd(4, 5), rnd(4, 5)
    d = x - y
    ad = np.abs(d)
    refs = {
        "mse": (F.mse_loss, {}, d ** 2),
        "l1": (F.l1_loss, {}, ad),
        "smooth_l1": (F.smooth_l1_loss, {"beta": 0.5},
                      np.where(ad < 0.5, 0.5 * d ** 2 / 0.5, ad - 0.25)),
        "smooth_l1_b0": (F.smooth_l1_loss, {"beta": 0.0}, ad),
        "huber": (F.huber_loss, {"delta": 0.7},
                  np.where(ad < 0.7, 0.5 * d ** 2, 0.7 * (ad - 0.35))),
    }
    for name, (fn, kw, ref) in refs.items():
        for red in ("none", "sum", "mean"):
            np.testing.assert_allclose(N(fn(kt.tensor(x), kt.tensor(y), reduction=red, **kw)),
                                       reduce_np(ref, red), rtol=1e-12, err_msg=name)
        assert gradcheck(lambda a, b, fn=fn, kw=kw: fn(a, b, **kw), (D(x), D(y)))
        assert gradgradcheck(lambda a, b, fn=fn, kw=kw: fn(a, b, **kw), (D(x), D(y)))
    assert N(nn.MSELoss(reduction="sum")(kt.tensor(x), kt.tensor(y))) == pytest.approx(
        (d ** 2).sum())
    assert N(nn.SmoothL1Loss(beta=0.5)(kt.tensor(x), kt.tensor(y))) == pytest.approx(
        refs["smooth_l1"][2].mean())
    assert N(nn.HuberLoss(delta=0.7)(kt.tensor(x), kt.tensor(y))) == pytest.approx(
        refs["huber"][2].mean())
    assert N(nn.L1Loss()(kt.tensor(x), kt.tensor(y))) == pytest.approx(ad.mean())
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(kt.tensor(x), kt.tensor(y[0]))
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(kt.tensor(x), kt.tensor(y), beta=-1.0)


def test_kl_div():
    lp = log_softmax_np(rnd(3, 4), 1)
    p = np.exp(log_softmax_np(rnd(3, 4), 1))
    pointwise = p * (np.log(p) - lp)
    y = F.kl_div(kt.tensor(lp), kt.tensor(p), reduction="batchmean")
    np.testing.assert_allclose(N(y), pointwise.sum() / 3, rtol=1e-12)
    y2 = nn.KLDivLoss(reduction="sum", log_target=True)(kt.tensor(lp), kt.tensor(np.log(p)))
    np.testing.assert_allclose(N(y2), pointwise.sum(), rtol=1e-12)
    with pytest.warns(UserWarning, match="batchmean"):
        y3 = F.kl_div(kt.tensor(lp), kt.tensor(p))
    np.testing.assert_allclose(N(y3), pointwise.mean(), rtol=1e-12)
    np.testing.assert_allclose(N(F.kl_div(kt.tensor(lp), kt.tensor([[0.0, 1, 0, 0]] * 3),
                                          reduction="sum")), -lp[:, 1].sum(), rtol=1e-12)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"), (D(lp), D(p)))
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction="sum", log_target=True),
                     (D(lp), D(np.log(p))))


def test_margin_and_pair_losses():
    a, b, c = rnd(4, 5), rnd(4, 5), rnd(4, 5)
    y = np.array([1.0, -1.0, 1.0, -1.0])
    # cosine embedding
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    ref = np.where(y == 1, 1 - cos, np.maximum(cos - 0.1, 0))
    np.testing.assert_allclose(N(F.cosine_embedding_loss(kt.tensor(a), kt.tensor(b),
                                                         kt.tensor(y), 0.1, reduction="none")),
                               ref, rtol=1e-12)
    assert gradcheck(lambda u, v: F.cosine_embedding_loss(u, v, kt.tensor(y), -0.5),
                     (D(a), D(b)))
    # margin ranking
    x1, x2 = rnd(4), rnd(4)
    np.testing.assert_allclose(N(nn.MarginRankingLoss(0.3)(kt.tensor(x1), kt.tensor(x2),
                                                           kt.tensor(y))),
                               np.maximum(-y * (x1 - x2) + 0.3, 0).mean(), rtol=1e-12)
    assert gradcheck(lambda u, v: F.margin_ranking_loss(u, v, kt.tensor(y), 0.3),
                     (D(x1), D(x2)))
    # hinge embedding
    np.testing.assert_allclose(N(nn.HingeEmbeddingLoss(0.5)(kt.tensor(x1), kt.tensor(y))),
                               np.where(y == 1, x1, np.maximum(0.5 - x1, 0)).mean(), rtol=1e-12)
    # triplet
    dist = lambda u, v: np.linalg.norm(u - v + 1e-6, axis=1)  # noqa: E731
    ref = np.maximum(dist(a, b) - dist(a, c) + 1.0, 0).mean()
    np.testing.assert_allclose(N(nn.TripletMarginLoss()(kt.tensor(a), kt.tensor(b),
                                                        kt.tensor(c))), ref, rtol=1e-12)
    ref_swap = np.maximum(dist(a, b) - np.minimum(dist(a, c), dist(b, c)) + 2.0, 0).mean()
    np.testing.assert_allclose(N(F.triplet_margin_loss(kt.tensor(a), kt.tensor(b),
                                                       kt.tensor(c), 2.0, swap=True)),
                               ref_swap, rtol=1e-12)
    assert gradcheck(lambda u, v, w: F.triplet_margin_loss(u, v, w, 3.0, swap=True),
                     (D(a), D(b), D(c)))
    # soft margin / multilabel soft margin
    sp = lambda z: np.log1p(np.exp(z))  # noqa: E731
    yy = np.sign(rnd(4, 5))
    np.testing.assert_allclose(N(nn.SoftMarginLoss()(kt.tensor(a), kt.tensor(yy))),
                               sp(-yy * a).mean(), rtol=1e-12)
    y01 = (yy > 0).astype(float)
    w = RNG.random(5)
    ref = ((y01 * sp(-a) + (1 - y01) * sp(a)) * w).mean(1).mean()
    np.testing.assert_allclose(N(nn.MultiLabelSoftMarginLoss(weight=kt.tensor(w))(
        kt.tensor(a), kt.tensor(y01))), ref, rtol=1e-12)
    assert gradcheck(lambda u: F.multilabel_soft_margin_loss(u, kt.tensor(y01)), (D(a),))
    assert gradcheck(lambda u: F.soft_margin_loss(u, kt.tensor(yy)), (D(a),))


def test_gaussian_and_poisson_nll():
    x, y = rnd(4, 3), rnd(4, 3)
    var = RNG.random((4, 3)) + 0.1
    ref = 0.5 * (np.log(var) + (x - y) ** 2 / var) + 0.5 * math.log(2 * math.pi)
    out = nn.GaussianNLLLoss(full=True)(kt.tensor(x), kt.tensor(y), kt.tensor(var))
    np.testing.assert_allclose(N(out), ref.mean(), rtol=1e-12)
    assert gradcheck(F.gaussian_nll_loss, (D(x), D(y), D(var)))
    v1 = RNG.random(4) + 0.1  # one variance per sample
    ref1 = 0.5 * (np.log(v1[:, None]) + (x - y) ** 2 / v1[:, None])
    np.testing.assert_allclose(N(F.gaussian_nll_loss(kt.tensor(x), kt.tensor(y), kt.tensor(v1),
                                                     reduction="sum")), ref1.sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(kt.tensor(x), kt.tensor(y), kt.tensor(-var))
    rate = RNG.random((4, 3)) * 3
    ref = np.exp(x) - rate * x
    np.testing.assert_allclose(N(nn.PoissonNLLLoss()(kt.tensor(x), kt.tensor(rate))),
                               ref.mean(), rtol=1e-12)
    st = np.where(rate > 1, rate * np.log(rate) - rate + 0.5 * np.log(2 * math.pi * rate), 0)
    np.testing.assert_allclose(N(F.poisson_nll_loss(kt.tensor(x), kt.tensor(rate), full=True,
                                                    reduction="sum")), (ref + st).sum(),
                               rtol=1e-12)
    pos = RNG.random((4, 3)) + 0.1
    np.testing.assert_allclose(N(F.poisson_nll_loss(kt.tensor(pos), kt.tensor(rate),
                                                    log_input=False)),
                               (pos - rate * np.log(pos + 1e-8)).mean(), rtol=1e-12)
    assert gradcheck(lambda a, b: F.poisson_nll_loss(a, b, full=True), (D(x), D(rate)))


# ---------------------------------------------------------------------- CTC


def ctc_brute(lp, target, blank=0):
    """-log of the summed probability of every alignment that collapses to ``target``."""
    t_len, c = lp.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t_len):
        collapsed = [k for i, k in enumerate(path) if (i == 0 or k != path[i - 1])]
        if [k for k in collapsed if k != blank] == list(target):
            total += math.exp(sum(lp[i, k] for i, k in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


def test_ctc_matches_brute_force():
    logits = rnd(5, 2, 3)
    lp = log_softmax_np(logits, 2)
    targets = np.array([[1, 1], [2, 1]])  # the repeated label needs a blank in between
    il, tl = [5, 4], [2, 2]
    y = F.ctc_loss(kt.tensor(lp), T(targets), il, tl, reduction="none")
    ref = [ctc_brute(lp[:5, 0], [1, 1]), ctc_brute(lp[:4, 1], [2, 1])]
    np.testing.assert_allclose(N(y), ref, rtol=1e-10)
    # blank elsewhere than 0, one-label and empty targets
    y2 = F.ctc_loss(kt.tensor(lp), T([[0, 0], [1, 0]]), [5, 5], [2, 1], blank=2,
                    reduction="none")
    np.testing.assert_allclose(N(y2), [ctc_brute(lp[:, 0], [0, 0], 2),
                                       ctc_brute(lp[:, 1], [1], 2)], rtol=1e-10)
    y3 = F.ctc_loss(kt.tensor(lp), T([[1, 2], [1, 1]]), [3, 5], [0, 1], reduction="none")
    np.testing.assert_allclose(N(y3), [ctc_brute(lp[:3, 0], []), ctc_brute(lp[:, 1], [1])],
                               rtol=1e-10)


def test_ctc_reductions_and_target_formats():
    lp = log_softmax_np(rnd(6, 3, 4), 2)
    targets = np.array([[1, 2, 3], [3, 3, 0], [2, 0, 0]])
    il, tl = np.array([6, 5, 6]), np.array([3, 2, 1])
    none = N(F.ctc_loss(kt.tensor(lp), T(targets), T(il), T(tl), reduction="none"))
    ref = [ctc_brute(lp[:il[i], i], targets[i, :tl[i]]) for i in range(3)]
    np.testing.assert_allclose(none, ref, rtol=1e-10)
    np.testing.assert_allclose(N(F.ctc_loss(kt.tensor(lp), T(targets), il, tl,
                                            reduction="sum")), sum(ref), rtol=1e-10)
    mean = N(nn.CTCLoss()(kt.tensor(lp), T(targets), T(il), T(tl)))
    np.testing.assert_allclose(mean, np.mean(np.array(ref) / tl), rtol=1e-10)
    concat = np.concatenate([targets[i, :tl[i]] for i in range(3)])
    np.testing.assert_allclose(N(F.ctc_loss(kt.tensor(lp), T(concat), il, tl,
                                            reduction="none")), ref, rtol=1e-10)
    unb = F.ctc_loss(kt.tensor(lp[:, 0]), T(targets[0]), T(6), T(3), reduction="none")
    np.testing.assert_allclose(N(unb), ref[0], rtol=1e-10)


def test_ctc_gradients():
    logits = rnd(6, 2, 4)
    targets = T([[1, 2, 2], [3, 1, 0]])
    il, tl = [6, 4], [3, 2]

    def f(z, red="mean", **kw):
        return F.ctc_loss(F.log_softmax(z, 2), targets, il, tl, reduction=red, **kw)

    assert gradcheck(f, (D(logits),))
    assert gradcheck(lambda z: f(z, "none"), (D(logits),))
    assert gradcheck(lambda z: F.ctc_loss(F.log_softmax(z, 2), T([1, 2, 2, 3, 1]), il, tl,
                                          blank=0, reduction="sum"), (D(logits),))
    assert gradcheck(lambda z: F.ctc_loss(F.log_softmax(z, 2), T([[1, 0], [2, 1]]), [5, 6],
                                          [2, 2], blank=3), (D(logits),))
    # time steps past input_lengths get no gradient
    z = D(logits)
    f(z).backward()
    assert np.all(N(z.grad)[4:, 1] == 0) and np.any(N(z.grad)[:4, 1] != 0)


def test_ctc_impossible_alignment_and_zero_infinity():
    lp = kt.tensor(log_softmax_np(rnd(2, 1, 3), 2), requires_grad=True)
    y = F.ctc_loss(lp, T([[1, 1]]), [2], [2], reduction="sum")  # needs 3 frames
    assert math.isinf(y.item())
    z = D(rnd(2, 1, 3))
    y0 = F.ctc_loss(F.log_softmax(z, 2), T([[1, 1]]), [2], [2], zero_infinity=True)
    assert y0.item() == 0.0
    y0.backward()
    assert np.all(N(z.grad) == 0)
    with pytest.raises(RuntimeError, match="input_lengths"):
        F.ctc_loss(lp, T([[1]]), [3], [1])
    with pytest.raises(RuntimeError, match="blank"):
        F.ctc_loss(lp, T([[0]]), [2], [1])


def test_ctc_float32():
    lp = kt.tensor(log_softmax_np(rnd(8, 2, 5), 2).astype(np.float32), requires_grad=True)
    y = F.ctc_loss(lp, T([[1, 2], [3, 0]]), [8, 8], [2, 1])
    assert y.dtype == kt.float32
    y.backward()
    assert lp.grad.dtype == kt.float32 and np.all(np.isfinite(N(lp.grad)))


def test_loss_all_exports_and_legacy_flags():
    import importlib

    mod = importlib.import_module("ktrain.nn.functional.loss")
    for name in mod.__all__:
        assert getattr(F, name) is getattr(mod, name)
    with pytest.warns(UserWarning):
        m = nn.MSELoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
