"""Tests of the index-based ops (ktrain.ops.scatter_gather, index_dim, masked, sorting):
gather/scatter, index_*, masked_*, take, sorting, unique, search."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ktrain as kt
from ktrain.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)
HYP = settings(max_examples=40, deadline=None)


def T(a, rg=False):
    """A tensor from a numpy array (float64 leaves for gradchecks)."""
    t = kt.tensor(np.asarray(a))
    return t.requires_grad_() if rg else t


def L(a):
    return kt.tensor(np.asarray(a, dtype=np.int64))


def npy(t):
    return t.detach().numpy()


def distinct(*shape):
    """float64 values without ties (for sort/topk/amax gradients)."""
    n = int(np.prod(shape))
    return RNG.permutation(n).reshape(shape) * 0.37 + RNG.uniform(0, 0.1, shape)


def rand_index(shape, size):
    return RNG.integers(0, size, shape)


def perm_index(shape, dim, size):
    """Indices without repeats along ``dim`` (at most ``size`` of them)."""
    shape = list(shape)
    moved = np.moveaxis(np.zeros(shape), dim, -1)
    k = moved.shape[-1]
    rows = [RNG.permutation(size)[:k] for _ in range(int(np.prod(moved.shape[:-1])))]
    idx = np.array(rows).reshape(moved.shape)
    return np.moveaxis(idx, -1, dim)


# ====================================================================== gather


@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1),
                                       ((2, 3, 4), 1), ((2, 3, 4), -3), ((2, 3, 4), 2)])
def test_gather_forward_matches_numpy(shape, dim):
    a = RNG.standard_normal(shape).astype(np.float32)
    ishape = list(shape)
    ishape[dim] = 6  # more indices than the dim has: allowed
    idx = rand_index(ishape, shape[dim])
    out = kt.gather(T(a), dim, L(idx))
    assert out.dtype == kt.float32
    np.testing.assert_array_equal(npy(out), np.take_along_axis(a, idx, axis=dim))
    np.testing.assert_array_equal(npy(T(a).gather(dim, L(idx))), npy(out))


def test_gather_index_smaller_and_non_contiguous():
    a = RNG.standard_normal((5, 4))
    x = T(a).t()  # (4, 5), non-contiguous
    assert not x.is_contiguous()
    idx = rand_index((2, 3), 4)
    out = kt.gather(x, 0, L(idx))
    np.testing.assert_array_equal(npy(out), np.take_along_axis(a.T[:, :3], idx, axis=0))
    idx_nc = L(rand_index((3, 2), 5)).t()  # non-contiguous index (2, 3)
    out = kt.gather(x, 1, idx_nc)
    np.testing.assert_array_equal(npy(out), np.take_along_axis(a.T[:2], npy(idx_nc), 1))


def test_gather_zero_dim_and_empty():
    assert kt.gather(kt.tensor(3.0), 0, L(0)).item() == 3.0
    out = kt.gather(T(np.ones((2, 3))), 1, L(np.zeros((2, 0))))
    assert out.shape == (2, 0)


def test_gather_errors():
    x = T(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="int64"):
        kt.gather(x, 1, kt.tensor([[0, 1]], dtype=kt.int32))
    with pytest.raises(RuntimeError, match=r"same number of dimensions.*\[2\].*\[2, 3\]"):
        kt.gather(x, 1, L([0, 1]))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        kt.gather(x, 1, L([[0, 3]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 0"):
        kt.gather(x, 0, L([[-1, 0]]))
    with pytest.raises(RuntimeError, match=r"index \[3, 1\].*input \[2, 3\]"):
        kt.gather(x, 1, L(np.zeros((3, 1))))
    with pytest.raises(IndexError, match="Dimension out of range"):
        kt.gather(x, 2, L([[0]]))
    with pytest.raises(TypeError, match="index"):
        kt.gather(x, 1, [[0]])


def test_gather_grad_accumulates_repeats():
    x = T(np.zeros((2, 3)), rg=True)
    kt.gather(x, 1, L([[0, 0, 2, 0], [1, 1, 1, 1]])).sum().backward()
    np.testing.assert_array_equal(npy(x.grad), [[3, 0, 1], [0, 4, 0]])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_gradcheck(dim):
    x = T(RNG.standard_normal((3, 4)), rg=True)
    ishape = [2, 3]
    ishape[dim] = 5
    idx = L(rand_index(ishape, x.shape[dim]))
    assert gradcheck(lambda a: kt.gather(a, dim, idx), (x,))
    assert gradgradcheck(lambda a: kt.gather(a, dim, idx), (x,))


@HYP
@given(data=st.data())
def test_gather_property(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e3, 1e3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(data.draw(st.integers(1, s)) for s in shape)
    ishape = ishape[:dim % len(shape)] + (data.draw(st.integers(0, 5)),) + \
        ishape[dim % len(shape) + 1:]
    idx = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[dim] - 1)))
    out = kt.gather(T(a), dim, L(idx))
    ax = dim % len(shape)
    sl = tuple(slice(None) if d == ax else slice(0, s) for d, s in enumerate(ishape))
    np.testing.assert_array_equal(npy(out), np.take_along_axis(a[sl], idx, axis=ax))


# ====================================================================== scatter family


def np_scatter(a, dim, idx, src, op="set"):
    out = a.copy()
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[dim] = idx[pos]
        v = src[pos] if isinstance(src, np.ndarray) else src
        if op == "set":
            out[tuple(tgt)] = v
        elif op == "add":
            out[tuple(tgt)] += v
        else:
            out[tuple(tgt)] *= v
    return out


@pytest.mark.parametrize("shape,dim", [((6,), 0), ((4, 5), 0), ((4, 5), 1), ((3, 4, 5), -2)])
def test_scatter_forward(shape, dim):
    a = RNG.standard_normal(shape).astype(np.float32)
    ishape = [max(1, s - 1) for s in shape]
    idx = perm_index(ishape, dim, shape[dim])
    src = RNG.standard_normal([s + 1 for s in shape]).astype(np.float32)  # larger src is fine
    out = kt.scatter(T(a), dim, L(idx), T(src))
    assert out.dtype == kt.float32
    np.testing.assert_array_equal(npy(out), np_scatter(a, dim % len(shape), idx, src))
    out = T(a).scatter(dim, L(idx), 2.5)
    np.testing.assert_array_equal(npy(out), np_scatter(a, dim % len(shape), idx, 2.5))
    out = T(a).scatter(dim, L(idx), value=-1)
    np.testing.assert_array_equal(npy(out), np_scatter(a, dim % len(shape), idx, -1.0))


def test_scatter_reduce_argument():
    a = RNG.standard_normal((3, 4))
    idx = rand_index((3, 6), 4)
    src = RNG.standard_normal((3, 6))
    out = kt.scatter(T(a), 1, L(idx), T(src), reduce="add")
    np.testing.assert_allclose(npy(out), np_scatter(a, 1, idx, src, "add"))
    out = kt.scatter(T(a), 1, L(idx), T(src), reduce="multiply")
    np.testing.assert_allclose(npy(out), np_scatter(a, 1, idx, src, "mul"))
    out = kt.scatter(T(a), 1, L(idx), value=2.0, reduce="multiply")
    np.testing.assert_allclose(npy(out), np_scatter(a, 1, idx, 2.0, "mul"))
    with pytest.raises(RuntimeError, match="'add' or 'multiply'.*'max'"):
        kt.scatter(T(a), 1, L(idx), T(src), reduce="max")


@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 2)])
def test_scatter_add_forward_repeats(shape, dim):
    a = RNG.standard_normal(shape)
    ishape = list(shape)
    ishape[dim] = 7
    idx = rand_index(ishape, shape[dim])
    src = RNG.standard_normal(ishape)
    out = kt.scatter_add(T(a), dim, L(idx), T(src))
    np.testing.assert_allclose(npy(out), np_scatter(a, dim % len(shape), idx, src, "add"))
    if len(shape) > 1:  # non-contiguous self and src
        nc = kt.scatter_add(T(np.swapaxes(a, 0, -1).copy()).transpose(0, -1), dim, L(idx),
                            T(np.swapaxes(src, 0, -1).copy()).transpose(0, -1))
        np.testing.assert_allclose(npy(nc), npy(out))
    ints = kt.scatter_add(L(np.zeros(shape)), dim, L(idx), L(np.ones(ishape)))
    assert ints.dtype == kt.int64
    assert ints.sum().item() == np.prod(ishape)


def test_scatter_errors():
    x = T(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="int64"):
        x.scatter(1, kt.tensor([[0]], dtype=kt.int32), 1.0)
    with pytest.raises(RuntimeError, match="same dtype.*float64.*float32"):
        x.scatter_add(1, L([[0]]), kt.ones(1, 1))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x.scatter_add(1, L([[0, 5]]), T(np.ones((1, 2))))
    with pytest.raises(RuntimeError, match=r"index \[1, 3\].*src \[1, 2\]"):
        x.scatter(1, L([[0, 1, 2]]), T(np.ones((1, 2))))
    with pytest.raises(RuntimeError, match=r"index \[3, 1\].*self \[2, 3\]"):
        x.scatter(1, L([[0], [1], [0]]), 1.0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.scatter(1, L([0]), 1.0)
    with pytest.raises(TypeError, match="src"):
        kt.scatter(x, 1, L([[0]]))
    with pytest.raises(RuntimeError, match="reduce argument.*'max'"):
        x.scatter_reduce(1, L([[0]]), T(np.ones((1, 1))), "max")


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_gradcheck(dim):
    x = T(RNG.standard_normal((3, 4)), rg=True)
    src = T(RNG.standard_normal((4, 5)), rg=True)  # larger than index: the rest gets 0
    idx = L(perm_index([2, 3], dim, x.shape[dim]))
    assert gradcheck(lambda a, s: kt.scatter(a, dim, idx, s), (x, src))
    assert gradcheck(lambda a: kt.scatter(a, dim, idx, value=1.5), (x,))
    g = kt.autograd.grad(kt.scatter(x, dim, idx, src).sum(), src)[0]
    assert npy(g)[2:].sum() == 0 and npy(g)[:, 3:].sum() == 0


def test_scatter_add_gradcheck_repeats():
    x = T(RNG.standard_normal((3, 4)), rg=True)
    src = T(RNG.standard_normal((3, 6)), rg=True)
    idx = L([[0, 0, 1, 3, 3, 3], [2, 2, 2, 2, 0, 1], [1, 0, 1, 0, 1, 0]])
    f = lambda a, s: kt.scatter_add(a, 1, idx, s)  # noqa: E731
    assert gradcheck(f, (x, src))
    assert gradgradcheck(f, (x, src))
    out = f(x, src)
    gx, gs = kt.autograd.grad(out, (x, src), T(np.ones((3, 4))))
    np.testing.assert_array_equal(npy(gx), np.ones((3, 4)))
    np.testing.assert_array_equal(npy(gs), np.ones((3, 6)))


def np_scatter_reduce(a, dim, idx, src, reduce, include_self):
    out = a.copy().astype(np.float64)
    groups = {}
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[dim] = idx[pos]
        groups.setdefault(tuple(tgt), []).append(src[pos])
    for tgt, vals in groups.items():
        vals = ([a[tgt]] if include_self else []) + vals
        f = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max,
             "amin": np.min}[reduce]
        out[tgt] = f(vals)
    return out


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_forward(reduce, include_self):
    a = RNG.standard_normal((3, 5))
    idx = rand_index((3, 6), 4)  # column 4 is never hit
    src = RNG.standard_normal((3, 6))
    out = kt.scatter_reduce(T(a), 1, L(idx), T(src), reduce, include_self=include_self)
    np.testing.assert_allclose(npy(out), np_scatter_reduce(a, 1, idx, src, reduce, include_self))
    f32 = kt.scatter_reduce(T(a.astype(np.float32)), 1, L(idx), T(src.astype(np.float32)),
                            reduce, include_self=include_self)
    assert f32.dtype == kt.float32


def test_scatter_reduce_mean_integer_floors():
    out = kt.scatter_reduce(L([0, 0]), 0, L([0, 0, 1]), L([3, 4, -3]), "mean",
                            include_self=False)
    np.testing.assert_array_equal(npy(out), [3, -3])  # floor((3 + 4) / 2), -3
    out = kt.scatter_reduce(L([1, 5]), 0, L([0, 0]), L([3, 4]), "amax")
    np.testing.assert_array_equal(npy(out), [4, 5])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    x = T(distinct(2, 4) + 0.5, rg=True)
    src = T(distinct(2, 5) + 0.5, rg=True)
    idx = L([[0, 0, 1, 1, 1], [3, 0, 3, 3, 0]])  # column 2 never hit
    f = lambda a, s: kt.scatter_reduce(a, 1, idx, s, reduce,  # noqa: E731
                                       include_self=include_self)
    assert gradcheck(f, (x, src))
    if reduce in ("prod", "amax", "mean"):
        assert gradgradcheck(f, (x, src))


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_grad_with_zeros(include_self):
    x = T([[2.0, 0.0, 3.0, 1.5]], rg=True)
    src = T([[0.0, 4.0, 0.0, 5.0, 0.5, 0.7]], rg=True)
    idx = L([[0, 0, 1, 2, 2, 3]])  # target 0: one zero; 1: two zeros (if self); 2, 3: none
    f = lambda a, s: kt.scatter_reduce(a, 1, idx, s, "prod",  # noqa: E731
                                       include_self=include_self)
    assert gradcheck(f, (x, src))


def test_scatter_reduce_amax_ties_share_gradient():
    x = T([1.0, 5.0], rg=True)
    src = T([2.0, 2.0, 5.0], rg=True)
    out = kt.scatter_reduce(x, 0, L([0, 0, 1]), src, "amax")
    out.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [0.0, 0.5])
    np.testing.assert_allclose(npy(src.grad), [0.5, 0.5, 0.5])


# ====================================================================== index_* family


@pytest.mark.parametrize("shape,dim", [((5,), 0), ((4, 3), 0), ((4, 3), 1), ((2, 3, 4), -1)])
def test_index_select_forward(shape, dim):
    a = RNG.standard_normal(shape).astype(np.float32)
    idx = rand_index((6,), shape[dim])
    out = kt.index_select(T(a), dim, L(idx))
    assert out.dtype == kt.float32
    np.testing.assert_array_equal(npy(out), np.take(a, idx, axis=dim))
    out32 = T(a).index_select(dim, kt.tensor(idx, dtype=kt.int32))
    np.testing.assert_array_equal(npy(out32), np.take(a, idx, axis=dim))
    nc = T(a).transpose(0, -1) if len(shape) > 1 else T(a)
    np.testing.assert_array_equal(npy(nc.index_select(0, L(idx[:2] % nc.shape[0]))),
                                  np.take(np.swapaxes(a, 0, -1), idx[:2] % nc.shape[0], 0))


def test_index_select_scalar_index_and_errors():
    x = T(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(npy(x.index_select(1, L(2))), [[2.0], [5.0]])
    with pytest.raises(IndexError, match="vector.*\\[1, 2\\]"):
        x.index_select(0, L([[0, 1]]))
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x.index_select(0, L([0, 2]))
    with pytest.raises(RuntimeError, match="int32 or int64"):
        x.index_select(0, kt.tensor([0.0]))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_gradcheck(dim):
    x = T(RNG.standard_normal((3, 4)), rg=True)
    idx = L([0, 2, 2, 1, 0])  # repeats accumulate
    idx = L(npy(idx) % x.shape[dim])
    assert gradcheck(lambda a: kt.index_select(a, dim, idx), (x,))
    assert gradgradcheck(lambda a: kt.index_select(a, dim, idx), (x,))


@pytest.mark.parametrize("dim,alpha", [(0, 1), (1, 2.5), (-1, -1)])
def test_index_add_forward_and_grad(dim, alpha):
    a = RNG.standard_normal((3, 4))
    idx = np.array([0, 2, 0, 1, 2, 2]) % a.shape[dim]
    sshape = list(a.shape)
    sshape[dim] = len(idx)
    s = RNG.standard_normal(sshape)
    out = kt.index_add(T(a), dim, L(idx), T(s), alpha=alpha)
    ref = a.copy()
    np.add.at(ref, (slice(None),) * (dim % 2) + (idx,), s * alpha)
    np.testing.assert_allclose(npy(out), ref)
    nc = kt.index_add(T(a.T.copy()).t(), dim, L(idx), T(s.T.copy()).t(), alpha=alpha)
    np.testing.assert_allclose(npy(nc), ref)
    x, src = T(a, rg=True), T(s, rg=True)
    f = lambda u, v: kt.index_add(u, dim, L(idx), v, alpha=alpha)  # noqa: E731
    assert gradcheck(f, (x, src))
    assert gradgradcheck(f, (x, src))


def test_index_add_errors():
    x = T(np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match=r"source of shape \[2, 3\].*expected shape \[2, 4\]"):
        x.index_add(0, L([0, 1]), T(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="same dtype"):
        x.index_add(0, L([0]), kt.ones(1, 4))
    with pytest.raises(RuntimeError, match="alpha"):
        L(np.zeros(3)).index_add(0, L([0]), L([1]), alpha=0.5)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_copy_and_fill(dim):
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    idx = RNG.permutation(a.shape[dim])[:2]
    sshape = list(a.shape)
    sshape[dim] = 2
    s = RNG.standard_normal(sshape).astype(np.float32)
    sl = (slice(None),) * (dim % 2) + (idx,)
    ref = a.copy()
    ref[sl] = s
    out = kt.index_copy(T(a), dim, L(idx), T(s))
    assert out.dtype == kt.float32
    np.testing.assert_array_equal(npy(out), ref)
    ref = a.copy()
    ref[sl] = -2.0
    np.testing.assert_array_equal(npy(T(a).index_fill(dim, L(idx), -2.0)), ref)
    np.testing.assert_array_equal(npy(T(a).index_fill(dim, L(idx), kt.tensor(-2.0))), ref)
    ints = L(np.arange(12).reshape(3, 4)).index_fill(dim, L(idx), 2.7)
    assert ints.dtype == kt.int64 and (npy(ints)[sl] == 2).all()
    # gradients
    x, src = T(a.astype(np.float64), rg=True), T(s.astype(np.float64), rg=True)
    assert gradcheck(lambda u, v: kt.index_copy(u, dim, L(idx), v), (x, src))
    v = T(np.array(0.3), rg=True)
    assert gradcheck(lambda u, w: kt.index_fill(u, dim, L(idx), w), (x, v))
    assert gradgradcheck(lambda u, w: kt.index_fill(u, dim, L(idx), w), (x, v))
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        T(a).index_fill(dim, L(idx), kt.ones(2))


# ====================================================================== masked ops


def test_masked_fill_forward_broadcast():
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    m = RNG.random((4,)) > 0.5
    out = kt.masked_fill(T(a), T(m), 7.5)
    assert out.dtype == kt.float32
    np.testing.assert_array_equal(npy(out), np.where(m, np.float32(7.5), a))
    big = RNG.random((2, 3, 4)) > 0.5  # out of place: input broadcasts to the mask
    np.testing.assert_array_equal(npy(T(a).masked_fill(T(big), 0.0)), np.where(big, 0, a))
    ints = L(np.arange(4)).masked_fill(T(m), 9.9)
    assert ints.dtype == kt.int64 and (npy(ints)[m] == 9).all()
    t = T(a).t()  # non-contiguous
    np.testing.assert_array_equal(npy(t.masked_fill(T(m[:3]), 1.0)), np.where(m[:3], 1.0, a.T))


def test_masked_fill_errors():
    x = T(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="boolean masks.*int64"):
        x.masked_fill(L([1, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match=r"\[4\].*\[2, 3\].*not broadcastable"):
        x.masked_fill(T(np.ones(4, bool)), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor.*1 dimension"):
        x.masked_fill(T(np.ones(3, bool)), kt.ones(1))


def test_masked_fill_gradcheck():
    x = T(RNG.standard_normal((3, 4)), rg=True)
    v = T(np.array(1.25), rg=True)
    m = T(RNG.random((3, 1)) > 0.5) | T(np.array([[True], [False], [False]]))
    f = lambda a, w: kt.masked_fill(a, m, w)  # noqa: E731
    assert gradcheck(f, (x, v))
    assert gradgradcheck(f, (x, v))
    assert gradcheck(lambda a: kt.masked_fill(a, m, 0.0), (x,))
    v32 = kt.tensor(2.0, dtype=kt.float64, requires_grad=True)  # value dtype != input dtype
    out = kt.masked_fill(kt.ones(2, 2, requires_grad=True), T(np.eye(2, dtype=bool)), v32)
    assert out.dtype == kt.float32
    out.sum().backward()
    assert v32.grad.dtype == kt.float64 and v32.grad.item() == 2.0


def test_masked_select_and_scatter():
    a = RNG.standard_normal((3, 4))
    m = RNG.random((3, 4)) > 0.4
    np.testing.assert_array_equal(npy(kt.masked_select(T(a), T(m))), a[m])
    np.testing.assert_array_equal(npy(T(a.T.copy()).t().masked_select(T(m.T.copy()).t())), a[m])
    mb = RNG.random((4,)) > 0.5
    np.testing.assert_array_equal(npy(T(a).masked_select(T(mb))),
                                  np.broadcast_to(a, (3, 4))[np.broadcast_to(mb, (3, 4))])
    src = RNG.standard_normal((4, 5))
    out = kt.masked_scatter(T(a), T(m), T(src))
    ref = a.copy()
    ref[m] = src.ravel()[:m.sum()]
    np.testing.assert_array_equal(npy(out), ref)
    with pytest.raises(RuntimeError, match="at least 3 elements.*has 2"):
        kt.masked_scatter(T(np.zeros(4)), T(np.array([1, 1, 0, 1], bool)), T(np.ones(2)))
    with pytest.raises(RuntimeError, match="same dtype"):
        kt.masked_scatter(T(np.zeros(4)), T(np.ones(4, bool)), kt.ones(4))


def test_masked_select_scatter_gradcheck():
    x = T(RNG.standard_normal((3, 4)), rg=True)
    m = T(RNG.random((4,)) > 0.5) | T(np.array([True, False, False, False]))
    assert gradcheck(lambda a: kt.masked_select(a, m), (x,))
    assert gradgradcheck(lambda a: kt.masked_select(a, m), (x,))
    xs = T(RNG.standard_normal((2, 4)), rg=True)  # broadcast along dim 0
    assert gradcheck(lambda a: kt.masked_select(a, T(np.ones((3, 2, 4), bool))), (xs,))
    src = T(RNG.standard_normal((3, 5)), rg=True)
    assert gradcheck(lambda a, s: kt.masked_scatter(a, m, s), (x, src))
    assert gradgradcheck(lambda a, s: kt.masked_scatter(a, m, s), (x, src))


# ====================================================================== take


def test_take_forward_negative_and_errors():
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    idx = np.array([[0, -1, 5], [11, -12, 3]])
    out = kt.take(T(a), L(idx))
    assert out.shape == (2, 3) and out.dtype == kt.float32
    np.testing.assert_array_equal(npy(out), np.take(a, idx))
    np.testing.assert_array_equal(npy(T(a).t().take(L(idx))), np.take(a.T, idx))
    with pytest.raises(IndexError, match="index 12 is out of bounds.*size 12"):
        kt.take(T(a), L([12]))
    with pytest.raises(IndexError, match="index -13"):
        kt.take(T(a), L([-13]))
    x = T(RNG.standard_normal((2, 3)), rg=True)
    assert gradcheck(lambda t: kt.take(t, L([[0, -1], [0, 4]])), (x,))


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_take_along_dim(dim):
    a = RNG.standard_normal((3, 4))
    if dim is None:
        idx = rand_index((5,), 12)
        ref = np.take_along_axis(a.ravel(), idx, 0)
    else:
        ishape = [3, 4]
        ishape[dim] = 2
        idx = rand_index(ishape, a.shape[dim])
        ref = np.take_along_axis(a, idx, dim)
    np.testing.assert_array_equal(npy(kt.take_along_dim(T(a), L(idx), dim)), ref)
    x = T(a, rg=True)
    assert gradcheck(lambda t: kt.take_along_dim(t, L(idx), dim), (x,))


def test_take_along_dim_broadcasts():
    a = RNG.standard_normal((1, 4))
    idx = rand_index((3, 2), 4)
    out = T(a).take_along_dim(L(idx), 1)
    np.testing.assert_array_equal(npy(out), np.take_along_axis(np.broadcast_to(a, (3, 4)), idx, 1))
    x = T(a, rg=True)
    assert gradcheck(lambda t: kt.take_along_dim(t, L(idx), 1), (x,))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        kt.take_along_dim(T(a), L([0]), 1)


# ====================================================================== nonzero


def test_nonzero_argwhere():
    a = np.array([[0, 1.5, 0], [2, 0, -1]])
    out = kt.nonzero(T(a))
    assert out.dtype == kt.int64
    np.testing.assert_array_equal(npy(out), np.argwhere(a))
    np.testing.assert_array_equal(npy(kt.argwhere(T(a))), np.argwhere(a))
    tup = T(a).nonzero(as_tuple=True)
    assert len(tup) == 2
    for got, ref in zip(tup, np.nonzero(a)):
        assert got.dtype == kt.int64
        np.testing.assert_array_equal(npy(got), ref)
    assert kt.nonzero(kt.tensor(3.0)).shape == (1, 0)
    assert kt.nonzero(kt.tensor(0.0)).shape == (0, 0)
    assert npy(kt.nonzero(kt.tensor(3.0), as_tuple=True)[0]).tolist() == [0]
    assert kt.nonzero(T(np.zeros((2, 0)))).shape == (0, 2)
    x = T(a, rg=True)
    assert not kt.nonzero(x).requires_grad


# ====================================================================== sort family


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_forward_stable(shape, dim, descending):
    a = RNG.integers(0, 3, shape).astype(np.float32)  # many ties: checks stability
    res = kt.sort(T(a), dim, descending)
    vals, idx = res
    assert res.values is vals and res.indices is idx
    assert vals.dtype == kt.float32 and idx.dtype == kt.int64
    ref = np.argsort(-a if descending else a, axis=dim, kind="stable")
    np.testing.assert_array_equal(npy(idx), ref)
    np.testing.assert_array_equal(npy(vals), np.take_along_axis(a, ref, dim))
    np.testing.assert_array_equal(npy(T(a).argsort(dim, descending)), ref)
    np.testing.assert_array_equal(npy(T(a).sort(dim=dim, descending=descending, stable=True)[0]),
                                  npy(vals))


def test_sort_nan_and_non_contiguous_and_0d():
    a = np.array([3.0, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(npy(kt.sort(T(a))[1]), [2, 3, 0, 1])
    np.testing.assert_array_equal(npy(kt.sort(T(a), descending=True)[1]), [1, 0, 3, 2])
    b = RNG.standard_normal((4, 3))
    v, i = T(b).t().sort(-1)
    np.testing.assert_array_equal(npy(v), np.sort(b.T, -1))
    v, i = kt.sort(kt.tensor(2.5))
    assert v.shape == () and i.item() == 0
    np.testing.assert_array_equal(npy(kt.msort(T(b))), np.sort(b, 0))
    ints = L([3, -1, 2])
    np.testing.assert_array_equal(npy(kt.sort(ints, descending=True).values), [3, 2, -1])
    bools = T(np.array([True, False, True]))
    np.testing.assert_array_equal(npy(kt.sort(bools)[1]), [1, 0, 2])


@pytest.mark.parametrize("dim,descending", [(0, False), (1, True), (-1, False)])
def test_sort_gradcheck(dim, descending):
    x = T(distinct(3, 4), rg=True)
    f = lambda a: kt.sort(a, dim, descending).values  # noqa: E731
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    assert kt.sort(x, dim).values.grad_fn.name() == "SortBackward0"
    assert gradcheck(lambda a: kt.msort(a), (x,))


@pytest.mark.parametrize("k,dim,largest", [(1, -1, True), (3, 1, False), (2, 0, True),
                                           (0, 1, True), (4, 1, True)])
def test_topk_forward(k, dim, largest):
    a = distinct(3, 4).astype(np.float32)
    v, i = kt.topk(T(a), k, dim, largest)
    assert v.dtype == kt.float32 and i.dtype == kt.int64
    order = np.argsort(-a if largest else a, axis=dim)
    ref = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(npy(i), ref)
    np.testing.assert_array_equal(npy(v), np.take_along_axis(a, ref, dim))
    r = T(a).topk(k, dim=dim, largest=largest, sorted=False)
    assert r.values.shape == v.shape


@pytest.mark.parametrize("largest", [True, False])
def test_topk_selection_path_matches_sort(largest):
    a = RNG.standard_normal((3, 50))
    a[0, 7] = np.nan
    ties = RNG.integers(0, 5, (2, 40)).astype(np.float32)
    for arr, dim in [(a, 1), (a.T, 0), (ties, -1)]:
        v, i = kt.topk(T(arr), 3, dim, largest)
        full = kt.sort(T(arr), dim, descending=largest).values
        np.testing.assert_array_equal(npy(v), np.take(npy(full), [0, 1, 2], axis=dim))
        np.testing.assert_array_equal(np.take_along_axis(arr, npy(i), dim), npy(v))
    v, i = kt.topk(T(distinct(4, 40)), 2, largest=largest)
    assert gradcheck(lambda t: kt.topk(t, 2, -1, largest)[0], (T(distinct(2, 12), rg=True),))


def test_topk_nan_errors_and_0d():
    v, i = kt.topk(T(np.array([1.0, np.nan, 3.0])), 2)
    assert np.isnan(npy(v)[0]) and npy(i).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="k=4 out of range for dimension 1 of size 3"):
        kt.topk(T(np.zeros((2, 3))), 4)
    with pytest.raises(RuntimeError, match="k=-1"):
        kt.topk(T(np.zeros((2, 3))), -1)
    v, i = kt.topk(kt.tensor(5.0), 1)
    assert v.item() == 5.0 and i.item() == 0 and v.shape == ()


@pytest.mark.parametrize("k,dim,largest", [(2, -1, True), (2, 0, False)])
def test_topk_gradcheck(k, dim, largest):
    x = T(distinct(3, 4), rg=True)
    f = lambda a: kt.topk(a, k, dim, largest)[0]  # noqa: E731
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    v, i = kt.topk(x, k, dim, largest)
    assert v.grad_fn.name() == "TopkBackward0" and not i.requires_grad


def test_sort_indices_modified_in_place_is_detected():
    x = T(distinct(4), rg=True)
    v, i = kt.sort(x)
    i.add_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        v.sum().backward()


@pytest.mark.parametrize("k,dim,keepdim", [(1, 1, False), (3, 1, True), (2, 0, False)])
def test_kthvalue(k, dim, keepdim):
    a = distinct(3, 4)
    v, i = kt.kthvalue(T(a), k, dim, keepdim)
    ref_i = np.take(np.argsort(a, axis=dim), [k - 1], axis=dim)
    if not keepdim:
        ref_i = ref_i.squeeze(dim)
    np.testing.assert_array_equal(npy(i), ref_i)
    np.testing.assert_array_equal(npy(v), np.take_along_axis(
        a, ref_i if keepdim else np.expand_dims(ref_i, dim), dim).reshape(ref_i.shape))
    x = T(a, rg=True)
    assert gradcheck(lambda t: kt.kthvalue(t, k, dim, keepdim)[0], (x,))
    with pytest.raises(RuntimeError, match="k=5 out of range"):
        T(a).kthvalue(5, 1)


def test_mode():
    a = np.array([[1, 2, 2, 3, 3, 0], [5, 5, 5, 1, 1, 1], [4, 3, 2, 1, 0, 9]])
    v, i = kt.mode(L(a))
    np.testing.assert_array_equal(npy(v), [2, 1, 0])  # smallest of the most frequent
    np.testing.assert_array_equal(npy(i), [2, 5, 4])  # last occurrence
    v, i = L(a).mode(0, keepdim=True)
    assert v.shape == (1, 6)
    np.testing.assert_array_equal(npy(v)[0], [1, 2, 2, 1, 0, 0])
    np.testing.assert_array_equal(npy(i)[0], [0, 0, 2, 2, 2, 0])
    x = T(np.array([[1.0, 2.0, 2.0], [0.5, 0.5, 3.0]]), rg=True)
    kt.mode(x, 1).values.sum().backward()
    np.testing.assert_array_equal(npy(x.grad), [[0, 0, 1], [0, 1, 0]])
    with pytest.raises(IndexError, match="non-zero size"):
        kt.mode(T(np.zeros((2, 0))))


@HYP
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-100, 100, allow_nan=False)),
       descending=st.booleans(), data=st.data())
def test_sort_property(a, descending, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    v, i = kt.sort(T(a), dim, descending)
    ref = np.argsort(-a if descending else a, axis=dim, kind="stable")
    np.testing.assert_array_equal(npy(i), ref)
    np.testing.assert_array_equal(npy(v), np.take_along_axis(a, ref, dim))


@HYP
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-100, 100, allow_nan=False)),
       largest=st.booleans(), data=st.data())
def test_topk_property(a, largest, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    k = data.draw(st.integers(0, a.shape[dim]))
    v, i = kt.topk(T(a), k, dim, largest)
    ref = np.take(np.sort(a, axis=dim), np.arange(k) if not largest else
                  np.arange(a.shape[dim] - 1, a.shape[dim] - 1 - k, -1), axis=dim)
    np.testing.assert_array_equal(npy(v), ref)
    np.testing.assert_array_equal(np.take_along_axis(a, npy(i), dim), npy(v))


# ====================================================================== unique


def test_unique_flat():
    a = np.array([[3, 1, 2], [1, 3, 3]])
    u = kt.unique(L(a))
    np.testing.assert_array_equal(npy(u), [1, 2, 3])
    u, inv, cnt = L(a).unique(return_inverse=True, return_counts=True)
    assert inv.shape == (2, 3) and inv.dtype == kt.int64 and cnt.dtype == kt.int64
    np.testing.assert_array_equal(npy(u)[npy(inv)], a)
    np.testing.assert_array_equal(npy(cnt), [2, 1, 3])
    u, cnt = kt.unique(T(np.array([0.5, 0.5, -1.0], np.float32)), return_counts=True)
    assert u.dtype == kt.float32 and npy(cnt).tolist() == [1, 2]
    u, inv = kt.unique(T(np.zeros(0)), return_inverse=True)
    assert u.shape == (0,) and inv.shape == (0,)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_dim(dim):
    a = np.array([[1, 0, 1, 0], [2, 1, 2, 1], [1, 0, 1, 0]])
    u, inv, cnt = kt.unique(L(a), dim=dim, return_inverse=True, return_counts=True)
    ru, rinv, rcnt = np.unique(a, axis=dim, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(npy(u), ru)
    np.testing.assert_array_equal(npy(inv), rinv.ravel())
    np.testing.assert_array_equal(npy(cnt), rcnt)
    np.testing.assert_array_equal(np.take(npy(u), npy(inv), axis=dim), a)


def test_unique_consecutive():
    a = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    u, inv, cnt = kt.unique_consecutive(L(a), return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(npy(u), [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(npy(inv), [0, 0, 1, 1, 2, 3, 3, 4])
    np.testing.assert_array_equal(npy(cnt), [2, 2, 1, 2, 1])
    b = np.array([[1, 1, 2, 1], [0, 0, 3, 0]])
    u, cnt = L(b).unique_consecutive(return_counts=True, dim=1)
    np.testing.assert_array_equal(npy(u), [[1, 2, 1], [0, 3, 0]])
    np.testing.assert_array_equal(npy(cnt), [2, 1, 1])
    x = T(np.array([1.0, 1.0, 2.0]), rg=True)
    assert not kt.unique_consecutive(x).requires_grad


@HYP
@given(a=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.integers(-3, 3)), data=st.data())
def test_unique_property(a, data):
    u, inv, cnt = kt.unique(L(a), return_inverse=True, return_counts=True)
    ru, rinv, rcnt = np.unique(a, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(npy(u), ru)
    np.testing.assert_array_equal(npy(inv), rinv.reshape(a.shape))
    np.testing.assert_array_equal(npy(cnt), rcnt)
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    u, inv, cnt = kt.unique(L(a), return_inverse=True, return_counts=True, dim=dim)
    ru, rinv, rcnt = np.unique(a, return_inverse=True, return_counts=True, axis=dim)
    np.testing.assert_array_equal(npy(u), ru)
    np.testing.assert_array_equal(npy(inv), rinv.ravel())
    np.testing.assert_array_equal(npy(cnt), rcnt)


# ====================================================================== bincount / search


def test_bincount():
    a = np.array([0, 3, 3, 1, 5])
    out = kt.bincount(L(a))
    assert out.dtype == kt.int64
    np.testing.assert_array_equal(npy(out), np.bincount(a))
    np.testing.assert_array_equal(npy(L(a).bincount(minlength=8)), np.bincount(a, minlength=8))
    w = RNG.standard_normal(5)
    out = kt.bincount(L(a), T(w.astype(np.float32)))
    assert out.dtype == kt.float32
    np.testing.assert_allclose(npy(out), np.bincount(a, w.astype(np.float32)), rtol=1e-6)
    assert kt.bincount(L(a), T(w)).dtype == kt.float64
    assert kt.bincount(L(np.zeros(0)), minlength=3).tolist() == [0, 0, 0]
    with pytest.raises(RuntimeError, match="non-negative.*-2"):
        kt.bincount(L([1, -2]))
    with pytest.raises(RuntimeError, match="1-d non-negative integral.*float"):
        kt.bincount(kt.tensor([1.0]))
    with pytest.raises(RuntimeError, match="same length"):
        kt.bincount(L([1, 2]), T(np.ones(3)))


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_1d(right):
    seq = np.array([1.0, 2.0, 2.0, 5.0, 9.0])
    v = np.array([[0.0, 2.0, 5.5], [9.0, 10.0, 2.0]])
    out = kt.searchsorted(T(seq), T(v), right=right)
    assert out.dtype == kt.int64
    side = "right" if right else "left"
    np.testing.assert_array_equal(npy(out), np.searchsorted(seq, v, side))
    out = kt.searchsorted(T(seq), T(v), side=side, out_int32=True)
    assert out.dtype == kt.int32
    np.testing.assert_array_equal(npy(out), np.searchsorted(seq, v, side))
    assert kt.searchsorted(T(seq), 2.0, right=right).item() == np.searchsorted(seq, 2.0, side)
    assert T(seq).searchsorted(T(v), right=right).shape == (2, 3)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_batched(right):
    seq = np.sort(RNG.integers(0, 6, (2, 3, 5)), axis=-1).astype(np.float64)
    v = RNG.integers(-1, 7, (2, 3, 4)).astype(np.float64)
    out = kt.searchsorted(T(seq), T(v), right=right)
    side = "right" if right else "left"
    ref = np.stack([np.searchsorted(s, x, side) for s, x in
                    zip(seq.reshape(-1, 5), v.reshape(-1, 4))]).reshape(2, 3, 4)
    np.testing.assert_array_equal(npy(out), ref)


def test_searchsorted_sorter_and_errors():
    seq = np.array([5.0, 1.0, 3.0])
    sorter = np.argsort(seq)
    out = kt.searchsorted(T(seq), T(np.array([2.0, 4.0, 6.0])), sorter=L(sorter))
    np.testing.assert_array_equal(npy(out), np.searchsorted(seq, [2, 4, 6], sorter=sorter))
    with pytest.raises(RuntimeError, match="opposites"):
        kt.searchsorted(T(seq), T(seq), right=True, side="left")
    with pytest.raises(RuntimeError, match=r"boundaries tensor \[2, 3\].*input value tensor "
                                           r"\[3, 1\]"):
        kt.searchsorted(T(np.zeros((2, 3))), T(np.zeros((3, 1))))
    with pytest.raises(RuntimeError, match="same size"):
        kt.searchsorted(T(seq), T(seq), sorter=L([0, 1]))


def test_bucketize():
    b = np.array([1.0, 3.0, 5.0, 7.0])
    v = np.array([[3.0, 6.0, 9.0], [3.0, 0.0, 1.0]])
    np.testing.assert_array_equal(npy(kt.bucketize(T(v), T(b))), np.digitize(v, b, right=True))
    np.testing.assert_array_equal(npy(kt.bucketize(T(v), T(b), right=True)),
                                  np.digitize(v, b, right=False))
    assert kt.bucketize(3.0, T(b)).item() == 1
    with pytest.raises(RuntimeError, match="1 dimension.*dim\\(2\\)"):
        kt.bucketize(T(v), T(np.zeros((2, 2))))


# ====================================================================== in-place variants


INPLACE = [
    ("scatter_", lambda t: t.scatter_(1, L([[2], [0]]), T(np.full((2, 1), 9.0))),
     lambda a: np_scatter(a, 1, np.array([[2], [0]]), np.full((2, 1), 9.0))),
    ("scatter_value", lambda t: t.scatter_(1, L([[2], [0]]), 9.0),
     lambda a: np_scatter(a, 1, np.array([[2], [0]]), 9.0)),
    ("scatter_add_", lambda t: t.scatter_add_(0, L([[1, 1, 1]]), T(np.ones((1, 3)))),
     lambda a: a + np.array([[0, 0, 0], [1, 1, 1]])),
    ("scatter_reduce_", lambda t: t.scatter_reduce_(1, L([[0, 0]] * 2), T(np.full((2, 2), 10.0)),
                                                    "amax"),
     lambda a: np.where(np.arange(3) == 0, 10.0, a)),
    ("index_add_", lambda t: t.index_add_(1, L([0, 0]), T(np.ones((2, 2))), alpha=2),
     lambda a: a + np.array([[4, 0, 0]] * 2)),
    ("index_copy_", lambda t: t.index_copy_(0, L([1]), T(np.full((1, 3), -1.0))),
     lambda a: np.array([a[0], [-1.0] * 3])),
    ("index_fill_", lambda t: t.index_fill_(1, L([1]), 0.5),
     lambda a: np.where(np.arange(3) == 1, 0.5, a)),
    ("masked_fill_", lambda t: t.masked_fill_(T(np.array([True, False, True])), 0.0),
     lambda a: np.where([True, False, True], 0.0, a)),
    ("masked_scatter_", lambda t: t.masked_scatter_(T(np.array([False, True, False])),
                                                    T(np.array([7.0, 8.0, 9.0]))),
     lambda a: np.where([False, True, False], [[7.0], [8.0]], a)),
]


@pytest.mark.parametrize("name,fn,ref", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_variants(name, fn, ref):
    a = np.arange(6.0).reshape(2, 3)
    t = T(a)
    v0 = t._version[0]
    r = fn(t)
    assert r is t
    assert t._version[0] > v0
    np.testing.assert_array_equal(npy(t), ref(a))
    leaf = T(a, rg=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fn(leaf)
    with kt.no_grad():
        fn(leaf)
    np.testing.assert_array_equal(npy(leaf), ref(a))
    # on a non-leaf the in-place op records a graph that matches the out-of-place op
    x = T(a, rg=True)
    y = x * 1.0
    fn(y)
    np.testing.assert_array_equal(npy(y), ref(a))
    (y * y).sum().backward()
    # d/dx of sum(f(x)^2): overwritten positions get no gradient, the rest 2 * x * 1
    kept = ref(a + 1000.0) == a + 1000.0
    np.testing.assert_allclose(npy(x.grad)[kept], 2 * a[kept])


def test_inplace_gradients_flow_to_src():
    x = T(np.zeros((2, 3)), rg=True)
    src = T(RNG.standard_normal((2, 3)), rg=True)
    y = x * 2
    y.scatter_add_(1, L([[0, 0, 1], [2, 2, 2]]), src)
    y.index_fill_(0, L([0]), 0.0)
    (y * y).sum().backward()
    assert src.grad is not None
    np.testing.assert_array_equal(npy(src.grad)[0], 0)  # row 0 was filled afterwards
    np.testing.assert_allclose(npy(src.grad)[1], 2 * npy(src)[1].sum())


def test_masked_fill_inplace_shape_error_and_int():
    t = T(np.zeros(3))
    with pytest.raises(RuntimeError, match=r"mask of shape \[2, 3\].*self of shape \[3\]"):
        t.masked_fill_(T(np.ones((2, 3), bool)), 1.0)
    ints = L([1, 2, 3])
    ints.masked_fill_(T(np.array([True, False, False])), 7)
    assert ints.tolist() == [7, 2, 3]


def test_inplace_int_index_fill_and_scatter():
    t = L(np.zeros((2, 2)))
    t.scatter_(0, L([[1, 0]]), 5)
    t.index_add_(1, L([1]), L([[1], [1]]))
    assert t.tolist() == [[0, 6], [5, 1]]


# ====================================================================== misc


def test_methods_registered():
    for name in ["gather", "scatter", "scatter_", "scatter_add", "scatter_add_",
                 "scatter_reduce", "scatter_reduce_", "index_select", "index_add",
                 "index_add_", "index_copy", "index_copy_", "index_fill", "index_fill_",
                 "masked_fill", "masked_fill_", "masked_select", "masked_scatter",
                 "masked_scatter_", "take", "take_along_dim", "nonzero", "argwhere", "topk",
                 "sort", "argsort", "msort", "unique", "unique_consecutive", "bincount",
                 "kthvalue", "mode", "searchsorted"]:
        assert callable(getattr(kt.Tensor, name)), name
    for name in ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select",
                 "index_add", "index_copy", "index_fill", "masked_fill", "masked_select",
                 "masked_scatter", "take", "take_along_dim", "nonzero", "argwhere", "topk",
                 "sort", "argsort", "msort", "unique", "unique_consecutive", "bincount",
                 "searchsorted", "bucketize", "kthvalue", "mode"]:
        assert callable(getattr(kt, name)), name
        assert getattr(kt, name).__doc__, name


def test_tensor_copy_still_works():
    t = T(np.zeros(3))
    t.copy_(T(np.ones(3)))
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_index_results_do_not_require_grad():
    x = T(distinct(3, 4), rg=True)
    assert not kt.argsort(x).requires_grad
    assert not kt.topk(x, 2).indices.requires_grad
    assert not kt.unique(x).requires_grad
    assert not kt.searchsorted(kt.sort(x).values, x).requires_grad
    assert kt.sort(x).values.requires_grad
