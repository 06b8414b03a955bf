"""ktrain.random: generators, seeding, sampling functions and in-place samplers."""
import copy

import ktrain as kt
import ktrain.random as R
import numpy as np
import pytest

CUDA = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not kt.cuda.is_available(),
    reason="CUDA is not available (cupy missing or no GPU visible): cuda variant skipped")])
DEVICES = ["cpu", CUDA]


def host(t):
    return np.asarray(t.__array__())


@pytest.fixture(autouse=True)
def _seeded():
    kt.manual_seed(1234)
    yield


@pytest.fixture
def default_float64():
    old = kt.get_default_dtype()
    kt.set_default_dtype(kt.float64)
    yield
    kt.set_default_dtype(old)


# ----------------------------------------------------------------------------- seeding


@pytest.mark.parametrize("device", DEVICES)
def test_manual_seed_reproducible(device):
    def draw():
        return [host(kt.rand(50, device=device)), host(kt.randn(3, 7, device=device)),
                host(kt.randint(0, 100, (20,), device=device)),
                host(kt.randperm(30, device=device)),
                host(kt.multinomial(kt.ones(10, device=device), 4)),
                host(kt.empty(8, device=device).normal_(2.0, 3.0))]

    kt.manual_seed(7)
    a = draw()
    kt.manual_seed(7)
    b = draw()
    kt.manual_seed(8)
    c = draw()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_manual_seed_returns_default_generator_and_initial_seed():
    g = kt.manual_seed(42)
    assert g is R.default_generator is kt.default_generator
    assert kt.initial_seed() == 42
    assert kt.manual_seed(-1).initial_seed() == 2 ** 64 - 1  # negatives wrap as in PyTorch
    with pytest.raises(RuntimeError, match="range"):
        kt.manual_seed(2 ** 64)
    with pytest.raises(TypeError):
        kt.manual_seed("abc")


def test_seed_is_nondeterministic_and_recorded():
    s = kt.seed()
    assert isinstance(s, int) and kt.initial_seed() == s
    g = kt.Generator()
    s2 = g.seed()
    assert g.initial_seed() == s2


def test_float32_generated_as_float32_by_pcg64():
    g = kt.Generator().manual_seed(99)
    ref = np.random.Generator(np.random.PCG64(99)).random(16, dtype=np.float32)
    np.testing.assert_array_equal(host(kt.rand(16, generator=g)), ref)


def test_generators_are_independent():
    g1 = kt.Generator().manual_seed(5)
    g2 = kt.Generator().manual_seed(5)
    a1 = host(kt.rand(10, generator=g1))
    kt.rand(100)  # the default generator does not touch g1/g2
    kt.rand(3, generator=kt.Generator().manual_seed(5))
    a2 = host(kt.rand(10, generator=g2))
    np.testing.assert_array_equal(a1, a2)
    b1 = host(kt.randn(4, generator=g1))
    b2 = host(kt.randn(4, generator=g2))
    np.testing.assert_array_equal(b1, b2)
    # drawing from one does not advance the other
    kt.rand(5, generator=g1)
    kt.manual_seed(5)
    assert not np.array_equal(host(kt.rand(5, generator=g1)), host(kt.rand(5, generator=g2)))


def test_fresh_generators_agree_and_deepcopy_keeps_state():
    g = kt.Generator()
    assert g.initial_seed() == kt.Generator().initial_seed()
    kt.rand(3, generator=g)
    h = copy.deepcopy(g)
    np.testing.assert_array_equal(host(kt.rand(5, generator=g)), host(kt.rand(5, generator=h)))


@pytest.mark.parametrize("form", ["tensor", "bytes"])
def test_get_set_state_round_trip(form):
    g = kt.Generator().manual_seed(3)
    kt.rand(1, generator=g)  # leaves a buffered half of a 64-bit draw in PCG64
    st = g.get_state()
    assert st.dtype is kt.uint8 and st.ndim == 1
    a = host(kt.rand(7, generator=g))
    b = host(kt.randn(5, dtype=kt.float64, generator=g))
    g.manual_seed(0)
    g.set_state(st if form == "tensor" else bytes(host(st)))
    assert g.initial_seed() == 3
    np.testing.assert_array_equal(host(kt.rand(7, generator=g)), a)
    np.testing.assert_array_equal(host(kt.randn(5, dtype=kt.float64, generator=g)), b)
    # the state is a copy: drawing does not change a saved state tensor
    assert np.array_equal(host(g.get_state()), host(g.get_state()))
    assert not np.array_equal(host(st), host(g.get_state()))


def test_get_rng_state_round_trip():
    st = kt.get_rng_state()
    a = host(kt.rand(5))
    kt.set_rng_state(st)
    np.testing.assert_array_equal(host(kt.rand(5)), a)


def test_cuda_generator_state_without_touching_the_gpu():
    g = kt.Generator("cuda:0").manual_seed(11)
    assert g.device == kt.device("cuda", 0)
    st = g.get_state()
    h = kt.Generator("cuda:0").set_state(st)
    assert h.initial_seed() == 11
    assert bytes(host(h.get_state())) == bytes(host(st))
    with pytest.raises(RuntimeError, match="cuda generator"):
        kt.Generator("cpu").set_state(st)
    with pytest.raises(RuntimeError, match="cpu generator"):
        g.set_state(kt.Generator().get_state())


def test_set_state_errors():
    g = kt.Generator()
    st = bytes(host(g.get_state()))
    with pytest.raises(RuntimeError, match="bad header"):
        g.set_state(b"x" * len(st))
    with pytest.raises(RuntimeError, match="bytes"):
        g.set_state(st[:-1])
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(kt.zeros(len(st)))
    with pytest.raises(TypeError):
        g.set_state([1, 2, 3])


def test_fork_rng_restores_state():
    before = kt.get_rng_state()
    with R.fork_rng():
        kt.rand(100)
    assert bytes(host(kt.get_rng_state())) == bytes(host(before))
    with R.fork_rng(enabled=False):
        kt.rand(1)
    assert bytes(host(kt.get_rng_state())) != bytes(host(before))


@pytest.mark.parametrize("device", DEVICES)
def test_manual_seed_reaches_cuda_generators(device):
    kt.manual_seed(21)
    a = host(kt.randn(16, device=device))
    kt.rand(3, device=device)
    kt.manual_seed(21)
    np.testing.assert_array_equal(host(kt.randn(16, device=device)), a)


# ----------------------------------------------------------------------------- shapes, dtypes


@pytest.mark.parametrize("fn", [kt.rand, kt.randn])
def test_size_forms_and_default_dtype(fn):
    assert fn(2, 3).shape == (2, 3)
    assert fn((2, 3)).shape == (2, 3)
    assert fn([4]).shape == (4,)
    assert fn(size=(1, 2)).shape == (1, 2)
    assert fn(kt.Size([5, 1])).shape == (5, 1)
    assert fn(()).shape == ()
    assert fn(0, 3).shape == (0, 3)
    assert fn(3).dtype is kt.float32
    assert fn(3, dtype=kt.float64).dtype is kt.float64
    with pytest.raises(RuntimeError, match="negative"):
        fn(-1)
    with pytest.raises(RuntimeError, match="floating"):
        fn(3, dtype=kt.int64)


def test_set_default_dtype_respected(default_float64):
    assert kt.rand(3).dtype is kt.float64
    assert kt.randn(3).dtype is kt.float64
    assert kt.normal(0.0, 1.0, (3,)).dtype is kt.float64
    g = kt.Generator().manual_seed(1)
    ref = np.random.Generator(np.random.PCG64(1)).random(4)
    np.testing.assert_array_equal(host(kt.rand(4, generator=g)), ref)


@pytest.mark.parametrize("device", DEVICES)
def test_half_uniform_stays_below_one(device):
    x = host(kt.rand(200_000, dtype=kt.float16, device=device))
    assert x.dtype == np.float16 and x.min() >= 0 and x.max() < 1
    y = host(kt.empty(100_000, dtype=kt.float16, device=device).uniform_())
    assert y.max() < 1


def test_requires_grad_and_out():
    t = kt.rand(3, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert kt.randn(2, 2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating"):
        kt.randint(0, 5, (3,), requires_grad=True)
    out = kt.zeros(4)
    r = kt.rand(4, out=out)
    assert r is out and out._version[0] == 1 and host(out).min() > 0
    with pytest.raises(RuntimeError, match="shape"):
        kt.rand(5, out=out)


def test_top_level_names():
    for name in ("rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
                 "poisson", "rand_like", "randn_like", "randint_like", "manual_seed", "seed",
                 "initial_seed", "Generator", "get_rng_state", "set_rng_state",
                 "default_generator"):
        assert getattr(kt, name) is getattr(R, name)


# ----------------------------------------------------------------------------- integers


@pytest.mark.parametrize("device", DEVICES)
def test_randint_forms_and_range(device):
    a = kt.randint(10, (1000,), device=device)
    assert a.dtype is kt.int64 and a.shape == (1000,)
    assert set(np.unique(host(a))) == set(range(10))
    b = host(kt.randint(-3, 4, (2, 500), device=device))
    assert b.shape == (2, 500) and b.min() == -3 and b.max() == 3
    assert kt.randint(low=2, high=5, size=(3,)).shape == (3,)
    assert kt.randint(5, size=(2, 2)).shape == (2, 2)
    c = kt.randint(0, 256, (1000,), dtype=kt.uint8, device=device)
    assert c.dtype is kt.uint8
    assert kt.randint(0, 5, (3,), dtype=kt.float32).dtype is kt.float32
    big = host(kt.randint(-2 ** 63, 2 ** 63 - 1, (100,)))
    assert big.dtype == np.int64 and (big < 0).any() and (big > 0).any()


def test_randint_errors():
    with pytest.raises(RuntimeError, match="less than"):
        kt.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="out of bounds"):
        kt.randint(0, 300, (2,), dtype=kt.uint8)
    with pytest.raises(TypeError, match="size"):
        kt.randint(5)


@pytest.mark.parametrize("device", DEVICES)
def test_randperm_is_permutation(device):
    p = kt.randperm(1000, device=device)
    assert p.dtype is kt.int64
    np.testing.assert_array_equal(np.sort(host(p)), np.arange(1000))
    assert not np.array_equal(host(p), np.arange(1000))
    assert kt.randperm(0).shape == (0,)
    assert kt.randperm(5, dtype=kt.int32).dtype is kt.int32
    with pytest.raises(RuntimeError, match="non-negative"):
        kt.randperm(-1)
    with pytest.raises(RuntimeError, match="too large"):
        kt.randperm(300, dtype=kt.uint8)


def test_random_inplace_ranges():
    x = kt.zeros(4000, dtype=kt.int64)
    v = host(x.random_(5))
    assert v.min() == 0 and v.max() == 4
    v = host(x.random_(-2, 3))
    assert v.min() == -2 and v.max() == 2
    assert host(x.random_()).min() >= 0
    v = host(kt.zeros(2000, dtype=kt.uint8).random_(**{"from": 250}))
    assert v.min() == 250 and v.max() == 255
    v = host(kt.zeros(2000, dtype=kt.uint8).random_(**{"from": 3, "to": 6}))
    assert set(np.unique(v)) == {3, 4, 5}
    v = host(kt.zeros(1000, dtype=kt.bool).random_())
    assert v.any() and not v.all()
    f = host(kt.zeros(1000).random_())
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.round(f))
    with pytest.raises(RuntimeError, match="out of bounds"):
        kt.zeros(3, dtype=kt.uint8).random_(0, 1000)


# ----------------------------------------------------------------------------- distributions

N = 200_000


@pytest.mark.parametrize("device", DEVICES)
def test_rand_randn_moments(device):
    u = host(kt.rand(N, device=device)).astype(np.float64)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    z = host(kt.randn(N, device=device)).astype(np.float64)
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.02


@pytest.mark.parametrize("device", DEVICES)
def test_normal_forms(device):
    x = host(kt.normal(3.0, 2.0, (N,), device=device)).astype(np.float64)
    assert abs(x.mean() - 3) < 0.03 and abs(x.std() - 2) < 0.03
    mean = kt.tensor([[-5.0], [5.0]], device=device)
    std = kt.tensor([0.5, 1.0, 2.0], device=device)
    y = kt.normal(mean, std)
    assert y.shape == (2, 3) and y.dtype is kt.float32 and y.device == kt.device(device)
    big = host(kt.normal(kt.zeros(N, device=device) + 1.0, 0.5))
    assert abs(big.mean() - 1) < 0.01 and abs(big.std() - 0.5) < 0.01
    s = host(kt.normal(2.0, kt.full((N,), 3.0, dtype=kt.float64, device=device)))
    assert s.dtype == np.float64 and abs(s.std() - 3) < 0.05
    zero = host(kt.normal(kt.tensor([1.0, 2.0]), kt.tensor([0.0, 0.0])))
    np.testing.assert_array_equal(zero, [1.0, 2.0])


def test_normal_errors():
    with pytest.raises(RuntimeError, match="std"):
        kt.normal(0.0, -1.0, (3,))
    with pytest.raises(RuntimeError, match="std"):
        kt.normal(kt.zeros(3), kt.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(TypeError, match="size"):
        kt.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="floating"):
        kt.normal(kt.zeros(3, dtype=kt.int64), 1.0)
    with pytest.raises(RuntimeError, match="std"):
        kt.zeros(3).normal_(0, -1)


@pytest.mark.parametrize("device", DEVICES)
def test_inplace_distribution_moments(device):
    t = kt.empty(N, dtype=kt.float64, device=device)
    u = host(t.uniform_(-2, 4))
    assert u.min() >= -2 and u.max() < 4 and abs(u.mean() - 1) < 0.03
    u = host(t.uniform_(**{"from": 1, "to": 2}))
    assert u.min() >= 1 and u.max() < 2
    n = host(t.normal_(5, 0.5))
    assert abs(n.mean() - 5) < 0.01 and abs(n.std() - 0.5) < 0.01
    e = host(t.exponential_(4.0))
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.005
    gm = host(t.geometric_(0.25))
    assert gm.min() >= 1 and np.all(gm == np.round(gm)) and abs(gm.mean() - 4) < 0.05
    assert abs(gm.var() - 0.75 / 0.0625) < 0.5
    c = host(t.cauchy_(1.0, 2.0))
    assert abs(np.median(c) - 1.0) < 0.05
    q1, q3 = np.percentile(c, [25, 75])
    assert abs((q3 - q1) / 2 - 2.0) < 0.1
    ln = host(t.log_normal_(0.5, 0.25))
    assert ln.min() > 0 and abs(np.log(ln).mean() - 0.5) < 0.01
    b = host(t.bernoulli_(0.3))
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    assert host(kt.zeros(5, dtype=kt.int64, device=device).geometric_(1.0)).tolist() == [1] * 5


@pytest.mark.parametrize("device", DEVICES)
def test_bernoulli_with_tensor_p(device):
    p = kt.tensor([0.0, 1.0, 0.3, 0.9], device=device).expand(N // 4, 4)
    x = host(kt.bernoulli(p))
    assert x.dtype == np.float32 and x.shape == (N // 4, 4)
    assert (x[:, 0] == 0).all() and (x[:, 1] == 1).all()
    assert abs(x[:, 2].mean() - 0.3) < 0.01 and abs(x[:, 3].mean() - 0.9) < 0.01
    y = host(kt.bernoulli(kt.zeros(N, device=device), 0.2))
    assert abs(y.mean() - 0.2) < 0.01
    assert abs(host(kt.full((N,), 0.7, device=device).bernoulli()).mean() - 0.7) < 0.01
    z = kt.zeros(N // 4, 4, dtype=kt.int64, device=device)
    zz = host(z.bernoulli_(kt.tensor([0.0, 1.0, 0.5, 0.5], device=device)))
    assert (zz[:, 0] == 0).all() and (zz[:, 1] == 1).all() and abs(zz[:, 2].mean() - 0.5) < 0.02


def test_bernoulli_errors():
    with pytest.raises(RuntimeError, match="0 <= p <= 1"):
        kt.bernoulli(kt.tensor([0.5, 1.5]))
    with pytest.raises(RuntimeError):
        kt.bernoulli(kt.zeros(3), 2.0)
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        kt.zeros(3).bernoulli_(-0.1)
    with pytest.raises(RuntimeError, match="0 <= p <= 1"):
        kt.zeros(3).bernoulli_(kt.tensor([0.5, 2.0, 0.1]))
    with pytest.raises(TypeError):
        kt.bernoulli([0.5])


@pytest.mark.parametrize("device", DEVICES)
def test_poisson(device):
    lam = kt.tensor([0.0, 1.0, 4.0, 30.0], device=device).expand(N // 4, 4).contiguous()
    x = host(kt.poisson(lam))
    assert x.dtype == np.float32 and (x[:, 0] == 0).all() and np.all(x == np.round(x))
    np.testing.assert_allclose(x[:, 1:].mean(0), [1, 4, 30], rtol=0.02)
    np.testing.assert_allclose(x[:, 1:].var(0), [1, 4, 30], rtol=0.05)
    with pytest.raises(RuntimeError, match="non-negative"):
        kt.poisson(kt.tensor([-1.0]))


# ----------------------------------------------------------------------------- multinomial


@pytest.mark.parametrize("device", DEVICES)
def test_multinomial_without_replacement_no_repeats(device):
    probs = kt.rand(64, 10, device=device) + 0.01
    idx = host(kt.multinomial(probs, 10))
    assert idx.dtype == np.int64 and idx.shape == (64, 10)
    for row in idx:
        assert sorted(row.tolist()) == list(range(10))
    part = host(kt.multinomial(probs, 4))
    assert part.shape == (64, 4) and all(len(set(r)) == 4 for r in part.tolist())
    one_d = host(kt.multinomial(kt.tensor([1.0, 2.0, 3.0], device=device), 2))
    assert one_d.shape == (2,) and len(set(one_d.tolist())) == 2


@pytest.mark.parametrize("device", DEVICES)
def test_multinomial_frequencies(device):
    p = np.array([0.1, 0.0, 0.2, 0.7])
    w = kt.tensor(p * 5, device=device)  # unnormalised weights
    draws = host(kt.multinomial(w, N, replacement=True))
    assert draws.shape == (N,)
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / N, p, atol=0.005)
    # without replacement, the first pick of every row follows p; zero mass comes last
    rows = kt.tensor(np.tile(p, (20_000, 1)), dtype=kt.float32, device=device)
    first = host(kt.multinomial(rows, 4))
    np.testing.assert_allclose(np.bincount(first[:, 0], minlength=4) / 20_000, p, atol=0.015)
    assert (first[:, 3] == 1).all()
    # 2-D with replacement: each row has its own distribution
    two = kt.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], device=device)
    d2 = host(kt.multinomial(two, 5000, True))
    assert (d2[0] == 0).all() and (d2[1] == 2).all()
    assert set(np.unique(d2[2])) == {0, 1} and abs(d2[2].mean() - 0.5) < 0.03


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="element < 0"):
        kt.multinomial(kt.tensor([0.5, -0.1]), 1)
    with pytest.raises(RuntimeError, match="inf, nan"):
        kt.multinomial(kt.tensor([0.5, float("nan")]), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        kt.multinomial(kt.tensor([[0.5, 0.5], [0.0, 0.0]]), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        kt.multinomial(kt.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        kt.multinomial(kt.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="<= 0"):
        kt.multinomial(kt.ones(3), 0)
    with pytest.raises(RuntimeError, match="floating"):
        kt.multinomial(kt.ones(3, dtype=kt.int64), 1)
    assert kt.ones(4).multinomial(2).shape == (2,)


# ----------------------------------------------------------------------------- like / in-place rules


def test_like_functions():
    x = kt.zeros(2, 3, dtype=kt.float64)
    assert kt.rand_like(x).shape == (2, 3) and kt.rand_like(x).dtype is kt.float64
    assert kt.randn_like(x, dtype=kt.float32).dtype is kt.float32
    i = kt.zeros(4, dtype=kt.int32)
    r = kt.randint_like(i, 7)
    assert r.dtype is kt.int32 and host(r).max() < 7
    r = host(kt.randint_like(i, 5, 8))
    assert r.min() >= 5 and r.max() < 8
    with pytest.raises(RuntimeError, match="floating"):
        kt.rand_like(i)


def test_inplace_writes_storage_and_bumps_version():
    base = kt.zeros(4, 6)
    view = base.t()  # non-contiguous view of base
    v0 = base._version[0]
    out = view.uniform_(1, 2)
    assert out is view
    assert base._version[0] == v0 + 1
    b = host(base)
    assert b.min() >= 1 and b.max() < 2
    for name, args in [("normal_", ()), ("bernoulli_", ()), ("random_", (3,)),
                       ("exponential_", ()), ("geometric_", (0.5,)), ("cauchy_", ()),
                       ("log_normal_", ())]:
        before = base._version[0]
        assert getattr(view, name)(*args) is view
        assert base._version[0] == before + 1, name


def test_inplace_leaf_requires_grad_rule():
    w = kt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.uniform_()
    with kt.no_grad():
        w.normal_()
    assert w.requires_grad and w.is_leaf and host(w.detach()).any()


def test_inplace_on_view_of_graph_tensor_blocks_gradient_of_region():
    x = kt.ones(4, requires_grad=True)
    y = x * 2
    y[1:3].normal_()  # the overwritten region no longer depends on x
    y.sum().backward()
    np.testing.assert_array_equal(host(x.grad), [2, 0, 0, 2])
    w = kt.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w[1:3].uniform_()


def test_inplace_dtype_rules():
    i = kt.zeros(3, dtype=kt.int64)
    for name in ("uniform_", "normal_", "exponential_", "cauchy_", "log_normal_"):
        with pytest.raises(RuntimeError, match="floating"):
            getattr(i, name)()
    with pytest.raises(RuntimeError, match="from"):
        kt.zeros(3).uniform_(2, 1)
    with pytest.raises(RuntimeError, match="lambd"):
        kt.zeros(3).exponential_(0)
    with pytest.raises(RuntimeError, match="p"):
        kt.zeros(3).geometric_(0)


def test_generator_argument_checks():
    g = kt.Generator().manual_seed(0)
    x = kt.empty(5).uniform_(generator=g)
    g.manual_seed(0)
    np.testing.assert_array_equal(host(kt.empty(5).uniform_(generator=g)), host(x))
    with pytest.raises(RuntimeError, match="'cpu' device type for generator"):
        kt.rand(3, generator=kt.Generator("cuda"))
    with pytest.raises(TypeError, match="Generator"):
        kt.rand(3, generator=np.random.default_rng(0))


@pytest.mark.skipif(kt.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_device_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        kt.rand(3, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        kt.rand(3, generator=kt.Generator("cuda"), device="cuda")
