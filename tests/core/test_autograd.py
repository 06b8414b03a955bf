"""The autograd engine: accumulation, modes, higher order, hooks, errors, custom Functions."""
import gc
import weakref

import numpy as np
import pytest

import ktrain as kt
from ktrain.autograd import Function, gradcheck, gradgradcheck


def leaf(values, dtype=kt.float64):
    return kt.tensor(values, dtype=dtype, requires_grad=True)


def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6, 6])
    assert x.grad is g  # accumulated in place, as PyTorch does


def test_shared_gradient_arrays_are_not_aliased():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()  # Add hands the same gradient to both inputs
    a.grad.add_(10)
    np.testing.assert_allclose(b.grad.numpy(), [1, 1])
    v = kt.tensor([1.0, 1.0], dtype=kt.float64)
    x = leaf([1.0, 2.0])
    (x + 0).backward(v)
    x.grad.mul_(5)
    np.testing.assert_allclose(v.numpy(), [1, 1])  # the user's gradient is untouched


def test_same_tensor_used_twice_gets_both_contributions():
    x = leaf([2.0])
    (x * x + x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0])


def test_non_scalar_backward_needs_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar"):
        (x * 2).backward()
    (x * 2).backward(kt.tensor([1.0, 0.5], dtype=kt.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(kt.ones(3, dtype=kt.float64))


def test_backward_on_tensor_without_grad_is_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        kt.ones(2).sum().backward()


def test_retain_grad_and_is_leaf():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    assert y.retains_grad and not y.is_leaf and x.is_leaf
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_autograd_grad_and_higher_order():
    x = leaf([1.0, 2.0, 3.0])
    y = (x ** 3).sum()
    (g,) = kt.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (h,) = kt.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(h.detach().numpy(), 6 * x.detach().numpy())
    (t,) = kt.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(t.numpy(), [6, 6, 6])
    assert x.grad is None  # autograd.grad never touches .grad


def test_autograd_grad_non_leaf_and_unused():
    x = leaf([1.0, 2.0])
    z = leaf([5.0])
    y = x * 2
    out = (y * y).sum()
    gy, gz = kt.autograd.grad(out, (y, z), allow_unused=True)
    np.testing.assert_allclose(gy.numpy(), [4.0, 8.0])
    assert gz is None
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        kt.autograd.grad((x * 2).sum(), (x, z))
    gz, = kt.autograd.grad((x * 2).sum(), z, allow_unused=True, materialize_grads=True)
    np.testing.assert_allclose(gz.numpy(), [0.0])


def test_gradient_penalty_double_backward():
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    x = leaf([0.5, -1.0])
    out = (w @ x).tanh().sum()
    (gx,) = kt.autograd.grad(out, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and w.grad.shape == (2, 2)
    # compare with finite differences of the penalty wrt w
    def pen(w_):
        o = (w_ @ x.detach()).tanh().sum()
        g, = kt.autograd.grad(o, x, create_graph=True) if False else (None,)
        return o
    assert gradcheck(lambda w_, x_: kt.autograd.grad((w_ @ x_).tanh().sum(), x_,
                                                     create_graph=True)[0], (w, x))


def test_grad_modes():
    x = leaf([1.0])
    with kt.no_grad():
        assert not (x * 2).requires_grad
        with kt.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @kt.no_grad()
    def f(t):
        return t * 2

    @kt.no_grad
    def f2(t):
        return t * 2

    assert not f(x).requires_grad and not f2(x).requires_grad
    with kt.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    kt.set_grad_enabled(False)
    assert not kt.is_grad_enabled()
    kt.set_grad_enabled(True)
    assert kt.is_grad_enabled()

    @kt.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert kt.is_grad_enabled() and not g(x).requires_grad
    with kt.inference_mode():
        assert not (x * 2).requires_grad and kt.is_inference_mode_enabled()
    with kt.inference_mode(False):
        assert (x * 2).requires_grad


def test_detach_and_requires_grad_rules():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 10.0  # shares storage
    assert y[0].item() == 10.0
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="floating point"):
        kt.tensor([1, 2]).requires_grad_()
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad


def test_long_chain_no_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_deep_graph_is_freed_after_backward():
    x = leaf([1.0])
    y = x
    for _ in range(1000):
        y = y * 1.0
    node = weakref.ref(y.grad_fn)
    y.backward()
    del y
    gc.collect()
    assert node() is None


def test_second_backward_through_freed_graph_errors():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = (x.exp()).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + 2 * np.exp([1, 2]))


def test_saved_tensors_are_released():
    x = leaf([1.0, 2.0])
    y = x * x
    fn = y.grad_fn
    assert fn._saved is not None
    y.sum().backward()
    assert fn._saved is None


def test_inplace_on_saved_tensor_errors_at_backward():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    a = leaf([1.0, 2.0])
    e = a.exp()  # saves its output
    e.mul_(2)
    with pytest.raises(RuntimeError, match="version"):
        e.sum().backward()


def test_inplace_through_a_view_bumps_the_base_version():
    base = kt.zeros(4)
    v = base[1:3]
    v0 = base._version[0]
    v.fill_(5.0)
    assert base.tolist() == [0, 5, 5, 0]
    assert base._version[0] == v0 + 1
    w = base.view(2, 2)
    w[0, 0] = 7.0
    assert base[0].item() == 7.0
    t = base.T if base.ndim > 1 else base
    assert t._version is base._version


def test_leaf_inplace_error_and_no_grad_update():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 3.0
    with kt.no_grad():
        w.add_(1)
        w[0] = 5.0
    assert w.tolist() == [5.0, 3.0]


def test_inplace_on_non_leaf_rebases_history():
    def f(x):
        y = x * 2
        y.add_(x)  # y = 3x
        y.mul_(x)  # y = 3x^2
        y.sub_(1).div_(2)
        y.exp_()
        return y

    assert gradcheck(f, (leaf([0.3, -0.2, 0.5]),))
    assert gradgradcheck(f, (leaf([0.3, -0.2, 0.5]),))


def test_setitem_with_grad_value_into_fresh_tensor():
    h = leaf([1.0, 2.0])
    out = kt.zeros(3, 2, dtype=kt.float64)
    out[0] = h * 2
    out[2] = h.exp()
    out.sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 + np.exp([1.0, 2.0]))


def test_tensor_hooks():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.clone()) or g * 10)
    y = x * 3
    hy = y.register_hook(lambda g: g + 1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [60.0, 60.0])
    assert len(seen) == 1
    h.remove()
    hy.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        kt.ones(2).register_hook(lambda g: g)


def test_graph_is_inspectable_and_renders_as_dot():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    y = (x * w).sum()
    assert y.grad_fn.name() == "SumBackward0"
    (mul, _), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    names = [type(n).__name__ for n, _ in mul.next_functions]
    assert names == ["AccumulateGrad", "AccumulateGrad"]
    assert mul.next_functions[0][0].variable is x
    dot = kt.autograd.graph.to_dot(y, params={"w": w})
    assert dot.startswith("digraph") and "MulBackward0" in dot and '"w\\n(2,)"' in dot
    assert "grad_fn=<SumBackward0>" in repr(y)


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2 * ctx.scale, None


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        arr = x.detach().numpy()
        idx = kt.tensor(np.argsort(arr))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return x[idx], idx

    @staticmethod
    def backward(ctx, g, gidx):
        (idx,) = ctx.saved_tensors
        out = kt.zeros_like(g)
        out[idx] = g
        return out


def test_custom_function():
    x = leaf([1.0, -2.0, 0.5])
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy() ** 2)
    assert gradcheck(lambda t: Cube.apply(t, 0.5), (leaf([0.3, 0.7]),))
    assert gradgradcheck(lambda t: Cube.apply(t, 0.5), (leaf([0.3, 0.7]),))
    vals, idx = SortWithIndex.apply(leaf([3.0, 1.0, 2.0]))
    assert vals.requires_grad and not idx.requires_grad
    assert gradcheck(lambda t: SortWithIndex.apply(t)[0] * kt.tensor([1.0, 2.0, 3.0],
                                                                     dtype=kt.float64),
                     (leaf([3.0, 1.0, 2.0]),))


def test_custom_function_needs_input_grad_and_bad_gradient():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return kt.ones(5, dtype=kt.float64), None

    a = leaf([1.0, 2.0])
    b = kt.tensor([1.0, 2.0], dtype=kt.float64)
    out = Probe.apply(a, b)
    assert seen["needs"] == (True, False)
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        out.sum().backward()


def test_mixed_devices_error_names_both(monkeypatch):
    from ktrain import _backend as B

    class FakeCuda:
        shape = (2,)

    real = B.device_of
    monkeypatch.setattr(B, "device_of", lambda a: B.device("cuda", 0)
                        if isinstance(a, FakeCuda) else real(a))
    with pytest.raises(RuntimeError, match="cpu and cuda:0"):
        B.check_same_device("add", (np.ones(2), FakeCuda()))


def test_cuda_unavailable_error_is_clear():
    if kt.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        kt.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        kt.ones(2).cuda()
    assert kt.cuda.device_count() == 0
    assert kt.cuda.memory_allocated() == 0
    kt.cuda.synchronize()


def test_inplace_through_views_under_autograd():
    def f(x, y):
        b = x * 1.0
        b[:, 0] += y  # view iadd, then setitem of the view into its base
        v = b[1]
        v.mul_(y[1])  # in-place on a basic-index view
        b.T[0].sub_(x[0, 0])  # in-place through a view of a transposed view
        return b * b

    x = leaf(np.random.default_rng(1).uniform(-1, 1, (3, 3)))
    y = leaf([0.5, -1.5, 2.0])
    assert gradcheck(f, (x, y))
    assert gradgradcheck(f, (x, y))


def test_inplace_on_view_of_leaf_errors():
    w = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[1:].add_(1)


def test_inplace_view_into_fresh_buffer():
    h = leaf([1.0, 2.0])
    out = kt.zeros(2, 3, dtype=kt.float64)
    out[:, 1].add_(h)
    out[:, 2:].copy_(h.unsqueeze(1) * 3)
    out.sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 4.0])


def test_fill_through_a_view_cuts_the_gradient():
    x = leaf([1.0, 1.0, 1.0, 1.0])
    y = x * 2
    y[1:3].fill_(0.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 0, 0, 2])
    v = leaf([3.0])
    z = kt.zeros(3, dtype=kt.float64)
    z.fill_(v[0])
    z.sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [3.0])


def test_implicit_gradient_for_bfloat16_outputs():
    pytest.importorskip("ml_dtypes")
    x = kt.ones(3, dtype=kt.bfloat16, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.dtype == kt.bfloat16 and x.grad.tolist() == [2.0, 2.0, 2.0]
