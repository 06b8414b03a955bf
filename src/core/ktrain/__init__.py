"""ktrain: a PyTorch-style deep-learning framework on numpy (CPU) and cupy (GPU).

``import ktrain as kt`` gives the familiar surface: ``kt.tensor``, ``kt.zeros``,
``kt.no_grad``, ``kt.autograd.grad``, ``kt.save``/``kt.load`` ...
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import _backend
from ._backend import (bfloat16, bool, device, double, dtype, float, float16, float32,  # noqa: A004
                       float64, get_default_dtype, half, int, int8, int16, int32, int64, long,
                       promote_types, set_default_dtype, short, uint8)
from ._tensor import Size, Tensor

from . import autograd, cuda, ops  # noqa: E402
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,  # noqa: E402
                                 is_inference_mode_enabled, no_grad, set_grad_enabled)
from .creation import *  # noqa: E402,F401,F403
from .ops import *  # noqa: E402,F401,F403

from .ops.shape import clone, contiguous  # noqa: E402,F401
from . import random  # noqa: E402,F401  (attaches Tensor.uniform_/normal_/bernoulli_/random_)
from .random import (Generator, bernoulli, default_generator, get_rng_state,  # noqa: E402,F401
                     initial_seed, manual_seed, multinomial, normal, poisson, rand, rand_like,
                     randint, randint_like, randn, randn_like, randperm, seed, set_rng_state)
from .serialization import load, save  # noqa: E402,F401
from ._threads import get_num_threads, set_num_threads  # noqa: E402,F401
from . import fft  # noqa: E402,F401  (complex results as a trailing (real, imag) dim)
from .ops.spectral import (bartlett_window, blackman_window, hamming_window,  # noqa: E402,F401
                           hann_window, istft, stft)


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op on the two operands would produce."""
    from .ops._util import binary_operands, _Upcast

    try:
        a, b = binary_operands(tensor1, tensor2, "result_type")
    except _Upcast as up:
        return up.dtype
    return (a if isinstance(a, Tensor) else b).dtype


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def can_cast(from_, to) -> bool:
    import numpy as _np

    return _np.can_cast(from_.np, to.np, "same_kind")


def __getattr__(name):
    # heavier or optional submodules load on first use
    import importlib

    if name in ("random", "serialization", "fft", "nn", "optim", "utils", "amp", "testing",
                "metrics"):
        return importlib.import_module(f".{name}", __name__)
    lazy = {"save": "serialization", "load": "serialization", "manual_seed": "random",
            "seed": "random", "initial_seed": "random", "Generator": "random",
            "get_rng_state": "random", "set_rng_state": "random", "rand": "random",
            "randn": "random", "randint": "random", "randperm": "random", "normal": "random",
            "bernoulli": "random", "multinomial": "random", "rand_like": "random",
            "randn_like": "random", "randint_like": "random", "default_generator": "random",
            "poisson": "random", "autocast": "amp", "is_autocast_enabled": "amp",
            "get_autocast_dtype": "amp", "set_autocast_enabled": "amp",
            "set_autocast_dtype": "amp", "is_autocast_available": "amp",
            "clear_autocast_cache": "amp"}
    if name in lazy:
        mod = importlib.import_module(f".{lazy[name]}", __name__)
        return getattr(mod, name)
    raise AttributeError(f"module 'ktrain' has no attribute {name!r}")
