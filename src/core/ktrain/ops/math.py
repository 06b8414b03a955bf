"""Unary floating-point functions: exp log sqrt trig tanh sigmoid relu erf ..., plus atan2,
hypot, logit, xlogy, nan_to_num and the isnan/isinf family.

The one-input ops with a closed-form derivative are rows of one table, ``_UNARY``:
``name -> (forward, what backward saves, derivative)``; ``_unary_op`` turns each row into
a named ``Op`` subclass (``ktrain.ops.math.Sin``, whose node reads ``SinBackward0``).
Derivatives are written with ktrain ops, so they differentiate again. Rules that only
need the output save the output alone. Integer inputs are promoted to the default float
dtype first (``ktrain.exp(int_tensor)`` is float32, as in PyTorch). erf/erfinv take
``scipy.special`` (or ``cupyx.scipy.special`` on the GPU) through ``_backend`` when present.
"""
from __future__ import annotations

import math as _m

import numpy as np

from .._backend import array_module, get_default_dtype, special_function
from .._tensor import Tensor, register_method
from ..amp import autocast_mode as _amp
from ..autograd.function import Op
from ._out import _make_inplace
from ._util import binary, inplace_over, unbroadcast
from .arith import _result, where

__all__ = ["exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sin",
           "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu",
           "erf", "erfc", "erfinv", "atan2", "logit", "xlogy", "nan_to_num", "isnan",
           "isinf", "isfinite", "isposinf", "isneginf", "hypot"]


# ---------------------------------------------------------------------- forward formulas


def _sigmoid_forward(xp, a):
    # 1/(1+exp(-x)) overflows for very negative x; tanh form is stable and one pass
    out = xp.tanh(a * 0.5)
    out *= 0.5
    out += 0.5
    return out


def _erf_f32(x):
    """erf for float32 numpy arrays: a rational approximation exact to float32 rounding."""
    x = np.clip(x, -4.0, 4.0)
    x2 = x * x
    p = x2 * np.float32(-2.72614225801306e-10) + np.float32(2.77068142495902e-08)
    for c in (-2.10102402082508e-06, -5.69250639462346e-05, -7.34990630326855e-04,
              -2.95459980854025e-03, -1.60960333262415e-02):
        p *= x2
        p += np.float32(c)
    p *= x
    q = x2 * np.float32(-1.45660718464996e-05) + np.float32(-2.13374055278905e-04)
    for c in (-1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02):
        q *= x2
        q += np.float32(c)
    p /= q
    return p


def _erf(a):
    xp = array_module(a)
    if xp is np and a.dtype == np.float32:
        return _erf_f32(a)
    fn = special_function(xp, "erf")  # scipy's is exact to the last ulp
    if fn is None:
        return _erf_numpy(a)
    return fn(a) if xp is not np else fn(a).astype(a.dtype, copy=False)


def _erf_numpy(a):
    """erf to ~1e-15 without scipy: series for |x|<2.5, continued-fraction erfc beyond."""
    x = a.astype(np.float64)
    ax = np.abs(x)
    out = np.empty_like(x)
    small = ax < 2.5
    xs = x[small]
    # Taylor series: erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    term = xs.copy()
    total = xs.copy()
    x2 = xs * xs
    for n in range(1, 60):
        term = term * (-x2) / n
        total += term / (2 * n + 1)
    out[small] = total * (2.0 / np.sqrt(np.pi))
    xl = ax[~small]
    # Lentz continued fraction for erfc
    t = np.zeros_like(xl)
    for k in range(60, 0, -1):
        t = (k / 2.0) / (xl + t)
    erfc = np.exp(-xl * xl) / np.sqrt(np.pi) / (xl + t)
    out[~small] = np.sign(x[~small]) * (1.0 - erfc)
    return out.astype(a.dtype, copy=False)


def _erfinv(a):
    xp = array_module(a)
    fn = special_function(xp, "erfinv")
    if fn is not None:
        return fn(a) if xp is not np else fn(a).astype(a.dtype, copy=False)
    x = a.astype(np.float64)
    # Giles' approximation refined by Newton steps on erf
    y = np.sqrt(np.pi) / 2 * (x + np.pi / 12 * x ** 3)
    for _ in range(60):
        err = _erf_numpy(y) - x
        y = y - err / (2 / np.sqrt(np.pi) * np.exp(-y * y))
    y[x == 1] = np.inf
    y[x == -1] = -np.inf
    return y.astype(a.dtype, copy=False)


# ---------------------------------------------------------------------- the unary table

# name -> (forward: an array-module function name, or forward(xp, a) -> array;
#          what backward needs: "x" the input, "y" the output;
#          derivative(g, v) -> grad, written with ktrain ops from g and the saved x or y,
#          so the rule is differentiable again (higher-order gradients))
_SQRT_PI = _m.sqrt(_m.pi)
_UNARY = {
    "Exp": ("exp", "y", lambda g, y: g * y),
    "Log": ("log", "x", lambda g, x: g / x),
    "Log1p": ("log1p", "x", lambda g, x: g / (x + 1)),
    "Expm1": ("expm1", "y", lambda g, y: g * (y + 1)),
    "Sqrt": ("sqrt", "y", lambda g, y: g / (2 * y)),
    "Rsqrt": (lambda xp, a: xp.reciprocal(xp.sqrt(a)), "y", lambda g, y: g * (-0.5) * y * y * y),
    "Sin": ("sin", "x", lambda g, x: g * x.cos()),
    "Cos": ("cos", "x", lambda g, x: -g * x.sin()),
    "Tan": ("tan", "y", lambda g, y: g * (1 + y * y)),
    "Asin": ("arcsin", "x", lambda g, x: g * (1 - x * x).rsqrt()),
    "Acos": ("arccos", "x", lambda g, x: -g * (1 - x * x).rsqrt()),
    "Atan": ("arctan", "x", lambda g, x: g / (1 + x * x)),
    "Sinh": ("sinh", "x", lambda g, x: g * x.cosh()),
    "Cosh": ("cosh", "x", lambda g, x: g * x.sinh()),
    "Tanh": ("tanh", "y", lambda g, y: g * (1 - y * y)),
    "Sigmoid": (_sigmoid_forward, "y", lambda g, y: g * y * (1 - y)),
    "Relu": (lambda xp, a: xp.maximum(a, 0), "y", lambda g, y: g * (y > 0).to(g.dtype)),
    "Erf": (lambda xp, a: _erf(a), "x", lambda g, x: g * (2.0 / _SQRT_PI) * (-(x * x)).exp()),
    "Erfinv": (lambda xp, a: _erfinv(a), "y", lambda g, y: g * (_SQRT_PI / 2.0) * (y * y).exp()),
}


def _unary_op(name, fwd, saves, derivative):
    """The Op class ``name`` of one table row (a real, named ``Op`` subclass of this module,
    so ``grad_fn`` reads ``<name>Backward0``). Without a graph, ``compute`` runs alone.

    ``_run_backward`` (the engine's entry, see ``autograd.function.Node``) calls the
    derivative directly, one Python call less per node than ``Op``'s default route through
    ``backward``; both give the same gradient, so a subclass overriding ``backward`` must
    override ``_run_backward`` too.
    """
    if isinstance(fwd, str):
        def compute(a):
            return getattr(array_module(a), fwd)(a)
    else:
        def compute(a):
            return fwd(array_module(a), a)

    if saves == "x":
        def forward(ctx, a):
            ctx.save_for_backward(ctx.inputs[0])
            return compute(a)

        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return derivative(g, x)

        def run_backward(self, grads):
            (x,) = self.saved_tensors
            return (derivative(grads[0], x),)
    else:
        def forward(ctx, a):
            return compute(a)

        def backward(ctx, g):
            return derivative(g, ctx.saved_output)

        def run_backward(self, grads):
            return (derivative(grads[0], self.saved_output),)

    what = fwd if isinstance(fwd, str) else name.lower()
    doc = f"Elementwise {what}; backward from the saved {'input' if saves == 'x' else 'output'}."
    return type(name, (Op,), {"__module__": __name__, "__qualname__": name, "__doc__": doc,
                              "save_output": saves == "y", "compute": staticmethod(compute),
                              "forward": staticmethod(forward),
                              "backward": staticmethod(backward), "_run_backward": run_backward})


# in the table's order (tests/core/test_ops_layout.py checks each class's name)
Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, \
    Sigmoid, Relu, Erf, Erfinv = (_unary_op(n, *row) for n, row in _UNARY.items())


class ReluOver(Relu):
    """relu written over its input array (``relu_``: see ``_util.inplace_over``)."""

    @staticmethod
    def compute(a):
        return array_module(a).maximum(a, 0, out=a)

    @staticmethod
    def forward(ctx, a):
        return array_module(a).maximum(a, 0, out=a)

    def name(self):
        return "ReluBackward0"


# ---------------------------------------------------------------------- binary ops


class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return array_module(a).arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved_tensors
        d = x * x + y * y
        return unbroadcast(g * x / d, y.shape), unbroadcast(-g * y / d, x.shape)


# ---------------------------------------------------------------------- public functions


def _float(x: Tensor) -> Tensor:
    return x if x._data.dtype.kind == "f" or x.dtype.is_floating_point else \
        x.to(get_default_dtype())


def _unary(cls, name, doc):
    def fn(input, *, out=None):
        if _amp.ANY_ACTIVE:
            (input,) = _amp.cast_inputs(name, input)
        return _result(cls.apply(_float(input)), out)

    fn.__name__ = name
    fn.__doc__ = doc
    return fn


exp = _unary(Exp, "exp", "Elementwise e**x.")
log = _unary(Log, "log", "Natural logarithm.")
log1p = _unary(Log1p, "log1p", "log(1 + x), accurate for small x.")
expm1 = _unary(Expm1, "expm1", "exp(x) - 1, accurate for small x.")
sqrt = _unary(Sqrt, "sqrt", "Square root.")
rsqrt = _unary(Rsqrt, "rsqrt", "1 / sqrt(x).")
sin = _unary(Sin, "sin", "Sine.")
cos = _unary(Cos, "cos", "Cosine.")
tan = _unary(Tan, "tan", "Tangent.")
asin = _unary(Asin, "asin", "Arcsine.")
acos = _unary(Acos, "acos", "Arccosine.")
atan = _unary(Atan, "atan", "Arctangent.")
sinh = _unary(Sinh, "sinh", "Hyperbolic sine.")
cosh = _unary(Cosh, "cosh", "Hyperbolic cosine.")
tanh = _unary(Tanh, "tanh", "Hyperbolic tangent.")
sigmoid = _unary(Sigmoid, "sigmoid", "Logistic sigmoid 1 / (1 + exp(-x)).")
erf = _unary(Erf, "erf", "Gauss error function.")
erfinv = _unary(Erfinv, "erfinv", "Inverse error function.")


def relu(input, inplace=False):
    """max(x, 0); its gradient at 0 is 0, as in PyTorch."""
    if type(input) is not Tensor and hasattr(input, "_fuse_relu"):  # ops.conv_fusion
        r = input._fuse_relu(inplace)
        if r is not None:
            return r
    if inplace:
        return input.relu_()
    return Relu.apply(input)


def exp2(input, *, out=None):
    """2**x, elementwise."""
    return exp(_float(input) * _m.log(2.0), out=out)


def log2(input, *, out=None):
    """Base-2 logarithm."""
    return log(input, out=out) / _m.log(2.0) if out is None else _div_out(log(input), 2.0, out)


def log10(input, *, out=None):
    """Base-10 logarithm."""
    return log(input) / _m.log(10.0) if out is None else _div_out(log(input), 10.0, out)


def _div_out(lg, base, out):

    return _result(lg / _m.log(base), out)


def erfc(input, *, out=None):
    """Complementary error function ``1 - erf(x)``."""
    return _result(1.0 - erf(input), out)


def atan2(input, other, *, out=None):
    """Angle of (other, input) in radians, elementwise."""

    return _result(binary(Atan2, _float(input), other if not isinstance(other, Tensor)
                          else _float(other), "atan2"), out)


arctan2 = atan2


def hypot(input, other, *, out=None):
    """``sqrt(input**2 + other**2)``, elementwise."""
    return _result((input * input + other * other).sqrt(), out)


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)); with eps, p is clamped into [eps, 1 - eps] first."""

    x = _float(input)
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    return _result((x / (1 - x)).log(), out)


def xlogy(input, other, *, out=None):
    """x * log(y), defined as 0 where x == 0."""

    x = input if isinstance(input, Tensor) else other.new_tensor(input)
    if isinstance(other, Tensor):
        safe = where(x == 0, 1.0, other)  # log(other) is not needed (nor warned about) there
        return _result(where(x == 0, 0.0, x * safe.log()), out)
    return _result(where(x == 0, 0.0, x * (_m.log(other) if other > 0 else float("nan"))), out)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN and infinities with finite numbers (gradient passes where finite)."""

    info = array_module(input._data).finfo(input._data.dtype) if input._data.dtype.kind == "f" \
        else None
    if info is None:
        return _result(input.clone(), out)
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    r = where(input.isnan(), nan, input)
    r = where(r == float("inf"), hi, r)
    r = where(r == float("-inf"), lo, r)
    return _result(r, out)


def _pred(fn_name):
    def fn(input):
        xp = array_module(input._data)
        return Tensor._make(getattr(xp, fn_name)(input._data))

    fn.__name__ = fn_name
    fn.__doc__ = f"Elementwise {fn_name} test (a bool tensor, no gradient)."
    return fn


isnan = _pred("isnan")
isinf = _pred("isinf")
isfinite = _pred("isfinite")
isposinf = _pred("isposinf")
isneginf = _pred("isneginf")
_METHODS = {
    "exp": exp, "exp2": exp2, "log": log, "log2": log2, "log10": log10, "log1p": log1p,
    "expm1": expm1, "sqrt": sqrt, "rsqrt": rsqrt, "sin": sin, "cos": cos, "tan": tan,
    "asin": asin, "arcsin": asin, "acos": acos, "arccos": acos, "atan": atan,
    "arctan": atan, "sinh": sinh, "cosh": cosh, "tanh": tanh, "sigmoid": sigmoid,
    "relu": relu, "erf": erf, "erfc": erfc, "erfinv": erfinv, "atan2": atan2,
    "arctan2": atan2, "logit": logit, "xlogy": xlogy, "nan_to_num": nan_to_num,
    "hypot": hypot,
}
for _name, _fn in _METHODS.items():
    register_method(_name)(_fn)
    if _name not in ("relu",):
        register_method(_name + "_")(_make_inplace(_fn, _name + "_"))
register_method("relu_")(lambda self: inplace_over(self, ReluOver, relu, name="relu_"))
for _name, _fn in (("isnan", isnan), ("isinf", isinf), ("isfinite", isfinite),
                   ("isposinf", isposinf), ("isneginf", isneginf)):
    register_method(_name)(_fn)
