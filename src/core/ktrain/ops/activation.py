"""Activation ops: the pointwise activations behind ``F.relu``, ``F.gelu``, ``F.elu`` ...
and ``F.prelu`` (the wrappers, with PyTorch's names and argument checks, are in
``nn.functional.activation``).

Each pointwise activation is one ``_Pointwise`` op: forward is a few fused array passes,
and backward multiplies the incoming gradient by the closed-form derivative in one fused
array expression. When a graph of the backward itself is wanted (``create_graph=True``,
so grad mode is on inside backward) the same derivative is built from ktrain ops instead,
which makes every activation differentiable any number of times. The activations are
rows of one table (``_POINTWISE``: value, derivative on arrays, derivative with ktrain
ops) that generates the named op classes, as ``ops.math`` does for the unary math
family; GELU (which keeps Phi(x) for its backward) and PReLU (a weight) are classes.
On the CPU, large inputs are evaluated block by block (``blocked``) so that the
temporaries of a formula stay in cache; formulas favour exp over tanh/log1p and max/min
over where, which numpy evaluates several times faster.
"""
from __future__ import annotations

import math

import numpy as np

from .._backend import array_module
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from . import math as _m
from ._act_kernels import relu_df as _relu_df
from ._act_kernels import relu_f as _relu_f
from ._util import unbroadcast
from .arith import where

__all__: list = []  # op classes only; the public functions live in nn.functional.activation

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


def pointwise_op(name, doc, f, df, dgraph, saves="x", block=True, module=__name__):
    """The ``_Pointwise`` op class ``name`` of one table row (a real, named class of
    ``module``, so ``grad_fn`` reads ``<name>Backward0``): value ``f``, array derivative
    ``df``, graph derivative ``dgraph``; ``saves`` is ``"x"`` (the input) or ``"y"`` (the
    output); ``block`` as ``_Pointwise.block``."""
    return type(name, (_Pointwise,), {
        "__module__": module, "__qualname__": name, "__doc__": doc,
        "save_input": saves == "x", "save_output": saves == "y", "block": block,
        "f": staticmethod(f), "df": staticmethod(df), "dgraph": staticmethod(dgraph)})


def _mask(t, cond):
    """A constant 0/1 tensor of ``t``'s dtype."""
    return Tensor._make(cond.astype(t._data.dtype))


# ---------------------------------------------------------------------- array kernels


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


# ---------------------------------------------------------------------- formulas
# The value f(xp, x, *p), the array derivative df(xp, g, x, y, *p) = g * f'(x) and the
# graph derivative dgraph(g, x, y, *p) of the rows of the table below that need more
# than one expression.


def _leaky_relu_f(xp, x, s):
    # max/min instead of where: numpy's where is several times slower than arithmetic
    if 0.0 <= s <= 1.0:
        return xp.maximum(x, x * s)
    return xp.where(x > 0, x, x * s)


def _leaky_relu_df(xp, g, x, y, s):
    d = xp.multiply(x > 0, 1.0 - s, dtype=g.dtype)  # bool * float would give float64
    d += s
    d *= g
    return d


def _elu_f(xp, x, alpha, scale, inscale):
    # max(x, 0) + alpha * expm1(min(x, 0)): each term is exactly 0 on the other side
    neg = xp.expm1(xp.minimum(x, 0) * inscale)
    neg *= alpha * scale
    pos = xp.maximum(x, 0)
    if scale != 1.0:
        pos *= scale
    neg += pos
    return neg


def _elu_df(xp, g, x, y, alpha, scale, inscale):
    pos = x > 0
    d = xp.exp(xp.minimum(x, 0) * inscale)
    d *= alpha * scale * inscale
    d *= ~pos
    d += xp.multiply(pos, scale, dtype=d.dtype)
    d *= g
    return d


def _elu_dgraph(g, x, y, alpha, scale, inscale):
    neg = (x.clamp(max=0.0) * inscale).exp() * (alpha * scale * inscale)
    return g * where(x > 0, scale, neg)


def _silu_f(xp, x):
    s = _sigmoid(xp, x)
    s *= x
    return s


def _silu_df(xp, g, x, y):
    s = _sigmoid(xp, x)
    d = 1.0 - s
    d *= x
    d += 1.0
    d *= s
    d *= g
    return d


def _silu_dgraph(g, x, y):
    s = x.sigmoid()
    return g * s * (1.0 + x * (1.0 - s))


def _mish_f(xp, x):
    t, _, _ = _mish_parts(xp, x)
    t *= x
    return t


def _mish_df(xp, g, x, y):
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


def _mish_dgraph(g, x, y):
    t = _Softplus.apply(x, 1.0, 20.0).tanh()
    return g * (t + x * (1.0 - t * t) * x.sigmoid())


def _softplus_f(xp, x, beta, th):
    bx = x * beta if beta != 1.0 else x
    r = _softplus_arr(xp, bx)
    if beta != 1.0:
        r /= beta
    return xp.where(bx > th, x, r)


def _softplus_df(xp, g, x, y, beta, th):
    bx = x * beta if beta != 1.0 else x
    d = xp.maximum(_sigmoid(xp, bx), bx > th)  # sigmoid < 1: picks 1 above threshold
    d *= g
    return d


def _softplus_dgraph(g, x, y, beta, th):
    bx = x * beta
    return where(bx > th, g, g * bx.sigmoid())


def _hardswish_f(xp, x):
    r = xp.clip(x + 3.0, 0.0, 6.0)
    r *= x
    r *= 1.0 / 6
    return r


def _hardswish_df(xp, g, x, y):
    d = xp.where(x < -3.0, 0.0, xp.where(x <= 3.0, x * (1.0 / 3) + 0.5, 1.0))
    return g * d.astype(g.dtype, copy=False)


def _hardswish_dgraph(g, x, y):
    mid = _mask(g, (x._data >= -3.0) & (x._data <= 3.0))
    hi = _mask(g, x._data > 3.0)
    return g * (mid * (x * (1.0 / 3) + 0.5) + hi)


def _softsign_df(xp, g, x, y):
    d = xp.abs(x) + 1.0
    d *= d
    return g / d


def _softsign_dgraph(g, x, y):
    d = x.abs() + 1.0
    return g / (d * d)


def _tanhshrink_df(xp, g, x, y):
    t = xp.tanh(x)
    return g * (t * t)


def _tanhshrink_dgraph(g, x, y):
    t = x.tanh()
    return g * t * t


def _softshrink_f(xp, x, lam):
    return xp.where(x > lam, x - lam, xp.where(x < -lam, x + lam, 0.0)).astype(x.dtype,
                                                                              copy=False)


def _shrink_df(xp, g, x, y, lam):
    return g * ((x > lam) | (x < -lam))


def _shrink_dgraph(g, x, y, lam):
    return g * _mask(g, (x._data > lam) | (x._data < -lam))


# ---------------------------------------------------------------------- the table

# name -> (formula, f, df, dgraph, what backward needs ("x" input, "y" output), blocked)
_POINTWISE = {
    "_Relu": ("max(x, 0); backward from the output.",
              lambda xp, x: _relu_f(x),
              lambda xp, g, x, y: _relu_df(g, y),
              lambda g, x, y: g * _mask(g, y._data > 0), "y", False),
    "_Hardtanh": ("clip(x, lo, hi); the gradient is 1 strictly inside the range.",
                  lambda xp, x, lo, hi: xp.clip(x, lo, hi),
                  lambda xp, g, x, y, lo, hi: g * ((x > lo) & (x < hi)),
                  lambda g, x, y, lo, hi: g * _mask(g, (x._data > lo) & (x._data < hi)),
                  "x", False),
    "_LeakyRelu": ("x where x > 0, else s * x.", _leaky_relu_f, _leaky_relu_df,
                   lambda g, x, y, s: where(x > 0, g, g * s), "x", True),
    "_Threshold": ("x where x > th, else v.",
                   lambda xp, x, th, v: xp.where(x > th, x, xp.asarray(v, x.dtype)),
                   lambda xp, g, x, y, th, v: g * (x > th),
                   lambda g, x, y, th, v: g * _mask(g, x._data > th), "x", True),
    "_Elu": ("scale * (x if x > 0 else alpha * (exp(x * inscale) - 1)): ELU, SELU and CELU.",
             _elu_f, _elu_df, _elu_dgraph, "x", True),
    "_Silu": ("x * sigmoid(x).", _silu_f, _silu_df, _silu_dgraph, "x", True),
    "_Mish": ("x * tanh(softplus(x)).", _mish_f, _mish_df, _mish_dgraph, "x", True),
    "_Softplus": ("log1p(exp(beta x)) / beta, and x itself where beta x > threshold "
                  "(PyTorch).", _softplus_f, _softplus_df, _softplus_dgraph, "x", True),
    "_LogSigmoid": ("log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).",
                    lambda xp, x: xp.minimum(x, 0) - _log1p(xp, xp.exp(-xp.abs(x))),
                    lambda xp, g, x, y: g * _sigmoid(xp, -x),
                    lambda g, x, y: g * (-x).sigmoid(), "x", True),
    "_Hardsigmoid": ("clip(x / 6 + 1/2, 0, 1).",
                     lambda xp, x: xp.clip(x * (1.0 / 6) + 0.5, 0.0, 1.0),
                     lambda xp, g, x, y: g * ((x > -3.0) & (x < 3.0)) * (1.0 / 6),
                     lambda g, x, y: g * _mask(g, (x._data > -3.0) & (x._data < 3.0)) * (1.0 / 6),
                     "x", True),
    "_Hardswish": ("x * clip(x + 3, 0, 6) / 6.", _hardswish_f, _hardswish_df,
                   _hardswish_dgraph, "x", True),
    "_Softsign": ("x / (1 + |x|).", lambda xp, x: x / (xp.abs(x) + 1.0), _softsign_df,
                  _softsign_dgraph, "x", True),
    "_Tanhshrink": ("x - tanh(x).", lambda xp, x: x - xp.tanh(x), _tanhshrink_df,
                    _tanhshrink_dgraph, "x", True),
    "_Softshrink": ("x - lam where x > lam, x + lam where x < -lam, else 0.", _softshrink_f,
                    _shrink_df, _shrink_dgraph, "x", True),
    "_Hardshrink": ("x where |x| > lam, else 0.",
                    lambda xp, x, lam: x * ((x > lam) | (x < -lam)), _shrink_df,
                    _shrink_dgraph, "x", True),
}

_Relu, _Hardtanh, _LeakyRelu, _Threshold, _Elu, _Silu, _Mish, _Softplus, _LogSigmoid, \
    _Hardsigmoid, _Hardswish, _Softsign, _Tanhshrink, _Softshrink, _Hardshrink = (
        pointwise_op(n, *row) for n, row in _POINTWISE.items())


# ---------------------------------------------------------------------- ops of their own


class _ReluOver(_Relu):
    """relu written over its input array (``relu_``, see ``ops._util.inplace_over``);
    backward from the output, as :class:`_Relu`."""
    f = staticmethod(lambda xp, x: _relu_f(x, out=x))

    def name(self):
        return "ReluBackward0"


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
