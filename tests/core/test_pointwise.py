"""Pointwise, matmul, shape and indexing ops: forward vs numpy, gradcheck, gradgradcheck."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ktrain as kt
from ktrain.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def t64(*shape, low=-1.0, high=1.0, rg=True):
    return kt.tensor(RNG.uniform(low, high, size=shape), dtype=kt.float64, requires_grad=rg)


def pos(*shape):
    return t64(*shape, low=0.5, high=2.0)


def noncontig(*shape):
    """A float64 leaf whose data is a transposed (non-contiguous) array."""
    arr = RNG.uniform(-1, 1, size=shape[::-1]).T
    t = kt.from_numpy(arr)
    assert not t.is_contiguous()
    return t.requires_grad_()


# (name, function, input factory): one line per op, as in tinygrad's test_ops
UNARY = [
    ("neg", lambda x: -x, lambda: t64(3, 4)),
    ("abs", kt.abs, lambda: t64(3, 4)),
    ("exp", kt.exp, lambda: t64(3, 4)),
    ("log", kt.log, lambda: pos(3, 4)),
    ("log1p", kt.log1p, lambda: pos(3, 4)),
    ("expm1", kt.expm1, lambda: t64(3, 4)),
    ("sqrt", kt.sqrt, lambda: pos(3, 4)),
    ("rsqrt", kt.rsqrt, lambda: pos(3, 4)),
    ("sin", kt.sin, lambda: t64(3, 4)),
    ("cos", kt.cos, lambda: t64(3, 4)),
    ("tan", kt.tan, lambda: t64(3, 4)),
    ("tanh", kt.tanh, lambda: t64(3, 4)),
    ("sigmoid", kt.sigmoid, lambda: t64(3, 4)),
    ("relu", kt.relu, lambda: t64(3, 4)),
    ("erf", kt.erf, lambda: t64(3, 4)),
    ("asin", kt.asin, lambda: t64(3, 4, low=-0.8, high=0.8)),
    ("acos", kt.acos, lambda: t64(3, 4, low=-0.8, high=0.8)),
    ("atan", kt.atan, lambda: t64(3, 4)),
    ("sinh", kt.sinh, lambda: t64(3, 4)),
    ("cosh", kt.cosh, lambda: t64(3, 4)),
    ("log2", kt.log2, lambda: pos(3, 4)),
    ("log10", kt.log10, lambda: pos(3, 4)),
    ("exp2", kt.exp2, lambda: t64(3, 4)),
    ("square", kt.square, lambda: t64(3, 4)),
    ("reciprocal", kt.reciprocal, lambda: pos(3, 4)),
    ("clamp", lambda x: x.clamp(-0.5, 0.5), lambda: t64(3, 4)),
    ("clamp_min", lambda x: x.clamp(min=0.1), lambda: t64(3, 4)),
    ("clamp_max", lambda x: x.clamp(max=0.1), lambda: t64(3, 4)),
    ("frac", kt.frac, lambda: t64(3, 4, low=0.1, high=0.9)),
    ("pow_scalar", lambda x: x ** 3, lambda: t64(3, 4)),
    ("pow_frac", lambda x: x ** 1.5, lambda: pos(3, 4)),
    ("rpow", lambda x: 2.0 ** x, lambda: t64(3, 4)),
    ("rsub", lambda x: 1.0 - x, lambda: t64(3, 4)),
    ("rdiv", lambda x: 1.0 / x, lambda: pos(3, 4)),
    ("logit", kt.logit, lambda: t64(3, 4, low=0.2, high=0.8)),
    ("xlogy", lambda x: kt.xlogy(x, x), lambda: pos(3, 4)),
    ("nan_to_num", kt.nan_to_num, lambda: t64(3, 4)),
    ("noncontig_exp", kt.exp, lambda: noncontig(3, 4)),
    ("noncontig_sigmoid", kt.sigmoid, lambda: noncontig(4, 3)),
]

BINARY = [
    ("add", lambda a, b: a + b, (3, 4), (3, 4)),
    ("add_bcast", lambda a, b: a + b, (3, 4), (4,)),
    ("add_alpha", lambda a, b: kt.add(a, b, alpha=2.5), (3, 4), (1, 4)),
    ("sub_bcast", lambda a, b: a - b, (2, 1, 4), (3, 1)),
    ("mul_bcast", lambda a, b: a * b, (2, 3, 4), (3, 1)),
    ("div_bcast", lambda a, b: a / (b * b + 1), (3, 4), (1, 4)),
    ("pow", lambda a, b: (a * a + 0.5) ** b, (3, 4), (3, 4)),
    ("maximum", kt.maximum, (3, 4), (4,)),
    ("minimum", kt.minimum, (3, 4), (3, 1)),
    ("atan2", kt.atan2, (3, 4), (3, 4)),
    ("hypot", kt.hypot, (3, 4), (3, 4)),
    ("where", lambda a, b: kt.where(a > 0, a, b), (3, 4), (4,)),
    ("remainder", lambda a, b: kt.remainder(a, b.abs() + 0.5), (3, 4), (3, 4)),
    ("fmod", lambda a, b: kt.fmod(a, b.abs() + 0.5), (3, 4), (3, 4)),
    ("lerp", lambda a, b: kt.lerp(a, b, 0.3), (3, 4), (3, 4)),
    ("addcmul", lambda a, b: kt.addcmul(a, a, b, value=0.5), (3, 4), (4,)),
    ("addcdiv", lambda a, b: kt.addcdiv(a, a, b * b + 1, value=0.5), (3, 4), (4,)),
    ("clamp_tensor", lambda a, b: a.clamp(min=b), (3, 4), (4,)),
    ("matmul_2d", lambda a, b: a @ b, (3, 4), (4, 2)),
    ("matmul_mv", lambda a, b: a @ b, (3, 4), (4,)),
    ("matmul_vm", lambda a, b: a @ b, (4,), (4, 3)),
    ("matmul_vv", lambda a, b: a @ b, (4,), (4,)),
    ("matmul_batched", lambda a, b: a @ b, (2, 3, 4), (4, 2)),
    ("matmul_bcast_batch", lambda a, b: a @ b, (2, 1, 3, 4), (3, 4, 2)),
    ("matmul_1d_batched", lambda a, b: a @ b, (4,), (2, 4, 3)),
    ("bmm", kt.bmm, (2, 3, 4), (2, 4, 5)),
    ("addmm", lambda a, b: kt.addmm(a[:, :2].sum(0), a, b, beta=0.5, alpha=2.0), (3, 4), (4, 2)),
]

SHAPE = [
    ("reshape", lambda x: x.reshape(4, 3)),
    ("reshape_infer", lambda x: x.reshape(-1, 2)),
    ("view", lambda x: x.view(2, 6)),
    ("flatten", lambda x: x.flatten()),
    ("unflatten", lambda x: x.unflatten(1, (2, 2))),
    ("transpose", lambda x: x.transpose(0, 1) * 2),
    ("permute", lambda x: x.unsqueeze(0).permute(2, 0, 1)),
    ("T", lambda x: x.T),
    ("mT", lambda x: x.mT),
    ("squeeze", lambda x: x.unsqueeze(1).squeeze(1)),
    ("squeeze_all", lambda x: x.reshape(3, 1, 4, 1).squeeze()),
    ("unsqueeze_neg", lambda x: x.unsqueeze(-1)),
    ("expand", lambda x: x[:, :1].expand(3, 5)),
    ("expand_new_dim", lambda x: x.expand(2, 3, 4)),
    ("movedim", lambda x: x.unsqueeze(0).movedim(0, 2)),
    ("contiguous", lambda x: x.T.contiguous()),
    ("clone", lambda x: x.clone()),
    ("getitem_int", lambda x: x[1]),
    ("getitem_slice", lambda x: x[1:, ::2]),
    ("getitem_neg_step_free", lambda x: x[..., -2:]),
    ("getitem_none", lambda x: x[None, :, 1]),
    ("getitem_list", lambda x: x[[0, 2, 0]]),
    ("getitem_mask", lambda x: x[x > 0]),
    ("getitem_tensor_idx", lambda x: x[kt.tensor([2, 0]), 1:3]),
    ("getitem_2_arrays", lambda x: x[kt.tensor([0, 1, 1]), kt.tensor([3, 0, 3])]),
    ("index_put", lambda x: kt.index_put(x, (kt.tensor([0, 2]),), x[1] * 2)),
    ("to_same_dtype", lambda x: x.double() * 1.0),
]


@pytest.mark.parametrize("name,fn,make", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck(name, fn, make):
    x = make()
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("name,fn,sa,sb", BINARY, ids=[b[0] for b in BINARY])
def test_binary_gradcheck(name, fn, sa, sb):
    a, b = t64(*sa), t64(*sb)
    assert gradcheck(fn, (a, b))


@pytest.mark.parametrize("name,fn", SHAPE, ids=[s[0] for s in SHAPE])
def test_shape_gradcheck(name, fn):
    assert gradcheck(fn, (t64(3, 4),))


GRADGRAD = ["exp", "log", "sqrt", "tanh", "sigmoid", "sin", "pow_frac", "rdiv", "erf"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_unary_gradgradcheck(name):
    _, fn, make = next(u for u in UNARY if u[0] == name)
    assert gradgradcheck(fn, (make(),))


@pytest.mark.parametrize("name", ["mul_bcast", "div_bcast", "pow", "matmul_batched",
                                  "matmul_mv", "maximum", "where", "atan2"])
def test_binary_gradgradcheck(name):
    _, fn, sa, sb = next(b for b in BINARY if b[0] == name)
    assert gradgradcheck(fn, (t64(*sa), t64(*sb)))


@pytest.mark.parametrize("name", ["getitem_list", "getitem_mask", "transpose", "expand",
                                  "index_put"])
def test_shape_gradgradcheck(name):
    _, fn = next(s for s in SHAPE if s[0] == name)
    assert gradgradcheck(lambda x: fn(x) * fn(x), (t64(3, 4),))


def test_setitem_gradients():
    x = t64(3, 4)
    v = t64(4)

    def f(x, v):
        y = x * 1.0
        y[1] = v * 2
        y[0, 1:3] = 0.0
        return y

    assert gradcheck(f, (x, v))


# ------------------------------------------------------------------ forward vs numpy

floats = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                    elements=st.floats(-10, 10))


@settings(max_examples=40, deadline=None)
@given(floats)
def test_unary_forward_matches_numpy(a):
    x = kt.tensor(a)
    np.testing.assert_allclose(kt.exp(x).numpy(), np.exp(a))
    np.testing.assert_allclose(kt.tanh(x).numpy(), np.tanh(a))
    np.testing.assert_allclose(kt.sigmoid(x).numpy(), 1 / (1 + np.exp(-a)), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(kt.relu(x).numpy(), np.maximum(a, 0))
    np.testing.assert_allclose(kt.abs(x).numpy(), np.abs(a))
    np.testing.assert_allclose(x.clamp(-1, 2).numpy(), np.clip(a, -1, 2))
    np.testing.assert_allclose(kt.sign(x).numpy(), np.sign(a))
    np.testing.assert_allclose(kt.floor(x).numpy(), np.floor(a))
    np.testing.assert_allclose(kt.round(x).numpy(), np.round(a))
    np.testing.assert_allclose(kt.erf(x).numpy(), np.vectorize(math.erf)(a), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_binary_broadcast_matches_numpy(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    bshape = data.draw(hnp.broadcastable_shapes(shape, max_dims=3, max_side=4))
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    b = data.draw(hnp.arrays(np.float64, bshape, elements=st.floats(0.5, 5)))
    x, y = kt.tensor(a), kt.tensor(b)
    np.testing.assert_allclose((x + y).numpy(), a + b)
    np.testing.assert_allclose((x - y).numpy(), a - b)
    np.testing.assert_allclose((x * y).numpy(), a * b)
    np.testing.assert_allclose((x / y).numpy(), a / b)
    np.testing.assert_allclose((x // y).numpy(), a // b)
    np.testing.assert_allclose((x % y).numpy(), np.mod(a, b))
    np.testing.assert_allclose(kt.fmod(x, y).numpy(), np.fmod(a, b))
    np.testing.assert_allclose(kt.maximum(x, y).numpy(), np.maximum(a, b))
    np.testing.assert_array_equal((x < y).numpy(), a < b)
    np.testing.assert_array_equal((x == y).numpy(), a == b)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_shape_ops_match_numpy(data):
    a = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, max_side=4),
                             elements=st.floats(-5, 5)))
    x = kt.tensor(a)
    perm = data.draw(st.permutations(range(a.ndim)))
    np.testing.assert_array_equal(x.permute(*perm).numpy(), a.transpose(perm))
    np.testing.assert_array_equal(x.transpose(0, -1).numpy(), np.swapaxes(a, 0, -1))
    np.testing.assert_array_equal(x.reshape(-1).numpy(), a.reshape(-1))
    np.testing.assert_array_equal(x.flatten(1).numpy(), a.reshape(a.shape[0], -1))
    np.testing.assert_array_equal(x.unsqueeze(1).numpy(), np.expand_dims(a, 1))
    np.testing.assert_array_equal(x[..., ::2].numpy(), a[..., ::2])
    np.testing.assert_array_equal(x.mT.numpy(), np.swapaxes(a, -1, -2))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_matmul_matches_numpy(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    a = RNG.standard_normal(batch + (n, k))
    b = RNG.standard_normal((k, m))
    np.testing.assert_allclose((kt.tensor(a) @ kt.tensor(b)).numpy(), a @ b, rtol=1e-12)
    v = RNG.standard_normal(k)
    np.testing.assert_allclose((kt.tensor(a) @ kt.tensor(v)).numpy(), a @ v, rtol=1e-12)


# ------------------------------------------------------------------ dtype rules


def test_float32_stays_float32():
    x = kt.ones(3)
    assert x.dtype == kt.float32
    for y in (x * 2.5, x + 1, 2 * x, x / 3, x ** 2, x - True, kt.exp(x), x.sqrt(), x @ x,
              kt.where(x > 0, x, 0.0), x.clamp(0, 1), kt.sigmoid(x), x.sum(), x.mean()):
        assert y.dtype == kt.float32, y


def test_promotion_rules_follow_pytorch():
    i = kt.tensor([1, 2, 3])
    f = kt.tensor([1.0, 2.0, 3.0])
    d = kt.tensor([1.0], dtype=kt.float64)
    b = kt.tensor([True, False, True])
    assert i.dtype == kt.int64
    assert (i * 2.5).dtype == kt.float32  # a float scalar lifts ints to the default dtype
    assert (i + 1).dtype == kt.int64
    assert (i / 2).dtype == kt.float32  # true division of ints gives floats
    assert (i // 2).dtype == kt.int64
    assert (f + d).dtype == kt.float64
    assert (f + kt.tensor(2.0, dtype=kt.float64)).dtype == kt.float32  # 0-d tensors are weak
    assert (i + kt.tensor(2.0, dtype=kt.float64)).dtype == kt.float64  # higher category wins
    assert (b + b).dtype == kt.bool
    assert (b + 1).dtype == kt.int64
    assert (kt.tensor([1], dtype=kt.int32) + kt.tensor([1], dtype=kt.int64)).dtype == kt.int64
    assert (kt.tensor([1], dtype=kt.uint8) + kt.tensor([1], dtype=kt.int8)).dtype == kt.int16
    h = kt.tensor([1.0], dtype=kt.float16)
    assert (h * 2.0).dtype == kt.float16
    assert (h + i[:1]).dtype == kt.float16
    assert kt.exp(i).dtype == kt.float32
    assert kt.promote_types(kt.int32, kt.float16) == kt.float16
    assert kt.result_type(i, 2.5) == kt.float32


def test_default_dtype_switch():
    kt.set_default_dtype(kt.float64)
    try:
        assert kt.tensor([1.0]).dtype == kt.float64
        assert kt.ones(2).dtype == kt.float64
        assert (kt.tensor([1, 2]) * 0.5).dtype == kt.float64
    finally:
        kt.set_default_dtype(kt.float32)
    with pytest.raises(TypeError, match="floating"):
        kt.set_default_dtype(kt.int32)


def test_inplace_int_from_float_errors():
    i = kt.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5
    i += 2
    assert i.tolist() == [3, 4]


def test_gradient_of_broadcast_sums_back():
    a = kt.ones(3, 1, requires_grad=True)
    b = kt.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))


def test_matmul_shape_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"3x4 and 5x2"):
        kt.ones(3, 4) @ kt.ones(5, 2)


def test_broadcast_error_is_clear():
    with pytest.raises(ValueError):
        kt.ones(3) + kt.ones(4)


def test_comparisons_and_logic():
    x = kt.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True]
    assert ((x > 1.5) & (x < 2.5)).tolist() == [False, True, False]
    assert (~(x > 1.5)).tolist() == [True, False, False]
    assert kt.isclose(x, x + 1e-9).all()
    assert kt.equal(x, x.clone())
    assert not kt.equal(x, x[:2])
    with np.errstate(divide="ignore", invalid="ignore"):
        assert kt.isnan(x / 0 * 0).all()


def test_cast_gradient_returns_to_source_dtype():
    x = kt.ones(3, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == kt.float32
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 2])
