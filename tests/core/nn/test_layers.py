"""Linear, activation, dropout, flatten, embedding and distance layers
(ktrain.nn.functional.{linear,activation,dropout,sparse,distance} and their modules):
values against closed-form numpy references, first and second derivatives against
finite differences, parameters/init/repr/state_dict against PyTorch's, train/eval
behaviour and error messages."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn as nn
import ktrain.nn.functional as F
from ktrain.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)


def rnd(*shape):
    return RNG.standard_normal(shape)


def D(arr):
    """A float64 leaf requiring grad."""
    return kt.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def N(t):
    return np.asarray(t.detach())


def away(*shape, kinks=(0.0,), margin=0.05):
    """Random values at least ``margin`` away from every kink (finite differences there
    are meaningless)."""
    x = rnd(*shape) * 2
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] += 3 * margin * np.sign(x[near] - k + 1e-12)
    return x


# ---------------------------------------------------------------------- activations

_erf = np.vectorize(math.erf)
_SIG = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
_SP = lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)  # noqa: E731
SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name: (ktrain fn, numpy reference, kinks)
ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), (0,)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), (0, 6)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), (0,)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), (0,)),
    "selu": (F.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), (0,)),
    "celu": (lambda x: F.celu(x, 1.5),
             lambda x: np.maximum(x, 0) + np.minimum(0, 1.5 * np.expm1(x / 1.5)), (0,)),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                   * (x + 0.044715 * x ** 3))), ()),
    "silu": (F.silu, lambda x: x * _SIG(x), ()),
    "mish": (F.mish, lambda x: x * np.tanh(_SP(x)), ()),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3, 3)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, (-3, 3)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5), (-0.5, 1.5)),
    "sigmoid": (F.sigmoid, _SIG, ()),
    "tanh": (F.tanh, np.tanh, ()),
    "softplus": (F.softplus, _SP, ()),
    "softplus_beta": (lambda x: F.softplus(x, 2.0, 1.0),
                      lambda x: np.where(2 * x > 1.0, x, np.log1p(np.exp(2 * x)) / 2), (0.5,)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), ()),
    "logsigmoid": (F.logsigmoid, lambda x: -_SP(-x), ()),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x), ()),
    "softshrink": (lambda x: F.softshrink(x, 0.5),
                   lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
                   (-0.5, 0.5)),
    "hardshrink": (lambda x: F.hardshrink(x, 0.5), lambda x: np.where(np.abs(x) > 0.5, x, 0),
                   (-0.5, 0.5)),
    "threshold": (lambda x: F.threshold(x, 0.1, -2.0), lambda x: np.where(x > 0.1, x, -2.0),
                  (0.1,)),
    "softmax": (lambda x: F.softmax(x, 1),
                lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True), ()),
    "log_softmax": (lambda x: F.log_softmax(x, 0),
                    lambda x: x - np.log(np.exp(x).sum(0, keepdims=True)), ()),
    "softmin": (lambda x: F.softmin(x, 1),
                lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True), ()),
    "glu": (lambda x: F.glu(x, 1), lambda x: x[:, :2] * _SIG(x[:, 2:]), ()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients(name):
    fn, ref, kinks = ACTIVATIONS[name]
    x = away(3, 4, kinks=kinks)
    np.testing.assert_allclose(N(fn(kt.tensor(x))), ref(x), rtol=1e-6, atol=1e-7)
    assert gradcheck(fn, (D(x),))
    assert gradgradcheck(fn, (D(x),))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_float32_stays_float32(name):
    fn, ref, kinks = ACTIVATIONS[name]
    x = kt.tensor(away(3, 4, kinks=kinks).astype(np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == kt.float32
    y.sum().backward()
    assert x.grad.dtype == kt.float32
    np.testing.assert_allclose(N(y), ref(N(x).astype(np.float64)), rtol=2e-5, atol=2e-6)


def test_activations_stable_at_extremes():
    x = kt.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    assert np.allclose(N(F.logsigmoid(x)), [-1000, -50, -math.log(2), 0, 0], atol=1e-6)
    assert np.allclose(N(F.softplus(x)), [0, 0, math.log(2), 50, 1000], atol=1e-6)
    assert np.allclose(N(F.silu(x)), [0, 0, 0, 50, 1000], atol=1e-6)
    assert np.all(np.isfinite(N(F.mish(x)))) and np.all(np.isfinite(N(F.gelu(x))))
    np.testing.assert_allclose(N(F.gelu(x)), [0, 0, 0, 50, 1000], atol=1e-5)


def test_relu_gradient_at_zero_is_zero_and_inplace():
    x = kt.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    F.relu(x).sum().backward()
    assert N(x.grad).tolist() == [0.0, 0.0, 1.0]
    a = kt.tensor([-1.0, 2.0])
    out = F.relu(a, inplace=True)
    assert out is a and N(a).tolist() == [0.0, 2.0]
    # in place on a non-leaf keeps the gradient right
    w = kt.tensor([-1.0, 3.0], requires_grad=True)
    h = w * 2
    nn.ReLU(inplace=True)(h).sum().backward()
    assert N(w.grad).tolist() == [0.0, 2.0]
    b = kt.tensor([-2.0, 0.5, 7.0])
    assert F.relu6(b, inplace=True) is b and N(b).tolist() == [0.0, 0.5, 6.0]


def _inplace_relu_cases():
    """relu_ on a plain non-leaf, on a reshape view of it (batch_norm's output), on a
    partial and a transposed view (CopySlices), through F.relu, nn.ReLU and Tensor.relu_."""
    def plain(x):
        return F.relu(x * 1.5, inplace=True).exp()

    def reshaped(x):
        b = x * 1.5
        v = nn.ReLU(inplace=True)(b.reshape(3, 20))
        return v * 2 + b.reshape(3, 20) * 3  # the base is rebased too

    def method(x):
        return (x * 1.5).reshape(60).relu_().pow(2)

    def partial(x):
        h = x * 1.5
        F.relu(h[1], inplace=True)
        F.relu(h.transpose(0, 2), inplace=True)
        return h
    return plain, reshaped, method, partial


@pytest.mark.parametrize("fn", _inplace_relu_cases(), ids=lambda f: f.__name__)
def test_inplace_relu_gradients(fn):
    x = kt.tensor(RNG.standard_normal((3, 4, 5)), dtype=kt.float64, requires_grad=True)
    assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


@pytest.mark.parametrize("apply", [lambda t: F.relu(t, inplace=True), lambda t: t.relu_(),
                                   lambda t: nn.ReLU(inplace=True)(t)])
def test_inplace_relu_saves_its_output_not_a_copy(apply):
    """relu_ under autograd writes over its input in one pass and saves that storage as
    its output (PyTorch's rule): no snapshot of the old values, no second result array,
    also on a reshape view (batch_norm's output); the version counter guards it."""
    import tracemalloc

    w = kt.tensor(RNG.standard_normal((64, 32, 28 * 28)).astype(np.float32),
                  requires_grad=True)
    apply(w.detach() * 1.0)  # a first call loads the compiled kernels (Numba): not the op's memory
    for view in (False, True):
        h = w * 1.0
        t = h.reshape(64, 32, 28, 28) if view else h
        arr = t._data
        tracemalloc.start()
        out = apply(t)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert out is t and out._data is arr and peak < arr.nbytes // 8, (view, peak)
        assert t.grad_fn.name() == "ReluBackward0" and t.grad_fn.saved_output._data is arr
        t.sum().backward()
        np.testing.assert_array_equal(N(w.grad), (N(w) > 0).astype(np.float32))
        w.grad = None
    h = w * 1.0
    F.relu(h, inplace=True).add_(1.0)  # the saved output changed: backward must refuse
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()
    h = w * 1.0
    s = h * h  # saves h's old values
    F.relu(h, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
    with kt.no_grad():
        v0 = h._version[0]
        assert F.relu(h, inplace=True) is h and h._version[0] == v0 + 1


def test_leaf_inplace_activation_errors():
    x = kt.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(x, inplace=True)


def test_gelu_bad_approximate():
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(kt.ones(2), approximate="fast")


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(kt.tensor(rnd(2, 3)))
    np.testing.assert_allclose(N(y).sum(1), 1.0, rtol=1e-6)
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


def test_glu_odd_dimension_error():
    with pytest.raises(RuntimeError, match="even"):
        F.glu(kt.ones(2, 3), 1)


def test_prelu_module():
    m = nn.PReLU(3)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert tuple(m.weight.shape) == (3,) and np.all(N(m.weight) == 0.25)
    assert repr(m) == "PReLU(num_parameters=3)"
    x = away(2, 3, 4, kinks=(0,))
    w = RNG.random(3)
    ref = np.where(x > 0, x, x * w[None, :, None])
    np.testing.assert_allclose(N(F.prelu(kt.tensor(x), kt.tensor(w))), ref, rtol=1e-12)
    assert gradcheck(F.prelu, (D(x), D(w)))
    assert gradcheck(F.prelu, (D(x), D(w[:1])))
    with pytest.raises(RuntimeError, match="prelu"):
        F.prelu(kt.ones(2, 4), kt.ones(3))


def test_activation_module_reprs():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.ELU(alpha=0.5, inplace=True)) == "ELU(alpha=0.5, inplace=True)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Hardtanh(-2.0, 2.0)) == "Hardtanh(min_val=-2.0, max_val=2.0)"
    assert repr(nn.ReLU6()) == "ReLU6()"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Threshold(0.1, 20)) == "Threshold(threshold=0.1, value=20)"
    x = kt.tensor(away(2, 6, kinks=(0, -3, 3)))
    for mod, fn in [(nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh), (nn.SiLU(), F.silu),
                    (nn.Mish(), F.mish), (nn.Hardswish(), F.hardswish),
                    (nn.Hardsigmoid(), F.hardsigmoid), (nn.SELU(), F.selu),
                    (nn.CELU(0.5), lambda t: F.celu(t, 0.5)), (nn.LogSigmoid(), F.logsigmoid),
                    (nn.GLU(), F.glu), (nn.LogSoftmax(1), lambda t: F.log_softmax(t, 1)),
                    (nn.Softmin(1), lambda t: F.softmin(t, 1)), (nn.Softsign(), F.softsign),
                    (nn.Tanhshrink(), F.tanhshrink)]:
        np.testing.assert_array_equal(N(mod(x)), N(fn(x)))


def test_rrelu_train_and_eval():
    m = nn.RReLU(0.1, 0.3)
    x = kt.tensor(-np.ones((100,)))
    y = N(m(x))
    assert np.all((y <= -0.1 + 1e-6) & (y >= -0.3 - 1e-6)) and y.std() > 0
    m.eval()
    np.testing.assert_allclose(N(m(x)), -0.2 * np.ones(100), rtol=1e-6)


# ---------------------------------------------------------------------- linear


def test_linear_parameters_and_init():
    kt.manual_seed(0)
    m = nn.Linear(10, 5)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert tuple(m.weight.shape) == (5, 10) and tuple(m.bias.shape) == (5,)
    assert m.weight.dtype == kt.float32 and m.weight.requires_grad
    assert list(m.state_dict()) == ["weight", "bias"]
    assert repr(m) == "Linear(in_features=10, out_features=5, bias=True)"
    assert np.abs(N(m.weight)).max() <= 1 / math.sqrt(10)
    assert np.abs(N(m.bias)).max() <= 1 / math.sqrt(10)
    big = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = N(big.weight), N(big.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound  # uniform(-b, b)
    assert np.abs(b).max() <= bound and abs(w.mean()) < 0.01 * bound
    nb = nn.Linear(3, 2, bias=False)
    assert nb.bias is None and list(nb.state_dict()) == ["weight"]
    assert "bias=False" in repr(nb)
    assert nn.Linear(3, 2, dtype=kt.float64).weight.dtype == kt.float64


def test_linear_values_and_gradients():
    x, w, b = rnd(4, 3), rnd(5, 3), rnd(5)
    np.testing.assert_allclose(N(F.linear(kt.tensor(x), kt.tensor(w), kt.tensor(b))),
                               x @ w.T + b, rtol=1e-12)
    x3 = rnd(2, 4, 3)
    np.testing.assert_allclose(N(F.linear(kt.tensor(x3), kt.tensor(w))), x3 @ w.T, rtol=1e-12)
    x1 = rnd(3)
    y1 = F.linear(kt.tensor(x1), kt.tensor(w), kt.tensor(b))
    assert tuple(y1.shape) == (5,)
    for xx in (x, x3, x1):
        assert gradcheck(F.linear, (D(xx), D(w), D(b)))
        assert gradgradcheck(F.linear, (D(xx), D(w), D(b)))
    assert gradcheck(lambda a, c: F.linear(a, c), (D(x3), D(w)))


def test_linear_module_forward_backward_float32():
    m = nn.Linear(6, 4)
    x = kt.tensor(rnd(8, 6).astype(np.float32), requires_grad=True)
    y = m(x)
    assert y.dtype == kt.float32
    y.sum().backward()
    np.testing.assert_allclose(N(m.bias.grad), np.full(4, 8.0))
    np.testing.assert_allclose(N(m.weight.grad), np.tile(N(x).sum(0), (4, 1)), rtol=1e-5)
    np.testing.assert_allclose(N(x.grad), np.tile(N(m.weight).sum(0), (8, 1)), rtol=1e-5)


def test_linear_errors():
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(4x3 and 5x2\)"):
        F.linear(kt.ones(4, 3), kt.ones(2, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(kt.ones(4, 3), kt.ones(2, 3, dtype=kt.float64))
    with pytest.raises(RuntimeError, match="in_features|expects 3"):
        nn.Linear(3, 2)(kt.ones(2, 4))


def test_bilinear():
    m = nn.Bilinear(3, 2, 4)
    assert tuple(m.weight.shape) == (4, 3, 2) and tuple(m.bias.shape) == (4,)
    assert np.abs(N(m.weight)).max() <= 1 / math.sqrt(3)
    assert repr(m) == "Bilinear(in1_features=3, in2_features=2, out_features=4, bias=True)"
    a, b, w, c = rnd(5, 3), rnd(5, 2), rnd(4, 3, 2), rnd(4)
    ref = np.einsum("ni,oij,nj->no", a, w, b) + c
    np.testing.assert_allclose(N(F.bilinear(kt.tensor(a), kt.tensor(b), kt.tensor(w),
                                            kt.tensor(c))), ref, rtol=1e-10)
    assert gradcheck(F.bilinear, (D(a), D(b), D(w), D(c)))
    with pytest.raises(RuntimeError, match="bilinear"):
        F.bilinear(kt.ones(2, 3), kt.ones(2, 3), kt.ones(4, 3, 2))


def test_identity_flatten_unflatten():
    x = kt.tensor(rnd(2, 3, 4, 5))
    assert nn.Identity(3, foo=1)(x) is x
    assert tuple(nn.Flatten()(x).shape) == (2, 60)
    assert tuple(nn.Flatten(0, 2)(x).shape) == (24, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    u = nn.Unflatten(1, (3, 20))
    assert tuple(u(nn.Flatten()(x)).shape) == (2, 3, 20)
    assert repr(u) == "Unflatten(dim=1, unflattened_size=(3, 20))"
    xx = D(rnd(2, 6))
    assert gradcheck(lambda t: nn.Unflatten(1, (2, 3))(t), (xx,))
    with pytest.raises(TypeError):
        nn.Unflatten(1, 6)


# ---------------------------------------------------------------------- dropout


def test_dropout_training_statistics_and_gradient():
    kt.manual_seed(3)
    x = kt.ones(200, 500, requires_grad=True)
    y = F.dropout(x, 0.3, training=True)
    v = N(y)
    kept = v != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(v[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(N(x.grad), v)  # the gradient is the scaled mask
    assert y.dtype == kt.float32


def test_dropout_reproducible_and_eval():
    x = kt.ones(50, 50)
    kt.manual_seed(11)
    a = N(F.dropout(x, 0.5))
    kt.manual_seed(11)
    b = N(F.dropout(x, 0.5))
    np.testing.assert_array_equal(a, b)
    m = nn.Dropout(0.5)
    assert repr(m) == "Dropout(p=0.5, inplace=False)"
    m.eval()
    assert m(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(N(F.dropout(x, 1.0)) == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


def test_dropout_inplace():
    kt.manual_seed(1)
    x = kt.ones(20, 20)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(N(x)).tolist()) <= {0.0, 2.0}


def test_dropout_channelwise():
    kt.manual_seed(5)
    x = kt.ones(8, 16, 5, 5)
    y = N(nn.Dropout2d(0.5)(x))
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1
    y1 = N(F.dropout1d(kt.ones(4, 16, 7), 0.5))
    assert np.all((y1 == 0).all(-1) | (y1 == 2.0).all(-1))
    y2 = F.dropout1d(kt.ones(16, 7), 0.5)  # unbatched (C, L)
    assert tuple(y2.shape) == (16, 7)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(kt.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(kt.ones(2, 3, 4))
    x2 = D(np.ones((2, 3, 2, 2)))
    kt.manual_seed(0)
    y = F.dropout2d(x2, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(N(x2.grad), N(y))


def test_alpha_dropout_keeps_moments():
    kt.manual_seed(2)
    x = kt.randn(400, 500)
    y = N(nn.AlphaDropout(0.2).train()(x))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.03
    assert nn.AlphaDropout(0.2).eval()(x) is x
    xs = D(rnd(3, 4))
    kt.manual_seed(9)
    y = F.alpha_dropout(xs, 0.5, training=True)
    kt.manual_seed(9)
    assert gradcheck(lambda t: (kt.manual_seed(9), F.alpha_dropout(t, 0.5, True))[1], (xs,))
    assert y.requires_grad


# ---------------------------------------------------------------------- embedding


def test_embedding_module():
    kt.manual_seed(0)
    m = nn.Embedding(1000, 64, padding_idx=2)
    assert tuple(m.weight.shape) == (1000, 64) and list(m.state_dict()) == ["weight"]
    w = N(m.weight)
    assert np.all(w[2] == 0)
    assert abs(w.std() - 1) < 0.02 and abs(w.mean()) < 0.02  # N(0, 1)
    assert repr(m) == "Embedding(1000, 64, padding_idx=2)"
    assert nn.Embedding(5, 3, padding_idx=-1).padding_idx == 4
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)


def test_embedding_forward_and_gradient():
    w = rnd(6, 3)
    idx = np.array([[1, 2, 1], [0, 5, 1]])
    wt = D(w)
    y = F.embedding(kt.tensor(idx), wt, padding_idx=0)
    np.testing.assert_array_equal(N(y), w[idx])
    g = rnd(2, 3, 3)
    y.backward(kt.tensor(g))
    ref = np.zeros_like(w)
    np.add.at(ref, idx, g)
    ref[0] = 0  # the padding row gets no gradient
    np.testing.assert_allclose(N(wt.grad), ref, rtol=1e-12)
    # (the padding row is not used here: its missing gradient is PyTorch's semantics)
    assert gradcheck(lambda t: F.embedding(kt.tensor(idx), t, padding_idx=3), (D(w),))
    assert gradgradcheck(lambda t: F.embedding(kt.tensor(idx), t) * t.sum(), (D(w),))


def test_embedding_scale_grad_by_freq_and_max_norm():
    idx = np.array([1, 1, 1, 3])
    wt = D(rnd(5, 2))
    F.embedding(kt.tensor(idx), wt, scale_grad_by_freq=True).sum().backward()
    # each row's gradient is divided by its count in the batch (not a true derivative)
    np.testing.assert_allclose(N(wt.grad), [[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]])
    m = nn.Embedding(4, 3, max_norm=1.0)
    with kt.no_grad():
        m.weight.copy_(kt.tensor([[3.0, 4.0, 0.0], [0.1, 0.0, 0.0], [6.0, 8.0, 0.0],
                                  [0.0, 0.0, 9.0]]))
    out = N(m(kt.tensor([0, 1])))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), [1.0, 0.1], rtol=1e-5)
    np.testing.assert_allclose(N(m.weight)[0], [0.6, 0.8, 0.0], rtol=1e-5)  # renormed in place
    np.testing.assert_allclose(N(m.weight)[2], [6.0, 8.0, 0.0])  # unused rows untouched


def test_embedding_from_pretrained_and_errors():
    table = kt.tensor(rnd(4, 2))
    m = nn.Embedding.from_pretrained(table)
    assert not m.weight.requires_grad
    np.testing.assert_array_equal(N(m(kt.tensor([3, 0]))), N(table)[[3, 0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(IndexError, match="out of range"):
        m(kt.tensor([4]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        m(kt.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(3, 2, sparse=True)


def _bag_ref(w, idx, offsets, mode, psw=None, pad=None):
    bounds = list(offsets) + [len(idx)]
    out = []
    for s, e in zip(bounds[:-1], bounds[1:]):
        rows = [(w[i] * (1 if psw is None else psw[k])) for k, i in enumerate(idx[s:e], s)
                if i != pad]
        if not rows:
            out.append(np.zeros(w.shape[1]))
        elif mode == "sum":
            out.append(np.sum(rows, 0))
        elif mode == "mean":
            out.append(np.mean(rows, 0))
        else:
            out.append(np.max(rows, 0))
    return np.array(out)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(mode):
    w = rnd(10, 3)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    off = np.array([0, 2, 2, 5])  # bag 1 is empty
    y = F.embedding_bag(kt.tensor(idx), kt.tensor(w), kt.tensor(off), mode=mode)
    np.testing.assert_allclose(N(y), _bag_ref(w, idx, off, mode), rtol=1e-12)
    assert gradcheck(lambda t: F.embedding_bag(kt.tensor(idx), t, kt.tensor(off), mode=mode),
                     (D(w),))
    idx2 = np.array([[1, 2, 3], [4, 2, 2]])
    y2 = nn.EmbeddingBag(10, 3, mode=mode, padding_idx=2, _weight=kt.tensor(w))(kt.tensor(idx2))
    np.testing.assert_allclose(N(y2), _bag_ref(w, idx2.ravel(), [0, 3], mode, pad=2),
                               rtol=1e-12)


def test_embedding_bag_per_sample_weights_and_last_offset():
    w = rnd(10, 3)
    idx = np.array([1, 2, 4, 5, 4, 3])
    psw = RNG.random(6)
    off = np.array([0, 2, 6])
    y = F.embedding_bag(kt.tensor(idx), kt.tensor(w), kt.tensor(off), mode="sum",
                        per_sample_weights=kt.tensor(psw), include_last_offset=True)
    np.testing.assert_allclose(N(y), _bag_ref(w, idx, [0, 2], "sum", psw), rtol=1e-12)
    assert gradcheck(lambda t, p: F.embedding_bag(kt.tensor(idx), t, kt.tensor(off[:2]),
                                                  mode="sum", per_sample_weights=p),
                     (D(w), D(psw)))
    m = nn.EmbeddingBag(10, 3, mode="sum")
    assert repr(m) == "EmbeddingBag(10, 3, mode=sum)"
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(kt.tensor(idx), kt.tensor(w), kt.tensor(off), mode="mean",
                        per_sample_weights=kt.tensor(psw))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(kt.tensor(idx.reshape(2, 3)), kt.tensor(w), kt.tensor(off))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        F.embedding_bag(kt.tensor(idx), kt.tensor(w))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(kt.tensor(idx), kt.tensor(w), kt.tensor([1, 3]))


def test_one_hot():
    t = kt.tensor([0, 2, 1])
    oh = F.one_hot(t)
    assert oh.dtype == kt.int64
    np.testing.assert_array_equal(N(oh), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert tuple(F.one_hot(kt.tensor([[1], [0]]), 4).shape) == (2, 1, 4)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(t, 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(kt.tensor([-1, 0]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(kt.tensor([1.0]))


# ---------------------------------------------------------------------- distances


def test_cosine_similarity():
    a, b = rnd(4, 5), rnd(4, 5)
    ref = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(N(F.cosine_similarity(kt.tensor(a), kt.tensor(b))), ref,
                               rtol=1e-12)
    np.testing.assert_allclose(N(nn.CosineSimilarity(dim=0)(kt.tensor(a), kt.tensor(b))),
                               (a * b).sum(0) / (np.linalg.norm(a, axis=0)
                                                 * np.linalg.norm(b, axis=0)), rtol=1e-12)
    assert gradcheck(F.cosine_similarity, (D(a), D(b)))
    assert gradgradcheck(F.cosine_similarity, (D(a), D(b)))
    z = F.cosine_similarity(kt.zeros(1, 3), kt.ones(1, 3))  # eps keeps it finite
    assert N(z).tolist() == [0.0]
    # broadcasting
    assert tuple(F.cosine_similarity(kt.tensor(a), kt.tensor(b[:1])).shape) == (4,)


def test_pairwise_distance():
    a, b = rnd(4, 5), rnd(4, 5)
    ref = np.linalg.norm(a - b + 1e-6, axis=1)
    np.testing.assert_allclose(N(F.pairwise_distance(kt.tensor(a), kt.tensor(b))), ref,
                               rtol=1e-12)
    r1 = N(nn.PairwiseDistance(p=1.0, keepdim=True)(kt.tensor(a), kt.tensor(b)))
    np.testing.assert_allclose(r1, np.abs(a - b + 1e-6).sum(1, keepdims=True), rtol=1e-12)
    assert gradcheck(F.pairwise_distance, (D(a), D(b)))
    p = N(F.pdist(kt.tensor(a)))
    iu = np.triu_indices(4, 1)
    np.testing.assert_allclose(p, np.linalg.norm(a[iu[0]] - a[iu[1]], axis=1), rtol=1e-12)


def test_functional_all_exports_exist():
    import importlib

    for part in ("activation", "linear", "dropout", "sparse", "distance"):
        mod = importlib.import_module(f"ktrain.nn.functional.{part}")
        for name in mod.__all__:
            assert getattr(F, name) is getattr(mod, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.relu(kt.ones(2))


def test_blocked_activation_path(monkeypatch):
    """Large CPU inputs run block by block; the result must not depend on it."""
    import importlib

    mod = importlib.import_module("ktrain.ops.activation")  # where blocked() lives
    x = away(7, 23, kinks=(0, -3, 3, 0.5, -0.5, 0.1, 1.5))  # not a multiple of the block
    names = ["gelu", "gelu_tanh", "silu", "mish", "softplus", "elu", "hardswish", "relu",
             "logsigmoid"]
    plain = {}
    for n in names:
        xt = D(x)
        y = ACTIVATIONS[n][0](xt)
        y.backward(kt.tensor(np.cos(x)))
        plain[n] = (N(y), N(xt.grad))
    monkeypatch.setattr(mod, "_BLOCK", 8)
    for n in names:
        xt = D(x)
        y = ACTIVATIONS[n][0](xt)
        y.backward(kt.tensor(np.cos(x)))
        np.testing.assert_array_equal(N(y), plain[n][0])
        np.testing.assert_array_equal(N(xt.grad), plain[n][1])
        assert gradcheck(ACTIVATIONS[n][0], (D(x[:3]),))
