"""Autocasting: run chosen ops in a lower precision inside ``with autocast(...)``.

As in PyTorch, the state is per thread and per device type ('cpu', 'cuda'): whether
autocast is on and the lower-precision dtype (bfloat16 for cpu, float16 for cuda by
default). Ops take part through one hook, :func:`cast_inputs`, which an op calls on
its tensor arguments before computing::

    input, other = cast_inputs("matmul", input, other)

While no thread has autocast on, it costs one read of a module global; an op on a hot
path can skip even the call with ``if autocast_mode.ANY_ACTIVE: ...``. With autocast on,
the op's name picks a policy:

* ``LOWER_PRECISION_OPS`` (matmul, linear, conv ...): floating tensors are cast to the
  autocast dtype;
* ``FP32_OPS`` (softmax, losses, norms, exp, log, sum, mean ...): cast to float32;
* ``PROMOTE_OPS`` (cat, stack, addcmul ...): cast to the widest floating dtype present;
* anything else: unchanged.

float64 tensors, integer tensors, tensors on another device type and non-tensors pass
through untouched (PyTorch's eligibility rule). Casts are ``Tensor.to(dtype)``, so they
are differentiable: the gradient of a float32 leaf used by a bfloat16 matmul comes
back as float32. Casts of leaves that require grad (the weights) are cached for the
outermost autocast region, so a weight used by many ops is cast once.
"""
from __future__ import annotations

import functools
import threading
import warnings

from .. import _backend as B
from .._tensor import Tensor
from ..autograd import engine as _engine
from ..autograd.grad_mode import STATE as GRAD

__all__ = ["autocast", "cast_inputs", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_enabled", "set_autocast_dtype", "is_autocast_available",
           "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache",
           "LOWER_PRECISION_OPS", "FP32_OPS", "PROMOTE_OPS"]

DEVICE_TYPES = ("cpu", "cuda")

LOWER_PRECISION_OPS = frozenset({
    "matmul", "mm", "bmm", "mv", "addmm", "addmv", "addbmm", "baddbmm", "addr", "linear",
    "einsum", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "prelu", "scaled_dot_product_attention", "rnn_tanh_cell",
    "rnn_relu_cell", "lstm_cell", "gru_cell",
})

FP32_OPS = frozenset({
    # pointwise functions that lose too much in 16 bits
    "acos", "asin", "cosh", "sinh", "tan", "erfinv", "exp", "expm1", "log", "log10", "log2",
    "log1p", "reciprocal", "rsqrt", "pow", "softplus",
    # reductions
    "sum", "mean", "prod", "cumsum", "cumprod", "var", "std", "logsumexp", "norm",
    "frobenius_norm", "nuclear_norm", "renorm", "dist", "pdist", "cdist",
    "cosine_similarity",
    # softmax, normalisation, upsampling
    "softmax", "log_softmax", "layer_norm", "group_norm", "batch_norm", "instance_norm",
    "local_response_norm", "interpolate",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits", "poisson_nll_loss",
    "gaussian_nll_loss", "ctc_loss", "margin_ranking_loss", "hinge_embedding_loss",
    "cosine_embedding_loss", "soft_margin_loss", "multilabel_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "triplet_margin_loss",
})

PROMOTE_OPS = frozenset({
    "addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot", "grid_sample",
    "index_put", "index_copy", "scatter_add", "tensordot", "cat", "stack",
})

_LOWER, _FP32, _PROMOTE = 1, 2, 3
_POLICY = {**{n: _LOWER for n in LOWER_PRECISION_OPS}, **{n: _FP32 for n in FP32_OPS},
           **{n: _PROMOTE for n in PROMOTE_OPS}}


# Number of threads with autocast on for some device type. A plain global is ~5x cheaper
# to read than a thread-local attribute, so ops pay almost nothing while no thread uses
# autocast; when one does, the per-thread state decides.
ANY_ACTIVE = 0
_count_lock = threading.Lock()


class _State(threading.local):
    """Per-thread autocast state. ``active`` (any device type on) is the fast-path flag."""

    def __init__(self):
        self.active = False
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": B.bfloat16, "cuda": B.float16}
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}
        self.suspended = 0

    def refresh(self):
        global ANY_ACTIVE
        active = (self.enabled["cpu"] or self.enabled["cuda"]) and not self.suspended
        if active != self.active:
            with _count_lock:
                ANY_ACTIVE += 1 if active else -1
        self.active = active

    def suspend(self):
        """Autocast off in this thread until :meth:`resume` (the backward engine's bracket:
        backward ops run in the dtypes of their forward ops, as in PyTorch)."""
        self.suspended += 1
        self.refresh()

    def resume(self):
        self.suspended -= 1
        self.refresh()


STATE = _State()
# the engine runs this pair around every backward pass (autograd does not import amp)
_engine.register_backward_bracket(STATE.suspend, STATE.resume)


def _check_device_type(device_type) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'; "
                           f"ktrain supports {', '.join(DEVICE_TYPES)}")
    return device_type


# ----------------------------------------------------------------------------- state API


def is_autocast_available(device_type: str) -> bool:
    """True for the device types autocast knows ('cpu' and 'cuda')."""
    return device_type in DEVICE_TYPES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread.

    Without an argument it answers for 'cuda', as ``torch.is_autocast_enabled()`` does.
    """
    return STATE.enabled[_check_device_type("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    """Switch autocast for ``device_type`` in this thread (prefer the ``autocast`` context)."""
    STATE.enabled[_check_device_type(device_type)] = bool(enabled)
    STATE.refresh()


def get_autocast_dtype(device_type: str):
    """The lower-precision dtype autocast uses for ``device_type`` in this thread."""
    return STATE.dtype[_check_device_type(device_type)]


def set_autocast_dtype(device_type: str, dtype) -> None:
    STATE.dtype[_check_device_type(device_type)] = B.as_dtype(dtype)


def is_autocast_cache_enabled() -> bool:
    return STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    STATE.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Drop the cached lower-precision copies of weights (done on leaving autocast)."""
    STATE.cache.clear()


# ----------------------------------------------------------------------------- autocast

_SUPPORTED = {"cpu": (B.bfloat16, B.float16), "cuda": (B.float16, B.bfloat16)}
_cuda_bf16 = []  # memo: can cupy hold bfloat16 arrays?


def _check_bfloat16(device_type):
    if B.bfloat16.np is None:
        raise RuntimeError(
            "autocast with dtype=ktrain.bfloat16 needs the ml_dtypes package for bfloat16 "
            "arrays (pip install ml_dtypes); or pass dtype=ktrain.float16")
    if device_type == "cuda":
        if not _cuda_bf16:
            try:
                B.cupy_module().zeros(1, B.bfloat16.np)
                _cuda_bf16.append(True)
            except Exception:  # cupy has no bfloat16 arrays (cupy <= 13)
                _cuda_bf16.append(False)
        if not _cuda_bf16[0]:
            raise RuntimeError("Current CUDA Device does not support bfloat16 (cupy has no "
                               "bfloat16 arrays). Please switch dtype to float16.")


class autocast:  # noqa: N801 - PyTorch's name
    """Context manager and decorator that runs eligible ops in a lower precision.

    ``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: ``dtype``
    defaults to ``get_autocast_dtype(device_type)`` (bfloat16 for 'cpu', float16 for
    'cuda'). Regions nest; leaving one restores the previous state, and an
    ``autocast(..., enabled=False)`` region switches autocast off inside an enabled one.
    The state is per thread. As in PyTorch, an unsupported dtype warns and disables
    autocast, and 'cuda' without a usable GPU warns and disables it.

    Example::

        with ktrain.autocast("cpu", dtype=ktrain.bfloat16):
            loss = loss_fn(model(x), y)      # matmuls in bfloat16, the loss in float32
        loss.backward()                      # outside the region, as PyTorch recommends
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        self.device = _check_device_type(device_type)
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else B.as_dtype(dtype)
        self._cache_enabled = STATE.cache_enabled if cache_enabled is None else bool(cache_enabled)
        enabled = bool(enabled)
        if enabled:
            name = device_type.upper()
            if device_type == "cuda" and B.cupy_module() is None:
                warnings.warn("CUDA is not available (cupy missing or no GPU visible). "
                              "Disabling autocast.", stacklevel=2)
                enabled = False
            elif self.fast_dtype not in _SUPPORTED[device_type]:
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of ktrain.bfloat16, "
                    "ktrain.float16 currently.", stacklevel=2)
                enabled = False
            elif self.fast_dtype is B.bfloat16:
                _check_bfloat16(device_type)
        self._enabled = enabled

    def __enter__(self):
        s = STATE
        dev = self.device
        self._prev = (s.enabled[dev], s.dtype[dev], s.cache_enabled)
        s.enabled[dev] = self._enabled
        s.dtype[dev] = self.fast_dtype
        s.cache_enabled = self._cache_enabled
        s.nesting += 1
        s.refresh()
        return self

    def __exit__(self, *exc):
        s = STATE
        s.nesting -= 1
        if s.nesting == 0:
            s.cache.clear()
        s.enabled[self.device], s.dtype[self.device], s.cache_enabled = self._prev
        s.refresh()
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. Did you "
                "mean to use autocast as a context manager? For example:\n"
                "    with ktrain.autocast(device_type=...):\n        output = model(input)")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            # a fresh copy per call: the saved previous state must not be shared by
            # recursive or concurrent calls of the decorated function
            ctx = object.__new__(autocast)
            ctx.__dict__.update(self.__dict__)
            with ctx:
                return func(*args, **kwargs)

        return wrapper

    def __repr__(self):
        return (f"autocast(device_type={self.device!r}, dtype={self.fast_dtype!r}, "
                f"enabled={self._enabled})")


# ----------------------------------------------------------------------------- the op hook


def cast_inputs(op_name: str, *tensors):
    """Cast an op's arguments as autocast wants; returns them as a tuple.

    ``a, b = cast_inputs("matmul", a, b)``. While no thread uses autocast (the common
    case) this is one read of a module global, and ``tensors`` come back unchanged.
    """
    if not ANY_ACTIVE or not STATE.active:
        return tensors
    return _autocast_args(op_name, tensors)


def _autocast_args(op_name, args):
    policy = _POLICY.get(op_name)
    if policy is None:
        return args
    dev = None
    for a in args:
        if isinstance(a, Tensor):
            dev = "cuda" if B.is_cuda_array(a._data) else "cpu"
            break
    s = STATE
    if dev is None or not s.enabled[dev]:
        return args
    if policy == _LOWER:
        target = s.dtype[dev]
    elif policy == _FP32:
        target = B.float32
    else:  # the widest floating dtype among the arguments, starting from the autocast dtype
        target = s.dtype[dev]
        for a in args:
            if isinstance(a, Tensor) and _eligible(a, dev, True):
                target = B.promote_types(target, a.dtype)
    allow_double = policy == _PROMOTE
    return tuple(_cast(a, target, dev, allow_double) if isinstance(a, Tensor) else a
                 for a in args)


def _eligible(t, dev, allow_double=False) -> bool:
    k = t._data.dtype
    if k.kind != "f" and k != B.bfloat16.np:
        return False
    if k.kind == "f" and k.itemsize == 8 and not allow_double:
        return False
    return ("cuda" if B.is_cuda_array(t._data) else "cpu") == dev


def _cast(t, target, dev, allow_double=False):
    npd = target.np
    if t._data.dtype == npd or not _eligible(t, dev, allow_double):
        return t
    s = STATE
    # only inside a context (its exit clears the cache), only weights-like leaves
    cacheable = (s.cache_enabled and s.nesting and t._rg and t.grad_fn is None
                 and t._base is None and target.itemsize == 2)
    if not cacheable:
        return t.to(target)
    key = (id(t), target.name, GRAD.enabled)
    hit = s.cache.get(key)
    if hit is not None and hit[0] is t and hit[1] == t._version[0]:
        return hit[2]
    out = t.to(target)
    s.cache[key] = (t, t._version[0], out)  # holds t: its id cannot be reused meanwhile
    return out
