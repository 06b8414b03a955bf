"""The bit streams of every sampler: the same draws for ``manual_seed(0)`` as recorded
before the samplers moved into ``ktrain.ops.random`` / ``ktrain.ops.random_inplace``
(issue 13). A change here changes every seeded run, so it must be deliberate."""
import hashlib

import numpy as np
import pytest

import ktrain as kt


def _digest(t):
    a = np.ascontiguousarray(t.numpy())
    return hashlib.sha256(a.tobytes()).hexdigest()[:16]


def _cases():
    z32 = lambda: kt.zeros(7, dtype=kt.float32)
    z64 = lambda: kt.zeros(7, dtype=kt.float64)
    zi = lambda: kt.zeros(7, dtype=kt.int64)
    probs = kt.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.25, 0.25]])
    return {
        "rand": lambda: kt.rand(3, 5),
        "rand_f64": lambda: kt.rand(4, dtype=kt.float64),
        "rand_f16": lambda: kt.rand(6, dtype=kt.float16),
        "randn": lambda: kt.randn(2, 6),
        "randint": lambda: kt.randint(-5, 9, (9,)),
        "randint_u8": lambda: kt.randint(0, 200, (9,), dtype=kt.uint8),
        "randperm": lambda: kt.randperm(11),
        "normal_scalar": lambda: kt.normal(1.5, 2.0, (5,)),
        "normal_tensor": lambda: kt.normal(kt.arange(4.0), kt.ones(4) * 0.5),
        "bernoulli": lambda: kt.bernoulli(kt.full((8,), 0.3)),
        "bernoulli_p": lambda: kt.bernoulli(kt.zeros(8), 0.6),
        "poisson": lambda: kt.poisson(kt.arange(6.0)),
        "multinomial": lambda: kt.multinomial(probs, 3),
        "multinomial_repl": lambda: kt.multinomial(probs, 6, replacement=True),
        "rand_like": lambda: kt.rand_like(z32()),
        "randn_like": lambda: kt.randn_like(z64()),
        "randint_like": lambda: kt.randint_like(zi(), 3, 17),
        "uniform_": lambda: z32().uniform_(-2, 3),
        "normal_": lambda: z64().normal_(1.0, 0.5),
        "bernoulli_": lambda: z32().bernoulli_(0.4),
        "random_": lambda: zi().random_(0, 100),
        "random_full": lambda: kt.zeros(5, dtype=kt.int16).random_(),
        "exponential_": lambda: z32().exponential_(2.0),
        "geometric_": lambda: z32().geometric_(0.3),
        "cauchy_": lambda: z64().cauchy_(0.5, 2.0),
        "log_normal_": lambda: z32().log_normal_(0.0, 0.5),
        "tensor_bernoulli": lambda: kt.full((6,), 0.5).bernoulli(),
        "tensor_multinomial": lambda: probs.multinomial(2),
    }


RECORDED = {
    'rand': '52c2cf0ea80f41dd',
    'rand_f64': '9c1b9c59c3b27d50',
    'rand_f16': '7441daa00215a9bc',
    'randn': '2a5929178a39a456',
    'randint': 'ebb3153653324ed1',
    'randint_u8': '0e66a56a89fbbc65',
    'randperm': '446435afeaa7e9ac',
    'normal_scalar': '027d6248d0f53891',
    'normal_tensor': '8c00d076dcfe12c1',
    'bernoulli': '56c5459bc6830974',
    'bernoulli_p': '85b816d0fc1f836b',
    'poisson': 'fc99f507c38d323e',
    'multinomial': '403bc31d40a5161b',
    'multinomial_repl': '98b6b4b337f661f3',
    'rand_like': '89a626907a770230',
    'randn_like': '97d70e7b97aeb305',
    'randint_like': '6c7a61412625b6c7',
    'uniform_': '1cdee5df106edd66',
    'normal_': '5149199f524b48a8',
    'bernoulli_': 'd8275055295710cd',
    'random_': 'd774c70e83b7ba43',
    'random_full': 'd33a824ba0dc6705',
    'exponential_': 'ed2aff8fe144982a',
    'geometric_': 'ed6a01d63cb29037',
    'cauchy_': '8cf5b0666340a6a9',
    'log_normal_': 'f4c847429d5fb408',
    'tensor_bernoulli': 'd2d650e5e3d7ef61',
    'tensor_multinomial': 'a761684d79c3b0ac',
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_stream_unchanged(name):
    kt.manual_seed(0)
    assert _digest(_cases()[name]()) == RECORDED[name]


def test_every_case_recorded():
    assert sorted(_cases()) == sorted(RECORDED)


def test_first_values_of_rand():
    kt.manual_seed(0)
    a = kt.rand(3).numpy()
    kt.manual_seed(0)
    b = np.random.Generator(np.random.PCG64(0)).random(3, dtype=np.float32)
    np.testing.assert_array_equal(a, b)
