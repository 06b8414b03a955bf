"""The same ops on cupy and numpy must agree (forward and gradients).

Every test here is parametrised over the CUDA devices that exist; without CUDA (no cupy
or no GPU) the whole module is skipped with the reason shown in the pytest summary.
"""
import numpy as np
import pytest

import ktrain as kt

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not kt.cuda.is_available(),
                                 reason="CUDA is not available (install cupy and run on a GPU)")]

DEVICES = [f"cuda:{i}" for i in range(kt.cuda.device_count())] if kt.cuda.is_available() \
    else ["cuda:0"]
RNG = np.random.default_rng(0)

CASES = [
    ("add_bcast", lambda a, b: a + b[0], 2),
    ("mul_div", lambda a, b: a * b / (b * b + 1), 2),
    ("matmul", lambda a, b: a @ b.T, 2),
    ("exp_log", lambda a, b: (a.exp() + 1).log() * b, 2),
    ("tanh_sigmoid", lambda a, b: a.tanh() + b.sigmoid(), 2),
    ("relu_clamp", lambda a, b: a.relu() + b.clamp(-0.5, 0.5), 2),
    ("sum_mean", lambda a, b: a.sum(0) + b.mean(1, keepdim=True).T, 2),
    ("var_std", lambda a, b: a.var(1) + b.std(0).sum(), 2),
    ("softmax", lambda a, b: a.softmax(-1) * b.log_softmax(0), 2),
    ("max_min", lambda a, b: a.max(1).values + b.amin(0), 2),
    ("reshape_permute", lambda a, b: a.reshape(4, 3).T @ b.reshape(4, 3), 2),
    ("index", lambda a, b: a[[0, 2]] * b[1:3], 2),
    ("gather", lambda a, b: a.gather(1, kt.tensor([[0], [2], [1]], device=a.device)) * b, 2),
    ("cat_stack", lambda a, b: kt.cat([a, b], 1).sum() + kt.stack([a, b]).mean(0), 2),
    ("pad", lambda a, b: kt.nn.functional.pad(a, (1, 1), mode="reflect") * 2, 2),
    ("einsum", lambda a, b: kt.einsum("ij,kj->ik", a, b), 2),
    ("sort_topk", lambda a, b: a.sort(1).values + b.topk(2, 1).values.sum(), 2),
    ("where", lambda a, b: kt.where(a > 0, a, b), 2),
    ("cumsum_prod", lambda a, b: a.cumsum(1) + b.prod(0), 2),
    ("norm", lambda a, b: a.norm() + b.norm(dim=1).sum(), 2),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,fn,n", CASES, ids=[c[0] for c in CASES])
def test_cuda_matches_numpy(device, name, fn, n):
    arrays = [RNG.standard_normal((3, 4)) for _ in range(n)]
    cpu = [kt.tensor(a, requires_grad=True) for a in arrays]
    gpu = [kt.tensor(a, device=device, requires_grad=True) for a in arrays]
    out_c, out_g = fn(*cpu), fn(*gpu)
    assert out_g.device == kt.device(device)
    np.testing.assert_allclose(out_g.cpu().detach().numpy(), out_c.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    out_c.sum().backward()
    out_g.sum().backward()
    for c, g in zip(cpu, gpu):
        assert g.grad.device == kt.device(device)
        np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_cuda_mixing_devices_is_an_error(device):
    with pytest.raises(RuntimeError, match="same device"):
        kt.ones(2, device=device) + kt.ones(2)


@pytest.mark.parametrize("device", DEVICES)
def test_cuda_save_load_and_float32(device, tmp_path):
    x = kt.randn(5, device=device)
    assert x.dtype == kt.float32 and x.is_cuda
    assert (x * 2.5).dtype == kt.float32
    kt.save({"x": x}, tmp_path / "t.kt")
    y = kt.load(tmp_path / "t.kt", map_location=device)["x"]
    assert y.device == x.device and kt.equal(x.cpu(), y.cpu())
    kt.cuda.synchronize()
    assert kt.cuda.memory_allocated() > 0
