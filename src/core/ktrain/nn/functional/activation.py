"""Activation functions (``F.relu``, ``F.gelu``, ``F.softmax`` ...), PyTorch's names and numerics.

Each pointwise activation is one ``_Pointwise`` op: forward is a few fused array passes,
and backward multiplies the incoming gradient by the closed-form derivative in one fused
array expression. When a graph of the backward itself is wanted (``create_graph=True``,
so grad mode is on inside backward) the same derivative is built from ktrain ops instead,
which makes every activation differentiable any number of times. On the CPU, large
inputs are evaluated block by block (``blocked``) so that the temporaries of a formula
stay in cache; formulas favour exp over tanh/log1p and max/min over where, which numpy
evaluates several times faster.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...autograd.function import Op
from ...autograd.grad_mode import STATE
from ...ops import math as _m
from ...ops import reduce as _r
from ...ops._util import unbroadcast
from ...ops.arith import where

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "elu",
           "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "hardswish",
           "hardsigmoid", "hardtanh", "hardtanh_", "sigmoid", "tanh", "softplus", "softsign",
           "softmax", "log_softmax", "softmin", "logsigmoid", "threshold", "threshold_", "glu",
           "tanhshrink", "softshrink", "hardshrink"]

_SQRT1_2 = math.sqrt(0.5)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# ---------------------------------------------------------------------- the pointwise op

# Elements per block when a long chain of array operations runs block by block on the
# CPU: the temporaries of one block (128 KiB each in float32) stay in the core's cache
# instead of streaming every intermediate through memory (2-3x faster for GELU/SiLU).
_BLOCK = 1 << 15


def blocked(fn, *arrays):
    """``fn(*arrays)`` for same-shaped arrays (None allowed), evaluated block by block on
    large CPU arrays; ``fn`` must be elementwise."""
    a0 = arrays[0]
    n = a0.size
    if type(a0) is not np.ndarray or n < 4 * _BLOCK:
        return fn(*arrays)
    flats = [None if a is None else np.ascontiguousarray(a).reshape(-1) for a in arrays]
    first = fn(*(None if f is None else f[:_BLOCK] for f in flats))
    out = np.empty(n, first.dtype)
    out[:_BLOCK] = first
    for i in range(_BLOCK, n, _BLOCK):
        j = i + _BLOCK
        out[i:j] = fn(*(None if f is None else f[i:j] for f in flats))
    return out.reshape(a0.shape)


class _Pointwise(Op):
    """``y = f(x, *params)`` elementwise, with a fused derivative.

    Subclasses define ``f(xp, x, *p)``, ``df(xp, g, x, y, *p)`` (the array ``g * f'(x)``)
    and ``dgraph(g, x, y, *p)`` (the same with ktrain ops, used under create_graph).
    ``save_input`` / ``save_output`` say which of x, y the derivative needs.
    """

    save_input = True
    block = True  # run block by block on large CPU arrays (not worth it for 1-2 passes)

    @classmethod
    def compute(cls, a, *p):
        xp = array_module(a)
        if not cls.block:
            return cls.f(xp, a, *p)
        return blocked(lambda x: cls.f(xp, x, *p), a)

    @classmethod
    def forward(cls, ctx, a, *p):
        if cls.save_input:
            ctx.save_for_backward(ctx.inputs[0])
        ctx.p = p
        return cls.compute(a, *p)

    @classmethod
    def backward(cls, ctx, g):
        x = ctx.saved_tensors[0] if cls.save_input else None
        y = ctx.saved_output if cls.save_output else None
        p = ctx.p
        if STATE.enabled:  # create_graph: a differentiable derivative
            gx = cls.dgraph(g, x, y, *p)
        else:
            gd = g._data
            xp = array_module(gd)
            xd = None if x is None else x._data
            yd = None if y is None else y._data
            if cls.block:
                gx = blocked(lambda g_, x_, y_: cls.df(xp, g_, x_, y_, *p), gd, xd, yd)
            else:
                gx = cls.df(xp, gd, xd, yd, *p)
            gx = Tensor._make(gx)
        return (gx,) + (None,) * len(p)


def _mask(t, cond):
    """A constant 0/1 tensor of ``t``'s dtype."""
    return Tensor._make(cond.astype(t._data.dtype))


class _Relu(_Pointwise):
    save_input = False
    save_output = True
    block = False
    f = staticmethod(lambda xp, x: xp.maximum(x, 0))
    df = staticmethod(lambda xp, g, x, y: g * (y > 0))
    dgraph = staticmethod(lambda g, x, y: g * _mask(g, y._data > 0))


class _ReluOver(_Relu):
    """relu written over its input array (``relu_``, see ``ops._util.inplace_over``);
    backward from the output, as :class:`_Relu`."""
    f = staticmethod(lambda xp, x: xp.maximum(x, 0, out=x))

    def name(self):
        return "ReluBackward0"


class _Hardtanh(_Pointwise):
    block = False
    f = staticmethod(lambda xp, x, lo, hi: xp.clip(x, lo, hi))
    df = staticmethod(lambda xp, g, x, y, lo, hi: g * ((x > lo) & (x < hi)))
    dgraph = staticmethod(lambda g, x, y, lo, hi: g * _mask(g, (x._data > lo) & (x._data < hi)))


class _LeakyRelu(_Pointwise):
    # max/min instead of where: numpy's where is several times slower than arithmetic
    @staticmethod
    def f(xp, x, s):
        if 0.0 <= s <= 1.0:
            return xp.maximum(x, x * s)
        return xp.where(x > 0, x, x * s)

    @staticmethod
    def df(xp, g, x, y, s):
        d = xp.multiply(x > 0, 1.0 - s, dtype=g.dtype)  # bool * float would give float64
        d += s
        d *= g
        return d

    dgraph = staticmethod(lambda g, x, y, s: where(x > 0, g, g * s))


class _Threshold(_Pointwise):
    f = staticmethod(lambda xp, x, th, v: xp.where(x > th, x, xp.asarray(v, x.dtype)))
    df = staticmethod(lambda xp, g, x, y, th, v: g * (x > th))
    dgraph = staticmethod(lambda g, x, y, th, v: g * _mask(g, x._data > th))


def _elu_f(xp, x, alpha, scale, inscale):
    # max(x, 0) + alpha * expm1(min(x, 0)): each term is exactly 0 on the other side
    neg = xp.expm1(xp.minimum(x, 0) * inscale)
    neg *= alpha * scale
    pos = xp.maximum(x, 0)
    if scale != 1.0:
        pos *= scale
    neg += pos
    return neg


class _Elu(_Pointwise):
    """scale * (x if x > 0 else alpha * (exp(x * inscale) - 1)): ELU, SELU and CELU."""

    f = staticmethod(_elu_f)

    @staticmethod
    def df(xp, g, x, y, alpha, scale, inscale):
        pos = x > 0
        d = xp.exp(xp.minimum(x, 0) * inscale)
        d *= alpha * scale * inscale
        d *= ~pos
        d += xp.multiply(pos, scale, dtype=d.dtype)
        d *= g
        return d

    @staticmethod
    def dgraph(g, x, y, alpha, scale, inscale):
        neg = (x.clamp(max=0.0) * inscale).exp() * (alpha * scale * inscale)
        return g * where(x > 0, scale, neg)


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)); exp overflowing to inf for x < -88 gives the right limit 0.
    (numpy's exp is about twice as fast as its tanh.)"""
    with np.errstate(over="ignore"):
        e = xp.exp(-x)
    e += 1.0
    return xp.reciprocal(e, out=e)


def _erf(xp, x):
    """erf (float32 CPU arrays use the fast rational approximation in ops.math)."""
    return _m._erf(x)


class _Gelu(_Pointwise):
    """x * Phi(x) (``'none'``) or its tanh approximation (``'tanh'``)."""

    @staticmethod
    def f(xp, x, approx):
        if approx == "tanh":  # 0.5 x (1 + tanh z) = x * sigmoid(2 z)
            s = _sigmoid(xp, (x * x * 0.044715 + 1.0) * x * (2 * _SQRT_2_PI))
            s *= x
            return s
        c = _erf(xp, x * _SQRT1_2)
        c += 1.0
        c *= x
        c *= 0.5
        return c

    @staticmethod
    def df(xp, g, x, y, approx):
        x2 = x * x
        if approx == "tanh":  # s = sigmoid(2 z): 0.5 (1 + tanh z) = s, 1 - tanh^2 = 4 s (1 - s)
            s = _sigmoid(xp, (x2 * 0.044715 + 1.0) * x * (2 * _SQRT_2_PI))
            d = 1.0 - s
            d *= s
            d *= x2 * (3 * 0.044715) + 1.0
            d *= x * (2 * _SQRT_2_PI)
            d += s
        else:
            d = _erf(xp, x * _SQRT1_2)
            d += 1.0
            d *= 0.5
            e = xp.exp(x2 * -0.5)
            e *= x
            e *= _INV_SQRT_2PI
            d += e
        d *= g
        return d

    @classmethod
    def forward(cls, ctx, a, approx):
        if approx == "tanh" or type(a) is not np.ndarray:
            return super().forward(ctx, a, approx)
        # exact GELU on the CPU: keep Phi(x) so that backward needs one exp, not a new erf
        ctx.save_for_backward(ctx.inputs[0])
        ctx.p = (approx,)
        cdf = blocked(_phi, a)
        ctx.cdf = cdf
        return cdf * a

    @classmethod
    def backward(cls, ctx, g):
        cdf = getattr(ctx, "cdf", None)
        if cdf is None or STATE.enabled:
            return super().backward(ctx, g)
        (x,) = ctx.saved_tensors
        return Tensor._make(blocked(_gelu_grad, g._data, x._data, cdf)), None

    @staticmethod
    def dgraph(g, x, y, approx):
        if approx == "tanh":
            t = ((x * x * 0.044715 + 1.0) * x * _SQRT_2_PI).tanh()
            d = 0.5 * (1.0 + t) + (0.5 * _SQRT_2_PI) * x * (1.0 - t * t) * (
                1.0 + 3 * 0.044715 * x * x)
        else:
            d = 0.5 * (1.0 + (x * _SQRT1_2).erf()) + x * (x * x * -0.5).exp() * _INV_SQRT_2PI
        return g * d


def _phi(x):
    """The standard normal CDF 0.5 (1 + erf(x / sqrt 2)) (numpy)."""
    c = _erf(np, x * _SQRT1_2)
    c += 1.0
    c *= 0.5
    return c


def _gelu_grad(g, x, cdf):
    """g * (Phi(x) + x phi(x))."""
    e = np.exp(x * x * -0.5)
    e *= x
    e *= _INV_SQRT_2PI
    e += cdf
    e *= g
    return e


class _Silu(_Pointwise):
    @staticmethod
    def f(xp, x):
        s = _sigmoid(xp, x)
        s *= x
        return s

    @staticmethod
    def df(xp, g, x, y):
        s = _sigmoid(xp, x)
        d = 1.0 - s
        d *= x
        d += 1.0
        d *= s
        d *= g
        return d

    @staticmethod
    def dgraph(g, x, y):
        s = x.sigmoid()
        return g * s * (1.0 + x * (1.0 - s))


def _log1p(xp, e):
    """log(1 + e) to ~3 ulp at the speed of log: ``log(u) - ((u - 1) - e) / u`` with
    ``u = 1 + e`` corrects the rounding of ``u`` (numpy's float32 log1p is scalar code)."""
    if xp is not np:
        return xp.log1p(e)
    u = e + 1.0
    r = xp.log(u)
    d = u - 1.0
    d -= e
    d /= u
    r -= d
    return r


def _softplus_arr(xp, x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    r = _log1p(xp, xp.exp(-xp.abs(x)))
    r += xp.maximum(x, 0)
    return r


def _mish_parts(xp, x):
    """(tanh(softplus(x)), 1 - tanh(softplus(x)), exp(x)) from a single exp: with
    n = exp(x), tanh(log(1 + n)) = w / (w + 2), w = n (n + 2). Beyond x = 20 the ratio is
    1 to working precision, so x is capped there (no overflow)."""
    n = xp.exp(xp.minimum(x, 20.0))
    w = n + 2.0
    w *= n
    den = w + 2.0
    t = w / den
    omt = xp.reciprocal(den, out=den)
    omt *= 2.0
    return t, omt, n


class _Mish(_Pointwise):
    @staticmethod
    def f(xp, x):
        t, _, _ = _mish_parts(xp, x)
        t *= x
        return t

    @staticmethod
    def df(xp, g, x, y):
        # t + x (1 - t^2) sigmoid(x), with 1 - t^2 = (1 - t)(1 + t), sigmoid = n / (1 + n)
        t, d, n = _mish_parts(xp, x)
        d *= t + 1.0
        d *= x
        d *= n
        n += 1.0
        d /= n
        d += t
        d *= g
        return d

    @staticmethod
    def dgraph(g, x, y):
        t = softplus(x).tanh()
        return g * (t + x * (1.0 - t * t) * x.sigmoid())


class _Softplus(_Pointwise):
    """log1p(exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch)."""

    @staticmethod
    def f(xp, x, beta, th):
        bx = x * beta if beta != 1.0 else x
        r = _softplus_arr(xp, bx)
        if beta != 1.0:
            r /= beta
        return xp.where(bx > th, x, r)

    @staticmethod
    def df(xp, g, x, y, beta, th):
        bx = x * beta if beta != 1.0 else x
        d = xp.maximum(_sigmoid(xp, bx), bx > th)  # sigmoid < 1: picks 1 above threshold
        d *= g
        return d

    @staticmethod
    def dgraph(g, x, y, beta, th):
        bx = x * beta
        return where(bx > th, g, g * bx.sigmoid())


class _LogSigmoid(_Pointwise):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))."""

    @staticmethod
    def f(xp, x):
        return xp.minimum(x, 0) - _log1p(xp, xp.exp(-xp.abs(x)))

    @staticmethod
    def df(xp, g, x, y):
        return g * _sigmoid(xp, -x)

    @staticmethod
    def dgraph(g, x, y):
        return g * (-x).sigmoid()


class _Hardsigmoid(_Pointwise):
    f = staticmethod(lambda xp, x: xp.clip(x * (1.0 / 6) + 0.5, 0.0, 1.0))
    df = staticmethod(lambda xp, g, x, y: g * ((x > -3.0) & (x < 3.0)) * (1.0 / 6))
    dgraph = staticmethod(
        lambda g, x, y: g * _mask(g, (x._data > -3.0) & (x._data < 3.0)) * (1.0 / 6))


class _Hardswish(_Pointwise):
    @staticmethod
    def f(xp, x):
        r = xp.clip(x + 3.0, 0.0, 6.0)
        r *= x
        r *= 1.0 / 6
        return r

    @staticmethod
    def df(xp, g, x, y):
        d = xp.where(x < -3.0, 0.0, xp.where(x <= 3.0, x * (1.0 / 3) + 0.5, 1.0))
        return g * d.astype(g.dtype, copy=False)

    @staticmethod
    def dgraph(g, x, y):
        mid = _mask(g, (x._data >= -3.0) & (x._data <= 3.0))
        hi = _mask(g, x._data > 3.0)
        return g * (mid * (x * (1.0 / 3) + 0.5) + hi)


class _Softsign(_Pointwise):
    @staticmethod
    def f(xp, x):
        return x / (xp.abs(x) + 1.0)

    @staticmethod
    def df(xp, g, x, y):
        d = xp.abs(x) + 1.0
        d *= d
        return g / d

    @staticmethod
    def dgraph(g, x, y):
        d = x.abs() + 1.0
        return g / (d * d)


class _Tanhshrink(_Pointwise):
    f = staticmethod(lambda xp, x: x - xp.tanh(x))

    @staticmethod
    def df(xp, g, x, y):
        t = xp.tanh(x)
        return g * (t * t)

    @staticmethod
    def dgraph(g, x, y):
        t = x.tanh()
        return g * t * t


class _Softshrink(_Pointwise):
    @staticmethod
    def f(xp, x, lam):
        return xp.where(x > lam, x - lam, xp.where(x < -lam, x + lam, 0.0)).astype(x.dtype,
                                                                                  copy=False)

    df = staticmethod(lambda xp, g, x, y, lam: g * ((x > lam) | (x < -lam)))
    dgraph = staticmethod(
        lambda g, x, y, lam: g * _mask(g, (x._data > lam) | (x._data < -lam)))


class _Hardshrink(_Pointwise):
    f = staticmethod(lambda xp, x, lam: x * ((x > lam) | (x < -lam)))
    df = _Softshrink.df
    dgraph = _Softshrink.dgraph


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


class _Prelu(Op):
    """x where x > 0, else w * x with ``w`` broadcast along the channel dimension (1)."""

    @staticmethod
    def forward(ctx, a, w):
        ctx.save_for_backward(*ctx.inputs)
        wb = w.reshape(_prelu_shape(a.ndim, w.size))
        return array_module(a).where(a > 0, a, a * wb)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        pos = Tensor._make(x._data > 0)
        wb = w.reshape(_prelu_shape(x.ndim, w.numel()))
        gx = where(pos, g, g * wb) if ctx._edges[0] is not None else None
        gw = None
        if ctx._edges[1] is not None:
            gw = unbroadcast(where(pos, 0.0, g * x), wb.shape).reshape(w.shape)
        return gx, gw


def _prelu_shape(ndim, n):
    if ndim >= 2 and n > 1:
        return (1, n) + (1,) * (ndim - 2)
    return (1,) * max(ndim, 1) if n == 1 else (n,)


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

