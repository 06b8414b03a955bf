"""Tensor creation, dtypes, devices, conversions, views and repr."""
import copy
import pickle

import numpy as np
import pytest

import ktrain as kt


def test_creation_dtypes_follow_pytorch():
    assert kt.tensor([1.0, 2.0]).dtype == kt.float32
    assert kt.tensor([1, 2]).dtype == kt.int64
    assert kt.tensor([True]).dtype == kt.bool
    assert kt.tensor([1, 2.5]).dtype == kt.float32
    assert kt.tensor(np.zeros(2)).dtype == kt.float64  # numpy arrays keep their dtype
    assert kt.tensor(3).shape == () and kt.tensor(3).item() == 3
    assert kt.zeros(2, 3).shape == (2, 3) and kt.zeros((2, 3)).shape == (2, 3)
    assert kt.ones([4], dtype=kt.int32).dtype == kt.int32
    assert kt.full((2,), 7).dtype == kt.int64 and kt.full((2,), 7.0).dtype == kt.float32
    assert kt.empty(3).shape == (3,)
    assert kt.arange(5).tolist() == [0, 1, 2, 3, 4] and kt.arange(5).dtype == kt.int64
    np.testing.assert_allclose(kt.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert kt.arange(1, 0, -0.5).tolist() == [1.0, 0.5]
    np.testing.assert_allclose(kt.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_allclose(kt.logspace(0, 2, 3).numpy(), [1, 10, 100])
    assert kt.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    x = kt.tensor([[1, 2], [3, 4]], dtype=kt.float64)
    assert kt.zeros_like(x).dtype == kt.float64 and kt.ones_like(x).sum().item() == 4
    assert kt.full_like(x, 2).tolist() == [[2, 2], [2, 2]]
    assert x.new_zeros(3).dtype == kt.float64 and x.new_ones((1, 2)).shape == (1, 2)
    assert x.new_full((2,), 5).tolist() == [5, 5]
    assert x.new_tensor([1, 2]).dtype == kt.float64


def test_creation_errors_are_clear():
    with pytest.raises(ValueError, match="rectangular"):
        kt.tensor([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="negative dimension"):
        kt.zeros(-1)
    with pytest.raises(TypeError, match="unknown dtype"):
        kt.zeros(2, dtype="float8")


def test_numpy_interop_shares_memory():
    a = np.arange(4.0)
    t = kt.from_numpy(a)
    a[0] = 10
    assert t[0].item() == 10
    t[1] = 20
    assert a[1] == 20
    assert t.numpy() is a
    assert np.asarray(t) is a
    c = kt.tensor(a)
    a[2] = 30
    assert c[2].item() == 2  # tensor() copies
    assert kt.as_tensor(a).numpy() is a
    with pytest.raises(RuntimeError, match="detach"):
        kt.ones(2, requires_grad=True).numpy()


def test_dlpack_round_trip():
    t = kt.arange(6, dtype=kt.float32).reshape(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a[1, 2] == 5
    back = kt.from_dlpack(a)
    back[0, 0] = 42
    assert t[0, 0].item() == 42  # zero-copy both ways


def test_item_tolist_scalars():
    t = kt.tensor([[1.5, 2.0]])
    assert t.tolist() == [[1.5, 2.0]]
    assert t[0, 0].item() == 1.5 and float(t[0, 1]) == 2.0
    assert int(kt.tensor(3)) == 3 and bool(kt.tensor([1]))
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    assert [v.item() for v in kt.tensor([1, 2, 3])] == [1, 2, 3]
    assert len(kt.zeros(4, 2)) == 4
    assert list(range(10))[kt.tensor(3)] == 3


def test_to_and_type_conversions():
    x = kt.tensor([1.7, -2.2])
    assert x.to(kt.float64).dtype == kt.float64
    assert x.double().dtype == kt.float64 and x.half().dtype == kt.float16
    assert x.int().tolist() == [1, -2] and x.long().dtype == kt.int64
    assert x.bool().tolist() == [True, True]
    assert x.to("cpu") is x and x.to(kt.float32) is x
    assert x.to(kt.float32, copy=True) is not x
    assert x.to(kt.zeros(1, dtype=kt.int32)).dtype == kt.int32
    assert x.type() == "ktrain.float32" and x.type(kt.float64).dtype == kt.float64
    assert x.to(dtype=kt.float16, device="cpu").dtype == kt.float16
    assert x.device == kt.device("cpu") and str(x.device) == "cpu" and not x.is_cuda


def test_bfloat16_clear_error_or_support():
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        with pytest.raises(TypeError, match="ml_dtypes"):
            kt.zeros(2, dtype=kt.bfloat16)
    else:
        z = kt.ones(2, dtype=kt.bfloat16)
        assert z.dtype == kt.bfloat16 and (z * 2).dtype == kt.bfloat16


def test_devices():
    d = kt.device("cuda:1")
    assert d.type == "cuda" and d.index == 1 and str(d) == "cuda:1"
    assert kt.device("cuda", 0) == kt.device("cuda:0") == "cuda:0"
    assert repr(kt.device("cpu")) == "device(type='cpu')"
    with pytest.raises(ValueError, match="unknown device type"):
        kt.device("tpu")


def test_views_share_storage_and_version():
    base = kt.arange(12.0).reshape(3, 4)
    views = [base.view(4, 3), base.reshape(2, 6), base.T, base.transpose(0, 1),
             base.permute(1, 0), base[1], base[:, 1:3], base.unsqueeze(0), base.flatten(),
             base[:1].expand(5, 4), base.squeeze(), base.detach()]
    for v in views:
        assert np.shares_memory(v.numpy(), base.numpy())
        assert v._version is base._version
    base.T[0, 1] = 100.0  # writes through the transposed view
    assert base[1, 0].item() == 100.0
    copy_ = base.T.reshape(12)  # not expressible as a view: a copy
    assert not np.shares_memory(copy_.numpy(), base.numpy())
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        base.T.view(12)
    assert base.T.contiguous().is_contiguous() and not base.T.is_contiguous()
    assert base.contiguous() is base
    assert base[[0, 2]].numpy().base is None or not np.shares_memory(base[[0, 2]].numpy(),
                                                                       base.numpy())


def test_shape_and_size():
    x = kt.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(-1) == 4
    assert repr(x.shape) == "ktrain.Size([2, 3, 4])"
    assert x.dim() == 3 and x.ndim == 3 and x.numel() == 24 and x.element_size() == 4
    assert x.stride() == (12, 4, 1) and x.T.stride() == (1, 4, 12)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)


def test_repr_like_pytorch():
    assert repr(kt.tensor([1.0, 2.0, 3.0])) == "tensor([1., 2., 3.])"
    assert repr(kt.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert repr(kt.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(kt.tensor([True, False])) == "tensor([ True, False])" or \
        repr(kt.tensor([True, False])) == "tensor([True, False])"
    assert repr(kt.tensor(2.5)) == "tensor(2.5000)"
    assert repr(kt.tensor([1.0], dtype=kt.float64)) == "tensor([1.], dtype=ktrain.float64)"
    assert repr(kt.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(kt.tensor([1, 2], dtype=kt.int32)) == "tensor([1, 2], dtype=ktrain.int32)"
    assert "e" in repr(kt.tensor([1e-8, 1.0]))
    assert repr(kt.zeros(0, 3)) == "tensor([], size=(0, 3))"
    big = repr(kt.zeros(2000))
    assert "..." in big


def test_pickle_and_deepcopy():
    x = kt.tensor([1.0, 2.0], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == [1.0, 2.0] and y.requires_grad
    z = copy.deepcopy(x)
    assert z.tolist() == x.tolist() and not np.shares_memory(z.numpy(force=True),
                                                             x.numpy(force=True))
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_out_argument():
    out = kt.empty(3)
    r = kt.add(kt.ones(3), kt.ones(3), out=out)
    assert r is out and out.tolist() == [2, 2, 2]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_ops_on_each_device_match_numpy(device):
    if device == "cuda" and not kt.cuda.is_available():
        pytest.skip("CUDA is not available")
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    x = kt.tensor(a, device=device, requires_grad=True)
    y = ((x @ x.T).tanh() * 2 + x.sum(1, keepdim=True)).exp().mean()
    y.backward()
    assert x.grad.device == x.device
    ref = np.exp(np.tanh(a @ a.T) * 2 + a.sum(1, keepdims=True)).mean()
    np.testing.assert_allclose(y.item(), ref, rtol=1e-5)


def test_empty_list_gives_default_float():
    assert kt.tensor([]).dtype == kt.float32 and kt.tensor([[]]).shape == (1, 0)
