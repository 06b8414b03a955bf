"""Reductions (ktrain.ops.reduce): forward against numpy, gradients against finite
differences, dtype rules, error messages, and property-based checks."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ktrain as kt
from ktrain.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)


def rnd(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def leaf(arr):
    return kt.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def npa(t):
    return np.asarray(t.detach())


def close(a, b, **kw):
    a = npa(a) if isinstance(a, kt.Tensor) else np.asarray(a)
    kw.setdefault("atol", 1e-6)
    kw.setdefault("rtol", 1e-6)
    np.testing.assert_allclose(a, b, equal_nan=True, **kw)


def np_dims(dim):
    return tuple(dim) if isinstance(dim, list) else dim


# ------------------------------------------------------------------ forward vs numpy

# (ktrain fn(x, dim, keepdim), numpy fn(a, axis, keepdims)); dim None means all
FORWARD = {
    "sum": (lambda x, d, k: kt.sum(x, d, k), lambda a, d, k: a.sum(d, keepdims=k)),
    "mean": (lambda x, d, k: kt.mean(x, d, k), lambda a, d, k: a.mean(d, keepdims=k)),
    "var": (lambda x, d, k: kt.var(x, d, keepdim=k),
            lambda a, d, k: a.var(d, ddof=1, keepdims=k)),
    "var_c0": (lambda x, d, k: x.var(d, keepdim=k, correction=0),
               lambda a, d, k: a.var(d, keepdims=k)),
    "std": (lambda x, d, k: kt.std(x, d, keepdim=k),
            lambda a, d, k: a.std(d, ddof=1, keepdims=k)),
    "std_unbiased_false": (lambda x, d, k: x.std(d, False, k),
                           lambda a, d, k: a.std(d, keepdims=k)),
    "prod": (lambda x, d, k: kt.prod(x, d, k), lambda a, d, k: a.prod(d, keepdims=k)),
    "amax": (lambda x, d, k: kt.amax(x, () if d is None else d, k),
             lambda a, d, k: a.max(d, keepdims=k)),
    "amin": (lambda x, d, k: x.amin(() if d is None else d, k),
             lambda a, d, k: a.min(d, keepdims=k)),
    "logsumexp": (lambda x, d, k: kt.logsumexp(x, () if d is None else d, k),
                  lambda a, d, k: np.log(np.exp(a).sum(d, keepdims=k))),
    "norm": (lambda x, d, k: kt.norm(x, dim=d, keepdim=k),
             lambda a, d, k: np.sqrt((a * a).sum(d, keepdims=k))),
    "norm1": (lambda x, d, k: x.norm(1, d, k), lambda a, d, k: np.abs(a).sum(d, keepdims=k)),
    "norm3": (lambda x, d, k: x.norm(3, d, k),
              lambda a, d, k: (np.abs(a) ** 3).sum(d, keepdims=k) ** (1 / 3)),
    "norm_inf": (lambda x, d, k: x.norm(math.inf, d, k),
                 lambda a, d, k: np.abs(a).max(d, keepdims=k)),
    "norm_ninf": (lambda x, d, k: x.norm(-math.inf, d, k),
                  lambda a, d, k: np.abs(a).min(d, keepdims=k)),
    "norm0": (lambda x, d, k: x.norm(0, d, k),
              lambda a, d, k: (a != 0).sum(d, keepdims=k).astype(a.dtype)),
    "nansum": (lambda x, d, k: kt.nansum(x, d, k), lambda a, d, k: np.nansum(a, d, keepdims=k)),
    "nanmean": (lambda x, d, k: kt.nanmean(x, d, k),
                lambda a, d, k: np.nanmean(a, d, keepdims=k)),
    "all": (lambda x, d, k: kt.all(x > 0, d, k), lambda a, d, k: (a > 0).all(d, keepdims=k)),
    "any": (lambda x, d, k: (x > 1).any(d, k), lambda a, d, k: (a > 1).any(d, keepdims=k)),
}

DIM_CASES = [((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((3, 4), (0, 1)), ((2, 3, 4), 1),
             ((2, 3, 4), -2), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -3)), ((2, 3, 4), [1, 2]),
             ((5,), 0), ((5,), None), ((), None)]


@pytest.mark.parametrize("name", sorted(FORWARD))
@pytest.mark.parametrize("shape,dim", DIM_CASES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_forward_matches_numpy(name, shape, dim, keepdim):
    kfn, nfn = FORWARD[name]
    a = rnd(*shape)
    if a.size > 2:
        a.flat[1] = np.nan if name.startswith("nan") else a.flat[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's own ddof warnings for 1-element slices
        ref = nfn(a, np_dims(dim), keepdim)
    close(kfn(kt.tensor(a), dim, keepdim), ref)


@pytest.mark.parametrize("name", sorted(FORWARD))
def test_forward_non_contiguous(name):
    kfn, nfn = FORWARD[name]
    a = rnd(4, 3, 2)
    x = kt.tensor(a).permute(2, 0, 1)  # a strided view
    assert not x.is_contiguous()
    at = a.transpose(2, 0, 1)
    for dim in (None, 1, -1, (0, 2)):
        close(kfn(x, dim, False), nfn(at, np_dims(dim), False))


def test_sum_mean_dim_forms():
    a = rnd(2, 3, 4)
    x = kt.tensor(a)
    close(x.sum((-1, 0)), a.sum((0, 2)))
    close(x.sum([0, -2], keepdim=True), a.sum((0, 1), keepdims=True))
    close(kt.mean(x, (-1, -2)), a.mean((1, 2)))
    close(x.mean(dim=-3, keepdim=True), a.mean(0, keepdims=True))
    assert x.sum(()).shape == ()


def test_var_mean_std_mean():
    a = rnd(3, 5)
    v, m = kt.var_mean(kt.tensor(a), 1, keepdim=True)
    close(v, a.var(1, ddof=1, keepdims=True))
    close(m, a.mean(1, keepdims=True))
    s, m = kt.std_mean(kt.tensor(a), dim=0, correction=0)
    close(s, a.std(0))
    close(m, a.mean(0))
    # legacy positional forms: var(x, unbiased) and var(x, dim, unbiased, keepdim)
    close(kt.var(kt.tensor(a), False), a.var())
    close(kt.var(kt.tensor(a), 1, False, True), a.var(1, keepdims=True))
    close(kt.std(kt.tensor(a), 0, unbiased=True), a.std(0, ddof=1))
    close(kt.var(kt.tensor(a), correction=2), a.var(ddof=2))


def test_var_degenerate_denominator_is_nan_or_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warnings leak out
        assert math.isnan(kt.var(kt.tensor([3.0])).item())
        assert math.isinf(kt.var(kt.tensor([1.0, 2.0]), correction=2).item())


def test_cumsum_cumprod_forward():
    a = rnd(3, 4, 2)
    for d in (0, 1, 2, -1, -3):
        close(kt.cumsum(kt.tensor(a), d), np.cumsum(a, d))
        close(kt.tensor(a).cumprod(d), np.cumprod(a, d))
    xt = kt.tensor(a).transpose(0, 2)
    close(xt.cumsum(1), np.cumsum(a.transpose(2, 1, 0), 1))
    close(kt.cumsum(kt.tensor(2.5), 0), 2.5)
    close(kt.cumprod(kt.tensor(2.5), -1), 2.5)


def test_cumsum_inplace():
    x = kt.tensor([[1.0, 2.0], [3.0, 4.0]])
    x.cumsum_(0)
    close(x, [[1, 2], [4, 6]])
    y = kt.tensor([1, 2, 3], dtype=kt.int32)
    y.cumprod_(0)
    assert y.dtype == kt.int32 and y.tolist() == [1, 2, 6]


def test_softmax_log_softmax_forward():
    a = rnd(3, 4, 5)
    for d in (0, 1, -1):
        e = np.exp(a - a.max(d, keepdims=True))
        ref = e / e.sum(d, keepdims=True)
        close(kt.softmax(kt.tensor(a), d), ref)
        close(kt.tensor(a).log_softmax(d), np.log(ref))
        close(kt.softmax(kt.tensor(a), d).sum(d), np.ones(np.delete(a.shape, d % 3)))
    close(kt.softmax(kt.tensor(3.0), 0), 1.0)
    assert kt.softmax(kt.zeros(0, 3), 1).shape == (0, 3)


def test_softmax_is_stable():
    x = kt.tensor([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]], dtype=kt.float32)
    s = kt.softmax(x, 1)
    close(s, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    ls = kt.log_softmax(x, -1)
    assert np.isfinite(npa(ls)[0, :2]).all()
    close(ls[0, :2], [-math.log(2)] * 2, rtol=1e-6)
    assert s.dtype == kt.float32 and ls.dtype == kt.float32


def test_softmax_dtype_argument():
    x = kt.tensor([[1, 2, 3]])
    s = kt.softmax(x, 1, dtype=kt.float64)
    assert s.dtype == kt.float64
    close(s.sum(), 1.0)
    assert x.log_softmax(-1, dtype=kt.float32).dtype == kt.float32


def test_logsumexp_is_stable():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, 0.0]])
    close(kt.logsumexp(kt.tensor(a), 1), [1000 + math.log(2), -1000 + math.log(2), 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = kt.logsumexp(kt.tensor([[-np.inf, -np.inf], [np.inf, 1.0]]), 1)
        close(r, [-np.inf, np.inf])
        close(kt.logsumexp(kt.zeros(2, 0), 1), [-np.inf, -np.inf])
    assert kt.logsumexp(kt.tensor([[1, 2]]), 1).dtype == kt.float32  # ints become float


def test_logsumexp_keepdim_shapes():
    x = kt.tensor(rnd(2, 3, 4))
    assert kt.logsumexp(x, (0, 2), keepdim=True).shape == (1, 3, 1)
    assert x.logsumexp(-1).shape == (2, 3)


# ------------------------------------------------------------------ max / min / arg / median


def test_max_min_no_dim():
    a = rnd(3, 4)
    assert kt.max(kt.tensor(a)).item() == a.max()
    assert kt.tensor(a).min().item() == a.min()
    assert kt.max(kt.tensor(a)).shape == ()


def test_max_min_with_dim_named_tuple():
    a = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    r = kt.max(kt.tensor(a), 1)
    values, indices = r
    assert r.values is values and r.indices is indices and r[0] is values
    close(values, [5, 7])
    assert indices.dtype == kt.int64 and indices.tolist() == [1, 0]  # first occurrence
    r = kt.tensor(a).min(dim=0, keepdim=True)
    close(r.values, [[1, 2, 5]])
    assert r.indices.shape == (1, 3) and r.indices.tolist() == [[0, 1, 0]]
    r = kt.tensor(a).max(-1, True)
    assert r.values.shape == (2, 1)
    r0 = kt.max(kt.tensor(4.0), 0)  # a 0-d tensor
    assert r0.values.item() == 4.0 and r0.indices.item() == 0 and r0.indices.dtype == kt.int64


def test_max_non_contiguous():
    a = rnd(3, 4)
    x = kt.tensor(a).t()
    close(x.max(1).values, a.T.max(1))
    assert x.max(1).indices.tolist() == a.T.argmax(1).tolist()
    assert x.argmin(0).tolist() == a.T.argmin(0).tolist()


def test_max_with_tensor_is_maximum():
    a, b = kt.tensor([1.0, 5.0]), kt.tensor([3.0, 2.0])
    close(kt.max(a, b), [3, 5])
    close(a.min(b), [1, 2])


def test_max_nan_propagates():
    a = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    r = kt.max(kt.tensor(a), 1)
    close(r.values, [np.nan, 3])
    assert r.indices.tolist() == [1, 2]
    assert math.isnan(kt.amax(kt.tensor(a)).item())


def test_argmax_argmin():
    a = rnd(3, 4, 5)
    x = kt.tensor(a)
    assert kt.argmax(x).item() == a.argmax()
    assert kt.argmin(x).dtype == kt.int64
    for d in (0, 1, -1):
        assert kt.argmax(x, d).tolist() == a.argmax(d).tolist()
        assert x.argmin(d, keepdim=True).tolist() == a.argmin(d, keepdims=True).tolist()
    assert kt.argmax(x, keepdim=True).shape == (1, 1, 1)
    assert kt.argmax(kt.tensor([1, 3, 3])).item() == 1
    assert kt.argmax(kt.tensor(2.0), 0).item() == 0


def test_median():
    a = np.array([[3.0, 1.0, 2.0, 4.0], [5.0, 5.0, 1.0, 0.0]])
    assert kt.median(kt.tensor(a)).item() == 2.0  # lower median of 8 values
    r = kt.median(kt.tensor(a), 1)
    close(r.values, [2.0, 1.0])
    assert r.indices.tolist() == [2, 2]
    r = kt.tensor(a).median(0, keepdim=True)
    close(r.values, [[3, 1, 1, 0]])
    np.testing.assert_array_equal(np.take_along_axis(a, npa(r.indices), 0), npa(r.values))
    b = np.array([[1.0, np.nan, 3.0], [4.0, 2.0, 0.0]])
    close(kt.median(kt.tensor(b), 1).values, [np.nan, 2.0])
    close(kt.nanmedian(kt.tensor(b), 1).values, [1.0, 2.0])
    assert math.isnan(kt.median(kt.tensor(b)).item())
    assert kt.nanmedian(kt.tensor(b)).item() == 2.0
    assert kt.median(kt.tensor([4, 1, 3])).item() == 3


def test_aminmax():
    a = rnd(3, 4)
    r = kt.aminmax(kt.tensor(a))
    assert r.min.item() == a.min() and r.max.item() == a.max()
    r = kt.tensor(a).aminmax(dim=1, keepdim=True)
    close(r.min, a.min(1, keepdims=True))
    close(r.max, a.max(1, keepdims=True))


def test_all_any_count_nonzero():
    a = np.array([[0, 1, 2], [3, 0, 0]])
    x = kt.tensor(a)
    assert kt.all(x).dtype == kt.bool and kt.all(x).item() is False
    assert kt.any(x).item() is True
    assert kt.all(x, 1).tolist() == [False, False]
    assert kt.any(x, dim=0, keepdim=True).tolist() == [[True, True, True]]
    assert kt.all(x > -1, (0, 1)).item() is True
    assert kt.count_nonzero(x).item() == 3
    assert kt.count_nonzero(x).dtype == kt.int64
    assert x.count_nonzero(1).tolist() == [2, 1]
    assert kt.count_nonzero(x, (0, 1)).item() == 3
    assert kt.count_nonzero(kt.tensor(a.T).t(), -1).tolist() == [2, 1]


def test_nansum_nanmean():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    close(kt.nansum(kt.tensor(a)), 4.0)
    close(kt.nansum(kt.tensor(a), 1), [4.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        close(kt.nanmean(kt.tensor(a), 1), [2.0, np.nan])
    assert kt.nansum(kt.tensor([1, 2])).dtype == kt.int64


def test_norm_variants():
    a = rnd(3, 4)
    x = kt.tensor(a)
    close(kt.norm(x), np.linalg.norm(a))
    close(kt.norm(x, "fro"), np.linalg.norm(a, "fro"))
    close(kt.norm(x, "fro", dim=(0, 1)), np.linalg.norm(a))
    close(x.norm(2, 1), np.linalg.norm(a, axis=1))
    close(x.norm(p=1, dim=0, keepdim=True), np.abs(a).sum(0, keepdims=True))
    close(x.norm(math.inf), np.abs(a).max())
    close(x.norm(float("-inf"), -1), np.abs(a).min(-1))
    close(x.norm(0.5, 1), (np.abs(a) ** 0.5).sum(1) ** 2)
    close(kt.norm(kt.tensor([[1, 2]]), dtype=kt.float64), math.sqrt(5))


# ------------------------------------------------------------------ gradients


def _f(op, *args, **kw):
    return lambda x: op(x, *args, **kw)


GRAD_CASES = [
    ("sum", _f(kt.sum, (0, -1), True), (2, 3, 2)),
    ("mean", _f(kt.mean, -2), (2, 3, 2)),
    ("var_all", _f(kt.var), (3, 4)),
    ("var_dim", _f(kt.var, 1, keepdim=True), (3, 4)),
    ("var_neg_tuple", _f(kt.var, (-1, 0), correction=0), (2, 3, 2)),
    ("std_all", _f(kt.std), (3, 4)),
    ("std_dim", _f(kt.std, -1), (3, 4)),
    ("std_keep", _f(kt.std, 0, keepdim=True, correction=2), (4, 3)),
    ("var_mean", _f(kt.var_mean, 1), (3, 4)),
    ("std_mean", _f(kt.std_mean, 0, keepdim=True), (3, 4)),
    ("prod_all", _f(kt.prod), (2, 3)),
    ("prod_dim", _f(kt.prod, -1), (3, 4)),
    ("prod_keep", _f(kt.prod, 0, True), (3, 4)),
    ("max_all", _f(kt.max), (3, 4)),
    ("max_dim", lambda x: kt.max(x, 1).values, (3, 4)),
    ("max_dim_keep", lambda x: x.max(-2, keepdim=True)[0], (3, 4)),
    ("min_all", _f(kt.min), (3, 4)),
    ("min_dim", lambda x: kt.min(x, 0).values, (3, 4)),
    ("amax", _f(kt.amax, (0, -1)), (2, 3, 2)),
    ("amin_keep", _f(kt.amin, 1, True), (3, 4)),
    ("aminmax", lambda x: tuple(kt.aminmax(x, dim=1)), (3, 4)),
    ("median_all", _f(kt.median), (3, 5)),
    ("median_dim", lambda x: kt.median(x, -1).values, (3, 5)),
    ("nanmedian_dim", lambda x: kt.nanmedian(x, 0, True).values, (4, 3)),
    ("logsumexp", _f(kt.logsumexp, 1), (3, 4)),
    ("logsumexp_tuple_keep", _f(kt.logsumexp, (0, -1), True), (2, 3, 2)),
    ("softmax", _f(kt.softmax, 1), (3, 4)),
    ("softmax_neg", _f(kt.softmax, -3), (2, 3, 2)),
    ("log_softmax", _f(kt.log_softmax, 0), (3, 4)),
    ("log_softmax_neg", _f(kt.log_softmax, -1), (2, 3, 2)),
    ("cumsum", _f(kt.cumsum, 1), (3, 4)),
    ("cumsum_neg", _f(kt.cumsum, -3), (3, 2, 2)),
    ("cumprod", _f(kt.cumprod, 0), (4, 3)),
    ("cumprod_neg", _f(kt.cumprod, -1), (3, 4)),
    ("norm", _f(kt.norm), (3, 4)),
    ("norm_dim", _f(kt.norm, 2, 1, True), (3, 4)),
    ("norm1", _f(kt.norm, 1, -1), (3, 4)),
    ("norm3", _f(kt.norm, 3, 0), (3, 4)),
    ("norm_half", _f(kt.norm, 0.5, 1), (3, 4)),
    ("norm1_5", _f(kt.norm, 1.5), (3, 4)),
    ("norm_inf", _f(kt.norm, math.inf, 1), (3, 4)),
    ("norm_ninf", _f(kt.norm, -math.inf, (0, 1)), (3, 4)),
    ("nansum", _f(kt.nansum, 0), (3, 4)),
    ("nanmean", _f(kt.nanmean, 1, True), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shape):
    a = rnd(*shape)
    if name.startswith(("max", "min", "amax", "amin", "median", "nanmedian", "norm_inf",
                        "norm_ninf", "aminmax")):
        a = RNG.permutation(a.size).reshape(shape) / 3.0 - 1.7  # distinct: no kinks nearby
    if name.startswith("nan"):
        a.flat[2] = np.nan
    if name.startswith("norm") and not name.startswith("norm_inf"):
        a = a + np.sign(a) * 0.2  # away from |x| = 0
    assert gradcheck(fn, (leaf(a),))


@pytest.mark.parametrize("name,fn,shape", GRAD_CASES[::4], ids=[c[0] for c in GRAD_CASES[::4]])
def test_gradcheck_non_contiguous(name, fn, shape):
    """The same ops on a transposed (strided) view of the leaf."""
    a = rnd(*shape[::-1])
    if name.startswith(("max", "min", "amax", "amin", "median", "norm_inf")):
        a = RNG.permutation(a.size).reshape(a.shape) / 3.0 - 1.7
    if name.startswith("nan"):
        a.flat[2] = np.nan
    perm = tuple(range(len(shape)))[::-1]
    assert gradcheck(lambda x: fn(x.permute(*perm)), (leaf(a),))


GRADGRAD_CASES = [
    ("var", _f(kt.var, 1)),
    ("var_all", _f(kt.var)),
    ("std", _f(kt.std, 0, keepdim=True)),
    ("softmax", _f(kt.softmax, 1)),
    ("log_softmax", _f(kt.log_softmax, -1)),
    ("logsumexp", _f(kt.logsumexp, 0)),
    ("prod", _f(kt.prod, 1)),
    ("prod_all", _f(kt.prod)),
    ("norm", _f(kt.norm)),
    ("norm_dim", _f(kt.norm, 2, -1, True)),
    ("norm3", _f(kt.norm, 3, 1)),
    ("cumsum", _f(kt.cumsum, 1)),
    ("cumprod", _f(kt.cumprod, 1)),
    ("max_dim", lambda x: kt.max(x, 1).values),
    ("amax", _f(kt.amax, 0)),
]


@pytest.mark.parametrize("name,fn", GRADGRAD_CASES, ids=[c[0] for c in GRADGRAD_CASES])
def test_gradgradcheck(name, fn):
    a = rnd(2, 3) + np.where(RNG.random((2, 3)) > 0.5, 0.3, -0.3)
    if name.startswith(("max", "amax")):
        a = RNG.permutation(6).reshape(2, 3) / 2.0
    assert gradgradcheck(fn, (leaf(a),))


@pytest.mark.parametrize("zeros", [[], [1], [1, 4], [0, 2, 5]])
def test_prod_grad_with_zeros(zeros):
    a = rnd(2, 3) + 0.5
    a.flat[zeros] = 0.0
    x = leaf(a)
    kt.prod(x).backward()
    ref = np.array([np.prod(np.delete(a.ravel(), i)) for i in range(a.size)]).reshape(a.shape)
    close(x.grad, ref)
    assert np.isfinite(npa(x.grad)).all()
    # prod is multilinear, so central differences are exact even at the zeros
    assert gradcheck(lambda t: kt.prod(t, 1), (leaf(a),))
    assert gradcheck(lambda t: kt.prod(t, 0, keepdim=True), (leaf(a),))
    assert gradgradcheck(lambda t: kt.prod(t, 1), (leaf(a),))
    assert gradgradcheck(kt.prod, (leaf(a),))


def test_cumprod_grad_with_zeros():
    a = np.array([[2.0, 0.0, 3.0, 0.0, 1.5], [0.5, 1.5, 0.0, -2.0, 3.0], [1.0, 2.0, 3.0, 0.5, 4.0]])
    x = leaf(a)
    assert gradcheck(lambda t: kt.cumprod(t, 1), (x,))
    assert gradcheck(lambda t: kt.cumprod(t, 0), (leaf(a),))
    y = leaf(a)
    kt.cumprod(y, 1).sum().backward()
    assert np.isfinite(npa(y.grad)).all()


def test_max_dim_grad_goes_to_selected_element():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    kt.max(x, 1).values.sum().backward()
    close(x.grad, [[0, 1, 0], [1, 0, 0]])


def test_max_all_and_amax_split_ties_evenly():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 3.0]])
    kt.max(x).backward()
    close(x.grad, [[0, 1 / 3, 1 / 3], [0, 0, 1 / 3]])
    y = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    kt.amax(y, 1).sum().backward()
    close(y.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    z = leaf([[1.0, 1.0], [1.0, 2.0]])
    kt.amin(z, 0, keepdim=True).sum().backward()
    close(z.grad, [[0.5, 1], [0.5, 0]])


def test_median_grad():
    x = leaf([[3.0, 1.0, 2.0], [5.0, 4.0, 6.0]])
    kt.median(x, 1).values.sum().backward()
    close(x.grad, [[0, 0, 1], [1, 0, 0]])
    y = leaf([3.0, 1.0, 2.0, 2.0])
    kt.median(y).backward()
    close(y.grad, [0, 0, 0.5, 0.5])


def test_norm_grad_at_zero_is_zero():
    for p, dim in [(2, None), ("fro", 1), (3, 1), (1.5, None), (0.5, 1)]:
        x = leaf(np.zeros((2, 3)))
        kt.norm(x, p, dim).sum().backward()
        close(x.grad, np.zeros((2, 3)))
    x = leaf([[0.0, 0.0], [3.0, 4.0]])
    kt.norm(x, dim=1).sum().backward()
    close(x.grad, [[0, 0], [0.6, 0.8]])
    y = leaf([[0.0, 0.0], [1.0, 0.0]])
    kt.norm(y, 0.5, 1).sum().backward()
    assert np.isfinite(npa(y.grad)).all()


def test_std_grad_at_zero_is_zero():
    x = leaf(np.ones((2, 3)))
    kt.std(x, 1).sum().backward()
    close(x.grad, np.zeros((2, 3)))


def test_softmax_grad_of_sum_is_zero():
    x = leaf(rnd(3, 4))
    kt.softmax(x, 1).sum().backward()
    close(x.grad, np.zeros((3, 4)), atol=1e-12)


def test_nansum_grad_skips_nan():
    x = leaf([1.0, np.nan, 2.0])
    kt.nansum(x).backward()
    close(x.grad, [1, 0, 1])
    y = leaf([1.0, np.nan, 2.0])
    kt.nanmean(y).backward()
    close(y.grad, [0.5, 0, 0.5])


def test_no_grad_results_do_not_require_grad():
    x = leaf(rnd(3, 4))
    with kt.no_grad():
        assert not kt.var(x, 1).requires_grad
        assert not kt.max(x, 1).values.requires_grad
    r = kt.max(x, 1)
    assert r.values.requires_grad and not r.indices.requires_grad
    assert not kt.argmax(x).requires_grad and not kt.all(x).requires_grad


# ------------------------------------------------------------------ dtype rules

F32_OPS = [
    lambda x: kt.sum(x, 1), lambda x: kt.mean(x), lambda x: kt.var(x, 0), lambda x: kt.std(x),
    lambda x: kt.prod(x, 1), lambda x: kt.max(x), lambda x: kt.max(x, 1).values,
    lambda x: kt.amax(x, 0), lambda x: kt.median(x), lambda x: kt.median(x, 0).values,
    lambda x: kt.logsumexp(x, 1), lambda x: kt.softmax(x, 1), lambda x: kt.log_softmax(x, 0),
    lambda x: kt.cumsum(x, 1), lambda x: kt.cumprod(x, 0), lambda x: kt.norm(x),
    lambda x: kt.norm(x, 3, 1), lambda x: kt.norm(x, math.inf), lambda x: kt.nansum(x),
    lambda x: kt.nanmean(x, 1), lambda x: kt.var_mean(x, 1)[0], lambda x: kt.norm(x, 0),
]


@pytest.mark.parametrize("i", range(len(F32_OPS)))
def test_float32_stays_float32(i):
    x = kt.tensor(rnd(3, 4) + 2.0, dtype=kt.float32, requires_grad=True)
    out = F32_OPS[i](x)
    assert out.dtype == kt.float32
    out.sum().backward()
    assert x.grad.dtype == kt.float32


def test_integer_dtype_rules():
    xi = kt.tensor([[1, 2, 3], [4, 5, 6]], dtype=kt.int32)
    assert kt.sum(xi).dtype == kt.int64
    assert kt.sum(xi > 2).dtype == kt.int64 and kt.sum(xi > 2).item() == 4
    assert kt.prod(xi, 1).dtype == kt.int64 and kt.prod(xi, 1).tolist() == [6, 120]
    assert kt.cumsum(xi, 1).dtype == kt.int64
    assert kt.cumprod(xi > 0, 0).dtype == kt.int64
    assert kt.max(xi).dtype == kt.int32 and kt.amax(xi, 1).tolist() == [3, 6]
    assert kt.sum(xi, dtype=kt.float64).dtype == kt.float64
    assert kt.prod(xi, dtype=kt.float32).dtype == kt.float32
    assert kt.mean(xi, dtype=kt.float32).item() == 3.5


def test_sum_dtype_argument_keeps_grad_dtype():
    x = kt.tensor([1.0, 2.0], dtype=kt.float32, requires_grad=True)
    s = kt.sum(x, dtype=kt.float64)
    assert s.dtype == kt.float64
    s.backward()
    assert x.grad.dtype == kt.float32


@pytest.mark.parametrize("op", [kt.mean, kt.var, kt.std, kt.nanmean, kt.norm])
def test_reductions_of_ints_error_clearly(op):
    with pytest.raises(RuntimeError, match=op.__name__ + r"\(\).*(floating point|Long|int64)"):
        op(kt.tensor([1, 2, 3]))


def test_softmax_of_ints_errors_clearly():
    with pytest.raises(RuntimeError, match=r"softmax\(\): expected a floating point input"):
        kt.softmax(kt.tensor([1, 2]), 0)


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("call", [
    lambda x: kt.sum(x, 2), lambda x: kt.mean(x, -3), lambda x: kt.var(x, (0, 5)),
    lambda x: kt.max(x, 2), lambda x: kt.argmax(x, -3), lambda x: kt.softmax(x, 2),
    lambda x: kt.cumsum(x, 3), lambda x: kt.norm(x, dim=2), lambda x: kt.logsumexp(x, 4),
    lambda x: kt.amax(x, -5), lambda x: kt.median(x, 2), lambda x: kt.all(x, 2),
    lambda x: kt.prod(x, 2), lambda x: kt.count_nonzero(x, 9),
])
def test_dim_out_of_range(call):
    with pytest.raises(IndexError, match=r"\(\): Dimension out of range \(expected to be in "
                                         r"range of \[-2, 1\].*shape \[2, 3\]"):
        call(kt.ones(2, 3))


def test_dim_error_names_op():
    with pytest.raises(IndexError, match=r"^logsumexp\(\)"):
        kt.logsumexp(kt.ones(2, 3), 2)
    with pytest.raises(IndexError, match=r"^std\(\).*but got -3"):
        kt.ones(2, 3).std(-3)


def test_duplicate_and_bad_type_dims():
    x = kt.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"sum\(\): dim 1 appears multiple times"):
        kt.sum(x, (1, -1))
    with pytest.raises(TypeError, match=r"mean\(\): dim must be an int"):
        kt.mean(x, 1.5)
    with pytest.raises(TypeError, match=r"max\(\): dim must be a single int"):
        kt.max(x, (0, 1))
    with pytest.raises(TypeError, match=r"softmax\(\): dim must be a single int"):
        kt.softmax(x, None)


def test_empty_reduction_errors():
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        kt.max(kt.ones(0, 3))
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero"):
        kt.max(kt.ones(0, 3), 0)
    with pytest.raises(IndexError, match=r"amin\(\).*dim 1.*\[2, 0\]"):
        kt.amin(kt.ones(2, 0), 1)
    with pytest.raises(RuntimeError, match=r"argmax\(\)"):
        kt.argmax(kt.ones(0))
    assert kt.max(kt.ones(0, 3), 1).values.shape == (0,)
    close(kt.sum(kt.ones(0, 3), 0), np.zeros(3))
    close(kt.prod(kt.ones(2, 0), 1), np.ones(2))


def test_bad_arguments():
    x = kt.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"var\(\): cannot specify both unbiased"):
        kt.var(x, 0, unbiased=True, correction=0)
    with pytest.raises(ValueError, match=r"norm\(\): unknown norm type p='abc'"):
        kt.norm(x, "abc")
    with pytest.raises(NotImplementedError, match="nuc"):
        kt.norm(x, "nuc")


def test_methods_and_exports():
    names = ["sum", "mean", "var", "std", "prod", "max", "min", "amax", "amin", "aminmax",
             "argmax", "argmin", "median", "nanmedian", "logsumexp", "softmax", "log_softmax",
             "cumsum", "cumprod", "norm", "all", "any", "count_nonzero", "nansum", "nanmean"]
    for n in names:
        assert callable(getattr(kt.Tensor, n)), n
    for n in kt.ops.reduce.__all__:
        assert getattr(kt, n) is getattr(kt.ops.reduce, n), n
    for n in names:
        assert kt.ops.reduce.__dict__[n].__doc__, n
    assert {"var_mean", "std_mean"} <= set(kt.ops.reduce.__all__)


# ------------------------------------------------------------------ property-based

_ELEMS = st.floats(-50, 50, allow_nan=False, allow_infinity=False, width=64)
_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
_PROP = settings(max_examples=100, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


@st.composite
def array_and_dims(draw, allow_multi=True):
    a = draw(hnp.arrays(np.float64, _SHAPES, elements=_ELEMS))
    nd = a.ndim
    if allow_multi:
        k = draw(st.integers(0, nd))
        axes = draw(st.permutations(range(nd)))[:k]
        dims = tuple(d - nd if draw(st.booleans()) else d for d in axes)
        dim = None if k == 0 else (dims[0] if k == 1 and draw(st.booleans()) else dims)
    else:
        d = draw(st.integers(-nd, nd - 1))
        dim = d
    return a, dim, draw(st.booleans())


def _np_axis(dim):
    return None if dim is None else (dim if isinstance(dim, int) else tuple(dim))


@_PROP
@given(array_and_dims())
def test_prop_sum_mean_var_std(case):
    a, dim, k = case
    x = kt.tensor(a)
    ax = _np_axis(dim)
    close(kt.sum(x, dim, k), a.sum(ax, keepdims=k), atol=1e-9)
    close(kt.mean(x, dim, k), a.mean(ax, keepdims=k), atol=1e-9)
    n = a.size if dim is None else int(np.prod([a.shape[d] for d in np.atleast_1d(ax)]))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cor = 1 if n > 1 else 0
        close(kt.var(x, dim, keepdim=k, correction=cor), a.var(ax, ddof=cor, keepdims=k),
              atol=1e-7)
        close(kt.std(x, dim, keepdim=k, correction=cor), a.std(ax, ddof=cor, keepdims=k),
              atol=1e-7)


@_PROP
@given(array_and_dims())
def test_prop_amax_logsumexp_prod(case):
    a, dim, k = case
    x = kt.tensor(a)
    ax = _np_axis(dim)
    d = () if dim is None else dim
    close(kt.amax(x, d, k), a.max(ax, keepdims=k))
    close(kt.amin(x, d, k), a.min(ax, keepdims=k))
    m = a.max(ax, keepdims=True)
    ref = np.log(np.exp(a - m).sum(ax, keepdims=True)) + m
    close(kt.logsumexp(x, d, k), ref if k else np.squeeze(ref, ax), rtol=1e-9, atol=1e-9)
    b = np.clip(a, -2, 2)  # keep products in range
    close(kt.prod(kt.tensor(b), dim, k), b.prod(ax, keepdims=k), rtol=1e-9, atol=1e-12)


@_PROP
@given(array_and_dims(allow_multi=False))
def test_prop_max_min_argmax_cumsum(case):
    a, dim, k = case
    a = np.round(a)  # provoke ties
    x = kt.tensor(a)
    r = kt.max(x, dim, k)
    close(r.values, a.max(dim, keepdims=k))
    np.testing.assert_array_equal(npa(r.indices), a.argmax(dim, keepdims=k))
    r = kt.min(x, dim, k)
    close(r.values, a.min(dim, keepdims=k))
    np.testing.assert_array_equal(npa(r.indices), a.argmin(dim, keepdims=k))
    np.testing.assert_array_equal(npa(kt.argmax(x, dim, k)), a.argmax(dim, keepdims=k))
    assert kt.argmax(x).item() == a.argmax()
    assert kt.max(x).item() == a.max() and kt.min(x).item() == a.min()
    close(kt.cumsum(x, dim), np.cumsum(a, dim), atol=1e-9)
    b = np.clip(a, -2, 2)
    close(kt.cumprod(kt.tensor(b), dim), np.cumprod(b, dim), atol=1e-9)


@_PROP
@given(array_and_dims(allow_multi=False))
def test_prop_softmax_and_grad(case):
    a, dim, _ = case
    x = leaf(a)
    s = kt.softmax(x, dim)
    e = np.exp(a - a.max(dim, keepdims=True))
    close(s, e / e.sum(dim, keepdims=True), atol=1e-12)
    g = RNG.standard_normal(a.shape)
    s.backward(kt.tensor(g))
    y = npa(s)
    close(x.grad, y * (g - (g * y).sum(dim, keepdims=True)), atol=1e-10)
