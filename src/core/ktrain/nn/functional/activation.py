"""Activation functions (``F.relu``, ``F.gelu``, ``F.softmax`` ...), PyTorch's names and numerics.

Each function checks its arguments and applies one op of ``ops.activation`` (a fused
pointwise op with a closed-form derivative, differentiable any number of times); the
``inplace=True`` forms write the result into the input. ``softmax``/``log_softmax`` are
the ops of ``ops.reduce``, ``sigmoid``/``tanh`` those of ``ops.math``.
"""
from __future__ import annotations

import warnings

from ..._tensor import Tensor
from ...ops import conv_fusion as _fusion
from ...ops import math as _m
from ...ops import reduce as _r
from ...ops.activation import (_SELU_ALPHA, _SELU_SCALE, _Elu, _Gelu, _Hardshrink, _Hardsigmoid,
                               _Hardswish, _Hardtanh, _LeakyRelu, _LogSigmoid, _Mish, _Prelu,
                               _Relu, _ReluOver, _Silu, _Softplus, _Softshrink, _Softsign,
                               _Tanhshrink, _Threshold)
from ...ops.arith import where

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "elu",
           "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "hardswish",
           "hardsigmoid", "hardtanh", "hardtanh_", "sigmoid", "tanh", "softplus", "softsign",
           "softmax", "log_softmax", "softmin", "logsigmoid", "threshold", "threshold_", "glu",
           "tanhshrink", "softshrink", "hardshrink"]


# ---------------------------------------------------------------------- helpers


def _float(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, got {type(input).__name__}")
    if input._data.dtype.kind not in "f":
        if input.is_floating_point():
            return input
        raise RuntimeError(f"{name}(): expected a floating point input, got {input.dtype.name} "
                           f"(shape {list(input.shape)})")
    return input


def _apply_inplace(input, fn, name):
    """Write ``fn(input)`` into ``input`` (PyTorch's ``inplace=True``)."""
    from ...ops._util import inplace as _inplace

    return _inplace(input, fn, name=name)


# ---------------------------------------------------------------------- public functions


def relu(input, inplace=False):
    """max(x, 0) elementwise; its gradient at 0 is 0, as in PyTorch."""
    if type(input) is _fusion.PendingConv:  # into the conv's epilogue (ops.conv_fusion)
        y = _fusion.fuse_relu(input, inplace)
        if y is not None:
            return y
    if inplace:  # saves its output, not a copy of its input (as PyTorch's relu_)
        from ...ops._util import inplace_over

        return inplace_over(input, _ReluOver, _Relu.apply, name="relu_")
    return _Relu.apply(input)


def relu_(input):
    """In-place ``relu``."""
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val); the gradient is 1 strictly inside the range."""
    if min_val > max_val:
        raise ValueError("hardtanh(): min_val cannot be greater than max_val")
    input = _float(input, "hardtanh")
    fn = lambda t: _Hardtanh.apply(t, float(min_val), float(max_val))  # noqa: E731
    return _apply_inplace(input, fn, "hardtanh_") if inplace else fn(input)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) (``hardtanh(x, 0, 6)``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    input = _float(input, "leaky_relu")
    fn = lambda t: _LeakyRelu.apply(t, float(negative_slope))  # noqa: E731
    return _apply_inplace(input, fn, "leaky_relu_") if inplace else fn(input)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    input = _float(input, "threshold")
    fn = lambda t: _Threshold.apply(t, float(threshold), float(value))  # noqa: E731
    return _apply_inplace(input, fn, "threshold_") if inplace else fn(input)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


def prelu(input, weight):
    """x where x > 0, else weight * x; ``weight`` has 1 or C (= input.shape[1]) elements."""
    input = _float(input, "prelu")
    n = weight.numel()
    if n != 1:
        c = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim == 1 else 1)
        if input.ndim == 0 or c != n:
            raise RuntimeError(f"prelu: mismatch in parameter count: weight has {n} elements "
                               f"but the input of shape {list(input.shape)} has {c} channels "
                               "(dimension 1)")
    return _Prelu.apply(input, weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: slope ~ U(lower, upper) per element in training, else the
    mean slope (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ...random import rand_like

    slope = rand_like(input.detach()) * (upper - lower) + lower
    fn = lambda t: where(t > 0, t, t * slope)  # noqa: E731
    return _apply_inplace(input, fn, "rrelu_") if inplace else fn(input)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    input = _float(input, "elu")
    fn = lambda t: _Elu.apply(t, float(alpha), 1.0, 1.0)  # noqa: E731
    return _apply_inplace(input, fn, "elu_") if inplace else fn(input)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    input = _float(input, "selu")
    fn = lambda t: _Elu.apply(t, _SELU_ALPHA, _SELU_SCALE, 1.0)  # noqa: E731
    return _apply_inplace(input, fn, "selu_") if inplace else fn(input)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu(): alpha must not be 0")
    input = _float(input, "celu")
    fn = lambda t: _Elu.apply(t, float(alpha), 1.0, 1.0 / alpha)  # noqa: E731
    return _apply_inplace(input, fn, "celu_") if inplace else fn(input)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def gelu(input, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF (exact, through erf), or with
    ``approximate='tanh'``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu(): approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return _Gelu.apply(_float(input, "gelu"), approximate)


def silu(input, inplace=False):
    """x * sigmoid(x) (swish)."""
    input = _float(input, "silu")
    return _apply_inplace(input, _Silu.apply, "silu_") if inplace else _Silu.apply(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    input = _float(input, "mish")
    return _apply_inplace(input, _Mish.apply, "mish_") if inplace else _Mish.apply(input)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    input = _float(input, "hardswish")
    return _apply_inplace(input, _Hardswish.apply, "hardswish_") if inplace else \
        _Hardswish.apply(input)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    input = _float(input, "hardsigmoid")
    return _apply_inplace(input, _Hardsigmoid.apply, "hardsigmoid_") if inplace else \
        _Hardsigmoid.apply(input)


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    return _m.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent."""
    return _m.tanh(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold."""
    return _Softplus.apply(_float(input, "softplus"), float(beta), float(threshold))


def softsign(input):
    """x / (1 + |x|)."""
    return _Softsign.apply(_float(input, "softsign"))


def logsigmoid(input):
    """log(sigmoid(x)), computed stably."""
    return _LogSigmoid.apply(_float(input, "logsigmoid"))


def tanhshrink(input):
    """x - tanh(x)."""
    return _Tanhshrink.apply(_float(input, "tanhshrink"))


def softshrink(input, lambd=0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"softshrink(): lambda must be greater or equal to 0, but found to "
                           f"be {lambd}.")
    return _Softshrink.apply(_float(input, "softshrink"), float(lambd))


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return _Hardshrink.apply(_float(input, "hardshrink"), float(lambd))


def glu(input, dim=-1):
    """a * sigmoid(b) where a, b are the two halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size "
                           f"{n} (input shape {list(input.shape)})")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def _softmax_dim(name, ndim, stacklevel=3):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x), dim), stable; ``dtype`` casts the input first."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _r.softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x, dim)."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _r.softmax(-input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x, dim), stable; ``dtype`` casts the input first."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _r.log_softmax(input, dim, dtype=dtype)

