"""Joining, splitting, rearranging, triangle/diagonal and padding ops (ktrain.ops.join,
rearrange, diagonals, padding): forward against numpy,
gradients against finite differences, views, errors, and property-based checks."""
from __future__ import annotations

import itertools

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ktrain as kt
from ktrain.autograd import gradcheck, gradgradcheck
from ktrain.ops.padding import pad
from ktrain.ops.rearrange import repeat


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def T(a, rg=False):
    return kt.tensor(np.asarray(a), requires_grad=rg)


def D(*shape, seed=0):
    """A float64 leaf requiring grad (for gradcheck)."""
    return kt.tensor(rnd(*shape, seed=seed), requires_grad=True)


def N(t):
    return np.asarray(t.detach())


def noncontig(*shape, seed=0):
    """A non-contiguous tensor of ``shape`` (a strided, transposed view) and its numpy twin."""
    big = rnd(*(2 * s for s in reversed(shape)), seed=seed)
    base = kt.from_numpy(big)
    sl = base[(slice(None, None, 2),) * len(shape)]
    t = sl.permute(tuple(reversed(range(len(shape)))))
    assert not t.is_contiguous() or t.numel() <= 1
    return t, np.asarray(t)


SLOW = settings(max_examples=40, deadline=None)

float_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
                          elements=st.floats(-100, 100, allow_nan=False))


# ====================================================================== cat / stack


@pytest.mark.parametrize("shapes,dim", [
    ([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 5)], 1), ([(2, 3), (2, 2)], -1),
    ([(1, 2, 3), (4, 2, 3)], -3), ([(2, 0, 3), (2, 4, 3)], 1), ([(5,)], 0),
    ([(2, 3, 4), (2, 3, 1), (2, 3, 2)], 2)])
def test_cat_forward(shapes, dim):
    arrs = [rnd(*s, seed=i) for i, s in enumerate(shapes)]
    out = kt.cat([T(a) for a in arrs], dim)
    np.testing.assert_array_equal(N(out), np.concatenate(arrs, dim))
    assert kt.concat(tuple(T(a) for a in arrs), dim=dim).shape == out.shape
    assert kt.concatenate([T(a) for a in arrs], dim).shape == out.shape


def test_cat_noncontiguous_and_copy():
    t, a = noncontig(3, 4)
    u, b = noncontig(3, 2, seed=1)
    out = kt.cat([t, u], 1)
    np.testing.assert_array_equal(N(out), np.concatenate([a, b], 1))
    out[0, 0] = 100.0  # a new tensor: the inputs are untouched
    assert N(t)[0, 0] == a[0, 0]


def test_cat_type_promotion_and_float32():
    f32 = kt.ones(2, 2)
    assert kt.cat([f32, f32]).dtype == kt.float32
    assert kt.cat([f32, kt.ones(1, 2, dtype=kt.int64)]).dtype == kt.float32
    assert kt.cat([f32, kt.ones(1, 2, dtype=kt.float64)]).dtype == kt.float64
    assert kt.cat([kt.ones(2, dtype=kt.int32), kt.ones(2, dtype=kt.int64)]).dtype == kt.int64
    assert kt.cat([kt.ones(2, dtype=kt.bool), kt.ones(2, dtype=kt.uint8)]).dtype == kt.uint8
    x = kt.ones(2, 2, requires_grad=True)
    y = kt.ones(2, 2, dtype=kt.float64, requires_grad=True)
    kt.cat([x, y]).sum().backward()
    assert x.grad.dtype == kt.float32 and y.grad.dtype == kt.float64
    assert kt.stack([f32, kt.ones(2, 2, dtype=kt.float64)]).dtype == kt.float64


def test_cat_skips_legacy_empty():
    a = rnd(2, 3)
    e = kt.tensor(np.zeros(0))
    out = kt.cat([e, T(a), e, T(a)], 1)
    np.testing.assert_array_equal(N(out), np.concatenate([a, a], 1))
    assert kt.cat([e, e]).shape == (0,)
    x = D(2, 3)
    gradcheck(lambda x: kt.cat([e, x, e], -1), (x,))


def test_cat_out():
    out = kt.empty(0)
    r = kt.cat([kt.ones(2), kt.zeros(1)], out=out)
    assert r is out and out.tolist() == [1.0, 1.0, 0.0]


def test_cat_errors():
    with pytest.raises(RuntimeError, match=r"Expected size 3 but got size 4 for tensor number 2"):
        kt.cat([kt.ones(2, 3), kt.ones(1, 3), kt.ones(2, 4)])
    with pytest.raises(RuntimeError, match=r"same number of dimensions: got 2 and 3"):
        kt.cat([kt.ones(2, 3), kt.ones(2, 3, 1)])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor \\(at position 1\\)"):
        kt.cat([kt.ones(1), kt.tensor(1.0)])
    with pytest.raises(RuntimeError, match="non-empty list"):
        kt.cat([])
    with pytest.raises(TypeError, match="must be a tuple or list of Tensors, not Tensor"):
        kt.cat(kt.ones(2, 2))
    with pytest.raises(TypeError, match="element 1"):
        kt.cat([kt.ones(2), 3])
    with pytest.raises(IndexError, match="Dimension out of range"):
        kt.cat([kt.ones(2, 3)], 2)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 1, 3)])
def test_stack_forward(shape):
    arrs = [rnd(*shape, seed=i) for i in range(3)]
    for dim in range(-len(shape) - 1, len(shape) + 1):
        out = kt.stack([T(a) for a in arrs], dim)
        np.testing.assert_array_equal(N(out), np.stack(arrs, dim))


def test_stack_scalars_and_errors():
    assert kt.stack([kt.tensor(1.0), kt.tensor(2.0)]).tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match=r"got \[2, 3\] at entry 0 and \[2, 4\] at entry 1"):
        kt.stack([kt.ones(2, 3), kt.ones(2, 4)])
    with pytest.raises(IndexError):
        kt.stack([kt.ones(2, 3)], 3)


def test_hstack_vstack_dstack_column_stack():
    a1, b1 = rnd(3), rnd(3, seed=1)
    a2, b2 = rnd(2, 3), rnd(2, 4, seed=1)
    np.testing.assert_array_equal(N(kt.hstack([T(a1), T(b1)])), np.hstack([a1, b1]))
    np.testing.assert_array_equal(N(kt.hstack([T(a2), T(b2)])), np.hstack([a2, b2]))
    np.testing.assert_array_equal(N(kt.vstack([T(a1), T(b1)])), np.vstack([a1, b1]))
    np.testing.assert_array_equal(N(kt.vstack([T(a2), T(a1)])), np.vstack([a2, a1]))
    np.testing.assert_array_equal(N(kt.row_stack([T(a2), T(a1)])), np.vstack([a2, a1]))
    np.testing.assert_array_equal(N(kt.dstack([T(a1), T(b1)])), np.dstack([a1, b1]))
    np.testing.assert_array_equal(N(kt.dstack([T(a2), T(a2)])), np.dstack([a2, a2]))
    np.testing.assert_array_equal(N(kt.column_stack([T(a1), T(b1), T(a2.T)])),
                                  np.column_stack([a1, b1, a2.T]))
    assert kt.hstack([kt.tensor(1.0), kt.tensor(2.0)]).shape == (2,)
    assert kt.atleast_3d(kt.tensor(1.0)).shape == (1, 1, 1)
    assert kt.atleast_3d(kt.ones(4)).shape == (1, 4, 1)


# ====================================================================== split family


def test_split_forward():
    a = rnd(7, 4)
    parts = kt.split(T(a), 3)
    assert [p.shape[0] for p in parts] == [3, 3, 1]
    for p, q in zip(parts, np.split(a, [3, 6])):
        np.testing.assert_array_equal(N(p), q)
    parts = T(a).split([1, 0, 2, 1], dim=-1)
    for p, q in zip(parts, np.split(a, [1, 1, 3], axis=1)):
        np.testing.assert_array_equal(N(p), q)
    assert len(T(a).split(7)) == 1 and len(T(a).split(100)) == 1
    assert len(kt.ones(0, 2).split(3)) == 1
    assert isinstance(parts, tuple)


def test_chunk_and_tensor_split():
    a = rnd(6, 5)
    assert [p.shape[0] for p in T(a).chunk(4)] == [2, 2, 2]  # PyTorch: fewer chunks
    assert [p.shape[1] for p in T(a).chunk(3, dim=-1)] == [2, 2, 1]
    assert [p.shape for p in kt.ones(0).chunk(3)] == [(0,)] * 3
    for sec in (1, 3, 4, 6, 8):
        for p, q in zip(kt.tensor_split(T(a), sec), np.array_split(a, sec)):
            np.testing.assert_array_equal(N(p), q)
    for idx in ([1, 4], [2, 2, 9], [4, 1], [-2]):
        ps = T(a).tensor_split(idx, dim=0)
        qs = [a[s:e] for s, e in zip([0] + idx, idx + [None])]
        assert len(ps) == len(qs)
        for p, q in zip(ps, qs):
            np.testing.assert_array_equal(N(p), q)
    ps = T(a).tensor_split(kt.tensor([1, 3]), 1)
    assert [p.shape[1] for p in ps] == [1, 2, 2]
    for fn, npfn, arr in [(kt.hsplit, np.hsplit, rnd(4, 6)), (kt.vsplit, np.vsplit, rnd(4, 6)),
                          (kt.dsplit, np.dsplit, rnd(2, 2, 4)), (kt.hsplit, np.hsplit, rnd(6))]:
        for p, q in zip(fn(T(arr), 2), npfn(arr, 2)):
            np.testing.assert_array_equal(N(p), q)
    with pytest.raises(RuntimeError, match="not divisible"):
        kt.hsplit(kt.ones(2, 5), 2)


def test_unbind_forward():
    a = rnd(2, 3, 4)
    for d in range(-3, 3):
        parts = kt.unbind(T(a), d)
        assert len(parts) == a.shape[d]
        for i, p in enumerate(parts):
            np.testing.assert_array_equal(N(p), np.take(a, i, axis=d))
    assert kt.ones(0, 2).unbind() == ()
    assert [float(x) for x in T(np.arange(3.0))] == [0.0, 1.0, 2.0]


def test_narrow_select_forward():
    t, a = noncontig(4, 5)
    np.testing.assert_array_equal(N(t.narrow(1, 1, 3)), a[:, 1:4])
    np.testing.assert_array_equal(N(kt.narrow(t, -1, -2, 2)), a[:, -2:])
    np.testing.assert_array_equal(N(t.narrow(0, kt.tensor(1), 0)), a[1:1])
    np.testing.assert_array_equal(N(t.select(0, 2)), a[2])
    np.testing.assert_array_equal(N(kt.select(t, -1, -1)), a[:, -1])
    assert kt.select(T(np.arange(3.0)), 0, 1).shape == ()


def test_split_errors():
    x = kt.ones(4, 3)
    with pytest.raises(RuntimeError, match="sum exactly to 4"):
        x.split([1, 2])
    with pytest.raises(RuntimeError, match="non-negative"):
        x.split(-1)
    with pytest.raises(RuntimeError, match="split_size can only be 0"):
        x.split(0)
    with pytest.raises(RuntimeError, match="greater than 0"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match="at least a 1-dimensional"):
        kt.tensor(1.0).split(1)
    with pytest.raises(RuntimeError, match=r"start \(3\) \+ length \(2\) exceeds dimension size "
                                           r"\(4\)"):
        x.narrow(0, 3, 2)
    with pytest.raises(IndexError, match="start out of range"):
        x.narrow(0, 5, 0)
    with pytest.raises(IndexError, match=r"index 3 out of range for tensor of size \[4, 3\] at "
                                         r"dimension 1"):
        x.select(1, 3)
    with pytest.raises(IndexError, match="0-dim"):
        kt.tensor(1.0).select(0, 0)
    with pytest.raises(RuntimeError, match="cannot unbind a 0-dim"):
        kt.tensor(1.0).unbind()
    with pytest.raises(RuntimeError, match="sections must be larger than 0"):
        x.tensor_split(0)


@pytest.mark.parametrize("make", [
    lambda b: b.split(2)[1], lambda b: b.split([1, 3, 1], 1)[1], lambda b: b.chunk(2, 1)[0],
    lambda b: b.unbind(1)[2], lambda b: b.narrow(1, 1, 2), lambda b: b.select(0, 2),
    lambda b: b.tensor_split([1, 3])[1], lambda b: b.diagonal(), lambda b: b.diagonal(1, 1, 0),
    lambda b: b.unbind(0)[1]])
def test_views_share_storage_and_version(make):
    base = kt.tensor(np.arange(20.0).reshape(4, 5))
    v = make(base)
    before = base._version[0]
    ref = np.asarray(base).copy()
    v.fill_(-1.0)
    assert base._version[0] == before + 1
    assert v._version is base._version
    assert (np.asarray(base) == -1).sum() == v.numel()
    assert (np.asarray(base) != ref).sum() == v.numel()


def test_views_of_requires_grad_tensor():
    x = D(4, 3)
    parts = x.split(2)
    assert all(p._base is x for p in parts)
    assert x.unbind(1)[0]._base is x and x.narrow(0, 0, 1)._base is x
    assert x.select(0, 1)._base is x
    # a part whose gradient is not used gets zeros
    x.split(3)[0].sum().backward()
    np.testing.assert_array_equal(N(x.grad), np.r_[np.ones((3, 3)), np.zeros((1, 3))])


def test_inplace_through_views_is_differentiable():
    def f(x):
        y = x * 1.0
        y.narrow(0, 1, 2).mul_(2.0)
        y.split(2, 1)[1].mul_(3.0)
        y.diagonal().mul_(5.0)
        y.unbind(0)[3].mul_(x[0])
        return y

    assert gradcheck(f, (D(4, 3),))


# ====================================================================== flip / roll


def test_flip_forward():
    t, a = noncontig(2, 3, 4)
    for dims in [(0,), (1, 2), (-1,), (0, 1, 2), ()]:
        np.testing.assert_array_equal(N(kt.flip(t, dims)), np.flip(a, dims) if dims else a)
    np.testing.assert_array_equal(N(t.flip(1)), np.flip(a, 1))
    np.testing.assert_array_equal(N(t.flip(0, 2)), np.flip(a, (0, 2)))  # varargs like PyTorch
    np.testing.assert_array_equal(N(kt.fliplr(t)), np.fliplr(a))
    np.testing.assert_array_equal(N(t.flipud()), np.flipud(a))
    f = t.flip(0)
    f.fill_(0.0)  # a copy, not a view
    assert np.asarray(t).any()
    assert kt.flip(kt.tensor(3.0), [0]).item() == 3.0
    with pytest.raises(RuntimeError, match="appears multiple times"):
        t.flip((0, -3))
    with pytest.raises(RuntimeError, match=">= 2-d"):
        kt.fliplr(kt.ones(3))


def test_roll_forward():
    t, a = noncontig(3, 4)
    np.testing.assert_array_equal(N(kt.roll(t, 2)), np.roll(a, 2))
    np.testing.assert_array_equal(N(t.roll(-5)), np.roll(a, -5))
    np.testing.assert_array_equal(N(t.roll(1, 0)), np.roll(a, 1, 0))
    np.testing.assert_array_equal(N(t.roll((1, -2), (0, -1))), np.roll(a, (1, -2), (0, 1)))
    np.testing.assert_array_equal(N(t.roll(7, -1)), np.roll(a, 7, 1))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        t.roll((1, 2), 0)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        t.roll((1, 2))


# ====================================================================== tril / triu


def test_tril_triu_forward():
    t, a = noncontig(2, 4, 5)
    for k in (-5, -1, 0, 2, 6):
        np.testing.assert_array_equal(N(kt.tril(t, k)), np.tril(a, k))
        np.testing.assert_array_equal(N(t.triu(k)), np.triu(a, k))
    np.testing.assert_array_equal(N(kt.ones(3, 3, dtype=kt.int64).tril()), np.tril(np.ones((3, 3))))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        kt.ones(3).tril()


def test_tril_triu_inplace():
    x = kt.tensor(rnd(3, 3))
    ref = np.asarray(x).copy()
    v = x._version[0]
    assert x.tril_(-1) is x
    np.testing.assert_array_equal(np.asarray(x), np.tril(ref, -1))
    assert x._version[0] == v + 1
    x = kt.tensor(ref.copy())
    x.triu_()
    np.testing.assert_array_equal(np.asarray(x), np.triu(ref))
    # through autograd: y.triu_() on a non-leaf takes the history
    w = D(3, 3)
    gradcheck(lambda w: (w * 1.0).triu_(1), (w,))


# ====================================================================== repeat / tile / interleave


def test_repeat_tile_forward():
    t, a = noncontig(2, 3)
    for reps in [(1, 1), (2, 3), (2, 1, 2), (0, 2), (3, 1, 1, 2)]:
        np.testing.assert_array_equal(N(t.repeat(*reps)), np.tile(a, reps))
    np.testing.assert_array_equal(N(t.repeat((2, 2))), np.tile(a, (2, 2)))
    np.testing.assert_array_equal(N(kt.tile(t, (2,))), np.tile(a, (1, 2)))
    np.testing.assert_array_equal(N(t.tile((2, 1, 3))), np.tile(a, (2, 1, 3)))
    np.testing.assert_array_equal(N(t.tile(2, 1, 3)), np.tile(a, (2, 1, 3)))
    assert kt.tensor(5.0).repeat(3).tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        t.repeat(2)


def test_repeat_interleave_forward():
    t, a = noncontig(3, 2)
    np.testing.assert_array_equal(N(t.repeat_interleave(2)), np.repeat(a, 2))
    np.testing.assert_array_equal(N(kt.repeat_interleave(t, 3, dim=0)), np.repeat(a, 3, 0))
    np.testing.assert_array_equal(N(t.repeat_interleave(kt.tensor([1, 0, 2]), dim=0)),
                                  np.repeat(a, [1, 0, 2], 0))
    np.testing.assert_array_equal(N(t.repeat_interleave(kt.tensor([2, 1]), dim=-1)),
                                  np.repeat(a, [2, 1], 1))
    np.testing.assert_array_equal(N(t.repeat_interleave(kt.tensor([2]), dim=1)), np.repeat(a, 2, 1))
    np.testing.assert_array_equal(N(t.repeat_interleave(kt.tensor(list(range(6))), output_size=15)),
                                  np.repeat(a.ravel(), np.arange(6)))
    r = kt.repeat_interleave(kt.tensor([2, 0, 3]))
    assert r.tolist() == [0, 0, 2, 2, 2] and r.dtype == kt.int64
    with pytest.raises(RuntimeError, match="same size as input along dim"):
        t.repeat_interleave(kt.tensor([1, 2]), dim=0)
    with pytest.raises(RuntimeError, match="can not be negative"):
        t.repeat_interleave(-1)
    with pytest.raises(RuntimeError, match="output_size 4 does not match"):
        t.repeat_interleave(2, dim=0, output_size=4)
    with pytest.raises(RuntimeError, match="integer tensor"):
        t.repeat_interleave(kt.tensor([1.0, 2.0, 3.0]), dim=0)


# ====================================================================== pad


@pytest.mark.parametrize("mode,npmode", [("constant", "constant"), ("reflect", "reflect"),
                                         ("replicate", "edge"), ("circular", "wrap")])
@pytest.mark.parametrize("widths", [(1, 2), (0, 3, 2, 1), (2, 2, 1, 0, 1, 1), (0, 0)])
def test_pad_forward(mode, npmode, widths):
    t, a = noncontig(2, 3, 4, 5)
    out = pad(t, widths, mode=mode)
    k = len(widths) // 2
    npw = [(0, 0)] * (4 - k) + [(widths[2 * j], widths[2 * j + 1]) for j in reversed(range(k))]
    np.testing.assert_array_equal(N(out), np.pad(a, npw, mode=npmode))
    assert out.dtype == t.dtype


def test_pad_constant_value_negative_and_dtype():
    a = rnd(3, 4).astype(np.float32)
    out = pad(T(a), (1, 1, 2, 0), value=7.5)
    np.testing.assert_array_equal(N(out), np.pad(a, ((2, 0), (1, 1)), constant_values=7.5))
    assert out.dtype == kt.float32
    np.testing.assert_array_equal(N(pad(T(a), (-1, 2))), np.pad(a[:, 1:], ((0, 0), (0, 2))))
    np.testing.assert_array_equal(N(pad(T(a), (-1, -2, 1, -1))),
                                  np.pad(a[:-1, 1:-2], ((1, 0), (0, 0))))
    np.testing.assert_array_equal(N(kt.constant_pad_nd(T(a), (1, 1), 2.0)),
                                  np.pad(a, ((0, 0), (1, 1)), constant_values=2.0))
    np.testing.assert_array_equal(N(pad(T(a), (-1, 2), mode="reflect")),
                                  np.pad(a[:, 1:], ((0, 0), (0, 2)), mode="reflect"))
    assert pad(kt.ones(2, 2, dtype=kt.int64), (1, 1)).dtype == kt.int64


def test_pad_errors():
    x = kt.ones(1, 2, 3)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        pad(x, (1, 2, 3))
    with pytest.raises(RuntimeError, match="too large"):
        pad(x, (1,) * 8)
    with pytest.raises(RuntimeError, match=r"padding \(3, 0\) at dimension 2 of input \[1, 2, 3\]"):
        pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="more than once"):
        pad(x, (4, 0), mode="circular")
    with pytest.raises(ValueError, match="doesn't take in value"):
        pad(x, (1, 1), mode="replicate", value=1.0)
    with pytest.raises(NotImplementedError, match="unrecognised padding mode 'bogus'"):
        pad(x, (1, 1), mode="bogus")
    with pytest.raises(RuntimeError, match="negative output size"):
        pad(x, (-2, -2))


# ====================================================================== einsum


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]), ("i,i", [(3,), (3,)]), ("ij,jk", [(2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]), ("...i->...", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
    ("iij->ij", [(2, 2, 3)]), ("ij,ij,ij->i", [(2, 3)] * 3),
    ("BaX, Xc -> Bac", [(2, 2, 3), (3, 2)]),
    ("...", [(2, 3)]), ("iji->j", [(2, 3, 2)]), ("ij,->ij", [(2, 2), ()])])
def test_einsum_forward(eq, shapes):
    arrs = [rnd(*s, seed=i) for i, s in enumerate(shapes)]
    out = kt.einsum(eq, *[T(a) for a in arrs])
    np.testing.assert_allclose(N(out), np.einsum(eq, *arrs), rtol=1e-12, atol=1e-12)
    out2 = kt.einsum(eq, [T(a) for a in arrs])
    assert out2.shape == out.shape


def test_einsum_extras():
    a, b = rnd(3, 1, 4), rnd(2, 4, seed=1)
    # size-1 broadcasting of labelled dims (PyTorch allows it, numpy does not)
    out = kt.einsum("ijk,jk->ij", T(a), T(b))
    np.testing.assert_allclose(N(out), np.einsum("ijk,jk->ij", np.broadcast_to(a, (3, 2, 4)), b))
    # broadcasting of ellipsis dims
    c, d = rnd(2, 1, 3, 4), rnd(5, 4, 2, seed=1)
    out = kt.einsum("...ij,...jk->...ik", T(c), T(d))
    np.testing.assert_allclose(N(out), np.matmul(c, d))
    # sublist format (0 -> 'A' ...)
    m, n = rnd(2, 3), rnd(3, 4, seed=1)
    np.testing.assert_allclose(N(kt.einsum(T(m), [0, 1], T(n), [1, 2], [0, 2])), m @ n)
    np.testing.assert_allclose(N(kt.einsum(T(m), [Ellipsis, 1], T(n), [1, 2])), m @ n)
    # a float32 result stays float32; the result is never a view of an operand
    x = kt.ones(3, 3)
    y = kt.einsum("ij->ji", x)
    assert y.dtype == kt.float32
    y.fill_(5.0)
    assert x.tolist() == [[1.0] * 3] * 3
    assert kt.einsum("ii->i", x).dtype == kt.float32
    assert kt.einsum("i,i", kt.ones(3), kt.ones(3, dtype=kt.float64)).dtype == kt.float64


def test_einsum_errors():
    a = kt.ones(2, 3)
    with pytest.raises(ValueError, match="2 operand term\\(s\\) but 1 tensor"):
        kt.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="does not match the number of dimensions \\(2\\) for "
                                         "operand 0"):
        kt.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="output subscript k does not appear"):
        kt.einsum("ij->k", a)
    with pytest.raises(ValueError, match="appears more than once in the output"):
        kt.einsum("ij->ii", a)
    with pytest.raises(ValueError, match="sizes don't match, 2 != 3"):
        kt.einsum("ii->i", a)
    with pytest.raises(RuntimeError, match="subscript j has size 3 in operand 0 .* size 4"):
        kt.einsum("ij,jk->ik", a, kt.ones(4, 2))
    with pytest.raises(ValueError, match="invalid subscript '1'"):
        kt.einsum("i1->i", a)
    with pytest.raises(ValueError, match="ellipsis must be written"):
        kt.einsum("i..->i", a)


# ====================================================================== products and diagonals


def test_outer_kron():
    a, b = rnd(3), rnd(4, seed=1)
    np.testing.assert_allclose(N(kt.outer(T(a), T(b))), np.outer(a, b))
    np.testing.assert_allclose(N(T(a).ger(T(b))), np.outer(a, b))
    assert kt.outer(kt.ones(2, dtype=kt.int64), kt.ones(2)).dtype == kt.float32
    with pytest.raises(RuntimeError, match="Expected 1-D argument self, but got 2-D"):
        kt.outer(kt.ones(2, 2), kt.ones(2))
    for sa, sb in [((2, 3), (3, 2)), ((2,), (3, 2)), ((2, 1, 2), (2, 3)), ((), (2,))]:
        x, y = rnd(*sa), rnd(*sb, seed=1)
        np.testing.assert_allclose(N(kt.kron(T(x), T(y))), np.kron(x, y))


def test_diag_diagonal_diag_embed_trace():
    v = rnd(3)
    for k in (-2, 0, 1):
        np.testing.assert_array_equal(N(kt.diag(T(v), k)), np.diag(v, k))
    t, m = noncontig(3, 4)
    for k in (-2, 0, 1, 5):
        np.testing.assert_array_equal(N(t.diag(k)), np.diag(m, k))
        np.testing.assert_array_equal(N(t.diagonal(k)), np.diagonal(m, k))
    b = rnd(2, 3, 4)
    np.testing.assert_array_equal(N(kt.diagonal(T(b), 1, -1, 0)), np.diagonal(b, 1, 2, 0))
    np.testing.assert_array_equal(N(T(b).diagonal(0, 1, 2)), np.diagonal(b, 0, 1, 2))
    e = rnd(2, 3)
    out = kt.diag_embed(T(e))
    ref = np.zeros((2, 3, 3))
    ref[:, np.arange(3), np.arange(3)] = e
    np.testing.assert_array_equal(N(out), ref)
    out = T(e).diag_embed(1, 0, 2)  # (4, 2, 4): out[i, b, i + 1] = e[b, i]
    assert out.shape == (4, 2, 4)
    np.testing.assert_array_equal(N(out.diagonal(1, 0, 2)), e)
    assert N(out).sum() == e.sum()
    assert kt.trace(T(m)).item() == pytest.approx(np.trace(m))
    it = kt.tensor([[1, 2], [3, 4]]).trace()
    assert it.item() == 5 and it.dtype == kt.int64
    with pytest.raises(RuntimeError, match="expected a matrix"):
        kt.trace(kt.ones(3))
    with pytest.raises(RuntimeError, match="Supports 1D or 2D"):
        kt.diag(kt.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="cannot be identical"):
        kt.ones(2, 2).diagonal(0, 1, -1)


def test_meshgrid_cartesian_prod_indices_block_diag():
    a, b, c = rnd(3), rnd(2, seed=1), rnd(4, seed=2)
    for ind in ("ij", "xy"):
        for got, ref in zip(kt.meshgrid(T(a), T(b), T(c), indexing=ind),
                            np.meshgrid(a, b, c, indexing=ind)):
            np.testing.assert_array_equal(N(got), ref)
    gx, gy = kt.meshgrid([T(a), T(b)])
    assert gx.shape == (3, 2)
    with pytest.raises(ValueError, match="indexing"):
        kt.meshgrid(T(a), indexing="yx")
    cp = kt.cartesian_prod(T(a), T(b))
    np.testing.assert_array_equal(N(cp), np.array(list(itertools.product(a, b))))
    for fn, npfn in [(kt.triu_indices, np.triu_indices), (kt.tril_indices, np.tril_indices)]:
        for r, cc, k in [(3, 3, 0), (4, 3, 1), (3, 5, -1), (0, 2, 0)]:
            idx = fn(r, cc, k)
            assert idx.dtype == kt.int64
            np.testing.assert_array_equal(N(idx), np.stack(npfn(r, k, cc)).reshape(2, -1))
    bd = kt.block_diag(T(rnd(2, 2)), kt.tensor(3.0, dtype=kt.float64), T(rnd(3, seed=1)))
    ref = np.zeros((4, 6))
    ref[:2, :2] = rnd(2, 2)
    ref[2, 2] = 3.0
    ref[3, 3:] = rnd(3, seed=1)
    np.testing.assert_array_equal(N(bd), ref)


# ====================================================================== gradcheck


GRAD_CASES = {
    "cat": (lambda a, b, c: kt.cat([a, b, c], 1), [(2, 1), (2, 3), (2, 2)]),
    "cat_neg": (lambda a, b: kt.cat((a, b), -3), [(2, 1, 2), (1, 1, 2)]),
    "stack": (lambda a, b: kt.stack([a, b], -1), [(2, 3), (2, 3)]),
    "hstack": (lambda a, b: kt.hstack([a, b]), [(3,), (2,)]),
    "vstack": (lambda a, b: kt.vstack([a, b]), [(3,), (2, 3)]),
    "dstack": (lambda a, b: kt.dstack([a, b]), [(2, 2), (2, 2)]),
    "split": (lambda a: a.split([1, 2, 1], 1), [(2, 4)]),
    "split_int": (lambda a: a.split(2, -1)[1] * 2, [(2, 5)]),
    "chunk": (lambda a: a.chunk(2), [(3, 2)]),
    "tensor_split_overlap": (lambda a: a.tensor_split([3, 1]), [(4, 2)]),
    "unbind": (lambda a: a.unbind(1), [(2, 3)]),
    "narrow": (lambda a: a.narrow(-1, 1, 2), [(2, 4)]),
    "select": (lambda a: a.select(1, -1), [(3, 2)]),
    "flip": (lambda a: a.flip((0, 2)), [(2, 2, 3)]),
    "fliplr": (lambda a: kt.fliplr(a), [(2, 3)]),
    "roll": (lambda a: a.roll((1, -1), (0, 1)), [(3, 3)]),
    "roll_flat": (lambda a: a.roll(4), [(2, 3)]),
    "tril": (lambda a: a.tril(-1), [(2, 3, 3)]),
    "triu": (lambda a: kt.triu(a, 1), [(3, 4)]),
    "repeat": (lambda a: a.repeat(2, 1, 2), [(2, 2)]),
    "tile": (lambda a: a.tile((2,)), [(3,)]),
    "repeat_interleave_int": (lambda a: a.repeat_interleave(2, dim=1), [(2, 3)]),
    "repeat_interleave_flat": (lambda a: a.repeat_interleave(3), [(2, 2)]),
    "repeat_interleave_tensor": (lambda a: a.repeat_interleave(kt.tensor([2, 0, 3]), dim=0),
                                 [(3, 2)]),
    "pad_constant": (lambda a: pad(a, (1, 2, 0, 1), value=3.0), [(2, 2, 3)]),
    "pad_constant_neg": (lambda a: pad(a, (-1, 1, 1, -1)), [(3, 3)]),
    "pad_reflect": (lambda a: pad(a, (2, 1, 1, 2), mode="reflect"), [(1, 3, 4)]),
    "pad_reflect_1d": (lambda a: pad(a, (3, 3), mode="reflect"), [(2, 4)]),
    "pad_replicate": (lambda a: pad(a, (2, 1, 1, 3), mode="replicate"), [(1, 2, 3)]),
    "pad_circular": (lambda a: pad(a, (2, 3, 1, 0), mode="circular"), [(1, 2, 3)]),
    "pad_3d": (lambda a: pad(a, (1, 1, 1, 0, 0, 1), mode="reflect"), [(1, 2, 2, 2)]),
    "einsum_mm": (lambda a, b: kt.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    "einsum_bmm": (lambda a, b: kt.einsum("bij,bjk->bik", a, b), [(2, 2, 3), (2, 3, 2)]),
    "einsum_trace": (lambda a: kt.einsum("ii", a), [(3, 3)]),
    "einsum_diag": (lambda a: kt.einsum("ii->i", a), [(3, 3)]),
    "einsum_repeated_mixed": (lambda a, b: kt.einsum("iij,j->i", a, b), [(2, 2, 3), (3,)]),
    "einsum_ellipsis": (lambda a, b: kt.einsum("...ij,...j->...i", a, b), [(2, 2, 3), (3,)]),
    "einsum_outer": (lambda a, b: kt.einsum("i,j", a, b), [(3,), (2,)]),
    "einsum_sum_only": (lambda a, b: kt.einsum("ij,k->i", a, b), [(2, 3), (2,)]),
    "einsum_three": (lambda a, b, c: kt.einsum("ab,bc,cd->ad", a, b, c),
                     [(2, 3), (3, 2), (2, 2)]),
    "einsum_broadcast1": (lambda a, b: kt.einsum("ijk,jk->ij", a, b), [(2, 1, 3), (2, 3)]),
    "einsum_transpose": (lambda a: kt.einsum("ij->ji", a), [(2, 3)]),
    "outer": (lambda a, b: kt.outer(a, b), [(3,), (2,)]),
    "kron": (lambda a, b: kt.kron(a, b), [(2, 2), (2, 1)]),
    "diag_vec": (lambda a: kt.diag(a, -1), [(3,)]),
    "diag_mat": (lambda a: a.diag(1), [(3, 4)]),
    "diagonal": (lambda a: a.diagonal(-1, 2, 0), [(3, 2, 3)]),
    "diag_embed": (lambda a: kt.diag_embed(a, 1, 0, 2), [(2, 2)]),
    "trace": (lambda a: a.trace(), [(3, 3)]),
    "meshgrid": (lambda a, b: kt.meshgrid(a, b, indexing="xy"), [(2,), (3,)]),
    "cartesian_prod": (lambda a, b: kt.cartesian_prod(a, b), [(2,), (2,)]),
    "block_diag": (lambda a, b: kt.block_diag(a, b), [(2, 1), (2,)]),
    "column_stack": (lambda a, b: kt.column_stack([a, b]), [(3,), (3, 2)]),
    "flipud": (lambda a: a.flipud(), [(3, 2)]),
    "hsplit": (lambda a: kt.hsplit(a, [1]), [(2, 3)]),
    "pad_reflect_crop": (lambda a: pad(a, (-1, 2, 1, -1), mode="reflect"), [(3, 4)]),
    "constant_pad_nd": (lambda a: kt.constant_pad_nd(a, (1, 0, 0, 2), 1.5), [(2, 2)]),
    "einsum_scalar_operand": (lambda a, b, c: kt.einsum("ij,,j->i", a, b, c),
                              [(2, 3), (), (3,)]),
    "einsum_sublist": (lambda a, b: kt.einsum(a, [0, Ellipsis], b, [Ellipsis, 1]),
                       [(2, 3), (3, 2)]),
    "row_view_mul": (lambda a: a.unbind(0)[0] * a.select(0, 1), [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradcheck(name):
    fn, shapes = GRAD_CASES[name]
    inputs = [D(*s, seed=i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)


GRADGRAD_CASES = ["cat", "stack", "pad_reflect", "pad_replicate", "pad_circular", "pad_constant",
                  "einsum_bmm", "einsum_diag", "einsum_sum_only", "roll", "repeat",
                  "repeat_interleave_tensor", "split", "unbind", "diagonal", "diag_embed",
                  "select"]


@pytest.mark.parametrize("name", GRADGRAD_CASES)
def test_gradgradcheck(name):
    fn, shapes = GRAD_CASES[name]
    inputs = [D(*s, seed=i) for i, s in enumerate(shapes)]
    if name.startswith("einsum"):  # make it non-linear so second derivatives are non-trivial
        f = fn
        fn = lambda *xs: f(*xs) * xs[0].sum()  # noqa: E731
    assert gradgradcheck(fn, inputs)


def test_float32_grads_stay_float32():
    x = kt.ones(2, 3, requires_grad=True)
    y = (kt.cat([x, x], 0).sum() + pad(x, (1, 1), mode="reflect").sum()
         + kt.einsum("ij,ij->", x, x) + x.repeat_interleave(kt.tensor([1, 2, 3]), 1).sum()
         + x.split(1, 1)[0].sum() + x.roll(1).sum() + x.repeat(2, 2).sum())
    assert y.dtype == kt.float32
    y.backward()
    assert x.grad.dtype == kt.float32


def test_no_grad_outputs_have_no_history():
    x = D(2, 3)
    with kt.no_grad():
        assert not kt.cat([x, x]).requires_grad
        assert not any(p.requires_grad for p in x.split(1))
        assert not kt.einsum("ij->i", x).requires_grad
    assert kt.cat([x, kt.ones(2, 3, dtype=kt.float64)]).requires_grad


# ====================================================================== property-based


@SLOW
@given(st.data())
def test_prop_cat(data):
    a = data.draw(float_arrays)
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    k = data.draw(st.integers(0, 4))
    shape = list(a.shape)
    shape[dim] = k
    b = data.draw(hnp.arrays(np.float64, tuple(shape), elements=st.floats(-10, 10)))
    np.testing.assert_array_equal(N(kt.cat([T(a), T(b)], dim)), np.concatenate([a, b], dim))


@SLOW
@given(float_arrays, st.integers(1, 3), st.data())
def test_prop_stack(a, n, data):
    dim = data.draw(st.integers(-a.ndim - 1, a.ndim))
    arrs = [a * (i + 1) for i in range(n)]
    np.testing.assert_array_equal(N(kt.stack([T(x) for x in arrs], dim)), np.stack(arrs, dim))


@SLOW
@given(float_arrays, st.integers(1, 6), st.data())
def test_prop_split(a, size, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    parts = kt.split(T(a), size, dim)
    n = a.shape[dim]
    cuts = list(range(size, n, size))
    refs = np.split(a, cuts, axis=dim)
    assert len(parts) == len(refs)
    for p, r in zip(parts, refs):
        np.testing.assert_array_equal(N(p), r)
    np.testing.assert_array_equal(N(kt.cat(parts, dim)), a)


@SLOW
@given(float_arrays, st.data())
def test_prop_flip(a, data):
    dims = data.draw(st.lists(st.integers(0, a.ndim - 1), unique=True, max_size=a.ndim))
    np.testing.assert_array_equal(N(kt.flip(T(a), dims)), np.flip(a, dims) if dims else a)


@SLOW
@given(float_arrays, st.data())
def test_prop_roll(a, data):
    dims = data.draw(st.lists(st.integers(-a.ndim, a.ndim - 1), min_size=1, max_size=3))
    shifts = data.draw(st.lists(st.integers(-12, 12), min_size=len(dims), max_size=len(dims)))
    np.testing.assert_array_equal(N(kt.roll(T(a), shifts, dims)), np.roll(a, shifts, dims))
    np.testing.assert_array_equal(N(kt.roll(T(a), shifts[0])), np.roll(a, shifts[0]))


@SLOW
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, max_side=5),
                  elements=st.floats(-100, 100)), st.integers(-6, 6))
def test_prop_tril_triu(a, k):
    np.testing.assert_array_equal(N(kt.tril(T(a), k)), np.tril(a, k))
    np.testing.assert_array_equal(N(kt.triu(T(a), k)), np.triu(a, k))


def test_repeat_is_exported_as_method_only():
    assert kt.ones(2).repeat(2).shape == (4,)
    assert repeat(kt.ones(2), 3, 1).shape == (3, 2)
    assert not hasattr(kt, "repeat")
