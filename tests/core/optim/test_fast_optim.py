"""The fused Adam/AdamW and Adadelta kernels (optim._fused) against the numpy path; SGD's
formula."""
import numpy as np
import pytest

import ktrain
from ktrain import _fast
from ktrain.backends import cpu
from ktrain.optim import _fused

pytestmark = pytest.mark.skipif(not _fast.available(), reason="numba not installed")

CASES = [
    (ktrain.optim.Adam, dict(lr=1e-2)),
    (ktrain.optim.Adam, dict(lr=1e-2, weight_decay=0.1, maximize=True)),
    (ktrain.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
    (ktrain.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    (ktrain.optim.Adadelta, dict()),
    (ktrain.optim.Adadelta, dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
]


def _run(cls, kw, fast, dtype, steps=4):
    rng = np.random.default_rng(0)
    shapes = [(300, 70), (70,), (40, 300)]   # > _fast.MIN_SIZE elements in all
    ps = [ktrain.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
          for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    old = _fast.enabled()
    cpu.set_fast_kernels(fast)
    try:
        opt = cls(ps, **kw)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = ktrain.tensor(g.copy())
            opt.step()
    finally:
        cpu.set_fast_kernels(old)
    return [p.detach().numpy().copy() for p in ps]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kw", CASES)
def test_fused_matches_numpy(cls, kw, dtype):
    ref = _run(cls, kw, False, dtype)
    got = _run(cls, kw, True, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(ref, got):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


def test_adadelta_takes_the_kernel(monkeypatch):
    calls = []
    kernel = _fused._adadelta
    monkeypatch.setattr(_fused, "_adadelta", lambda *a: calls.append(1) or kernel(*a))
    _run(ktrain.optim.Adadelta, {}, True, np.float32, steps=2)
    assert len(calls) == 2


def test_sgd_matches_formula():
    # two steps of SGD momentum by hand (PyTorch's formula), through SGD._apply
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(20000)
    g1, g2 = rng.standard_normal(20000), rng.standard_normal(20000)
    b1 = g1
    b2 = 0.9 * b1 + g2
    want = p0 - 0.1 * b1 - 0.1 * b2
    got = _run_manual(p0, [g1, g2])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _run_manual(p0, grads):
    p = ktrain.tensor(p0.copy(), requires_grad=True)
    opt = ktrain.optim.SGD([p], lr=0.1, momentum=0.9)
    for g in grads:
        p.grad = ktrain.tensor(g.copy())
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("cls,kw,name", [(ktrain.optim.AdamW, dict(lr=1e-3), "_adam")])
def test_fused_path_taken(monkeypatch, cls, kw, name):
    calls = []
    real = getattr(_fused, name)

    def spy(*a):
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(_fused, name, spy)
    _run(cls, kw, True, np.float32, steps=2)
    assert calls, "the fused kernel was not used for large float32 parameters"
    calls.clear()
    _run(cls, kw, False, np.float32, steps=2)
    assert not calls
