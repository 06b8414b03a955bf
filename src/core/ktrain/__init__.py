"""ktrain: a PyTorch-style deep-learning framework on numpy (CPU) and cupy (GPU).

``import ktrain as kt`` gives the familiar surface: ``kt.tensor``, ``kt.zeros``,
``kt.no_grad``, ``kt.autograd.grad``, ``kt.save``/``kt.load``, ``kt.set_printoptions`` ...
The Tensor, creation, ops, random, serialization and fft load here; ``nn``, ``optim``,
``utils``, ``amp``, ``metrics``, ``backends`` and the ``torch.*`` aliases of functional ops
(``kt.conv2d``, ``kt.dropout``, ``kt.cdist`` ...) load on first use (``_LAZY``).
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import _backend
from ._backend import (bfloat16, bool, device, double, dtype, float, float16, float32,  # noqa: A004
                       float64, get_default_dtype, half, int, int8, int16, int32, int64, long,
                       promote_types, set_default_dtype, short, uint8)
from ._tensor import Size, Tensor, set_printoptions  # noqa: F401

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
from . import _moved  # noqa: E402,F401  (ktrain.train.run ... -> ktrain.app.*, old paths kept)
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


# submodules that load on first attribute access (``ktrain.nn`` without ``import ktrain.nn``)
_LAZY_MODULES = ("nn", "optim", "utils", "amp", "metrics", "backends", "profiler", "jit",
                 "onnx")

# name -> module (relative to ktrain) holding it; loaded on first use so that ``import
# ktrain`` stays as fast as before. The functional ops are the ``torch.*`` aliases PyTorch
# has of ``torch.nn.functional`` (same signatures); where its top-level signature differs
# (ATen order), ``_nn_aliases`` adapts it.
_LAZY = {
    **dict.fromkeys(
        ("autocast", "is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
         "set_autocast_dtype", "is_autocast_available", "clear_autocast_cache"), "amp"),
    **dict.fromkeys(
        ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "avg_pool1d",
         "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "adaptive_avg_pool1d",
         "layer_norm", "group_norm", "rms_norm", "pixel_shuffle", "pixel_unshuffle",
         "cosine_similarity", "pairwise_distance", "pdist", "bilinear", "prelu", "selu",
         "selu_", "celu", "celu_", "rrelu", "threshold", "threshold_", "hardshrink",
         "relu_"), "nn.functional"),
    **dict.fromkeys(_nn_aliases_all := (
        "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
        "feature_alpha_dropout_", "embedding", "batch_norm", "instance_norm",
        "adaptive_max_pool1d", "cdist"), "_nn_aliases"),
}
del _nn_aliases_all


def __getattr__(name):
    # an unknown name raises AttributeError only, so hasattr(ktrain, x) never raises
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    mod = _LAZY.get(name)
    if mod is not None:
        value = getattr(importlib.import_module(f".{mod}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'ktrain' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY))
