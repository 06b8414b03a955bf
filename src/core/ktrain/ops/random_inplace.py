"""In-place ``Tensor`` samplers: ``uniform_``, ``normal_``, ``bernoulli_``, ``random_``,
``exponential_``, ``geometric_``, ``cauchy_``, ``log_normal_``, plus the ``Tensor.bernoulli``
and ``Tensor.multinomial`` methods (attached with ``register_method`` on import).

Each draws a new array shaped and typed like the tensor from a
:class:`ktrain.random.Generator` and writes it through ``ops._util.inplace`` (version
bump, leaf rule, view rebasing). The out-of-place samplers are in :mod:`ktrain.ops.random`.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor, register_method
from ._util import inplace
from .random import (_bernoulli_arr, _check_probs, _gen_npd, _int_bounds, _num, _pick_generator,
                     _randint_arr, _uniform_for, bernoulli, multinomial)

__all__ = [
    "bernoulli_",
    "cauchy_",
    "exponential_",
    "geometric_",
    "log_normal_",
    "normal_",
    "random_",
    "uniform_",
]


def _inplace(t, name, make, floating_only=True):
    """Write ``make(array)`` (new samples shaped and typed like ``array``) into t's storage.

    Goes through ``ops._util.inplace``: the leaf-requires-grad rule, the version bump, and,
    when t is a view of a tensor with history, the base's history is rebased so that the
    overwritten region gets no gradient (PyTorch's CopySlices).
    """
    if floating_only and not t.is_floating_point():
        raise RuntimeError(f"{name}: only floating point tensors are supported, got {t.dtype}")
    return inplace(t, lambda old: Tensor._make(make(old._data)), name=name)


def _gen_for_tensor(t, generator, name):
    return _pick_generator(generator, t.device, name)


@register_method("uniform_")
def uniform_(self, a=0.0, b=1.0, *, generator=None, **kwargs):
    """Fill with uniform samples in [from, to) (``uniform_(from=0, to=1)``)."""
    lo = kwargs.pop("from", a)
    hi = kwargs.pop("to", b)
    if kwargs:
        raise TypeError(f"uniform_() got unexpected keyword arguments {sorted(kwargs)}")
    lo, hi = float(_num(lo, "from", "uniform_")), float(_num(hi, "to", "uniform_"))
    if lo > hi:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={lo} > to={hi}")
    g = _gen_for_tensor(self, generator, "uniform_")
    d = self.dtype

    def make(arr):
        with g._on_device():
            u = _uniform_for(g, arr.shape, d)
            if lo != 0.0 or hi != 1.0:
                u = u * (hi - lo) + lo
            return u.astype(arr.dtype, copy=False)

    return _inplace(self, "uniform_", make)


@register_method("normal_")
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples N(mean, std**2)."""
    mean, std = float(_num(mean, "mean", "normal_")), float(_num(std, "std", "normal_"))
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    g = _gen_for_tensor(self, generator, "normal_")
    d = self.dtype

    def make(arr):
        with g._on_device():
            z = g._normal(arr.shape, _gen_npd(d))
            if std != 1.0:
                z = z * std
            if mean != 0.0:
                z = z + mean
            return z.astype(arr.dtype, copy=False)

    return _inplace(self, "normal_", make)


@register_method("bernoulli_")
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples of probability ``p`` (a number or a broadcastable tensor)."""
    g = _gen_for_tensor(self, generator, "bernoulli_")
    if isinstance(p, Tensor):
        B.check_same_device("bernoulli_", [self._data, p._data])
        pa = p._data
        pa = pa.astype(np.float64 if pa.dtype == np.float64 else np.float32)
        try:
            np.broadcast_shapes(pa.shape, self._data.shape)
        except ValueError:
            raise RuntimeError(f"bernoulli_: p of shape {list(p.shape)} does not broadcast to "
                               f"{list(self.shape)}") from None
        _check_probs(pa, "bernoulli_")
    else:
        pa = float(_num(p, "p", "bernoulli_"))
        if not 0 <= pa <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={pa}")
    return _inplace(self, "bernoulli_",
                    lambda arr: _bernoulli_arr(g, pa, arr.shape, arr.dtype, "bernoulli_"),
                    floating_only=False)


_MISSING = object()


@register_method("random_")
def random_(self, a=_MISSING, b=_MISSING, *, generator=None, **kwargs):
    """Fill with integers: ``random_()`` over [0, max] of the dtype (floats: [0, 2**mantissa]),
    ``random_(to)`` over [0, to), ``random_(from, to)`` over [from, to) (``to=None``: up to
    the dtype's max)."""
    if "from" in kwargs:
        if a is not _MISSING:
            raise TypeError("random_() got multiple values for argument 'from'")
        a = kwargs.pop("from")
        if "to" not in kwargs and b is _MISSING:
            b = None  # random_(from=x): up to the dtype's max
    if "to" in kwargs:
        if b is not _MISSING:
            raise TypeError("random_() got multiple values for argument 'to'")
        b = kwargs.pop("to")
        if a is _MISSING:
            a = 0
    if kwargs:
        raise TypeError(f"random_() got unexpected keyword arguments {sorted(kwargs)}")
    d = self.dtype
    top = _int_bounds(d)[1] + 1
    if a is _MISSING:
        lo, hi = 0, top
    elif b is _MISSING:
        lo, hi = 0, a  # random_(to)
    else:
        lo, hi = a, (top if b is None else b)
    g = _gen_for_tensor(self, generator, "random_")

    def make(arr):
        return _randint_arr(g, lo, hi, arr.shape, d, "random_")

    return _inplace(self, "random_", make, floating_only=False)


@register_method("exponential_")
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate ``lambd``."""
    lambd = float(_num(lambd, "lambd", "exponential_"))
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambd > 0.0, but found lambd={lambd}")
    g = _gen_for_tensor(self, generator, "exponential_")
    d = self.dtype

    def make(arr):
        with g._on_device():
            e = g._exponential(arr.shape, _gen_npd(d))
            return (e / lambd if lambd != 1.0 else e).astype(arr.dtype, copy=False)

    return _inplace(self, "exponential_", make)


@register_method("geometric_")
def geometric_(self, p, *, generator=None):
    """Fill with geometric samples: the number of Bernoulli(p) trials to the first success
    (values 1, 2, ...)."""
    p = float(_num(p, "p", "geometric_"))
    if not 0 < p <= 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1], but got p={p}")
    g = _gen_for_tensor(self, generator, "geometric_")

    def make(arr):
        with g._on_device():
            xp = B.array_module(arr)
            e = g._exponential(arr.shape, np.float64)
            rate = -np.log1p(-p) if p < 1 else np.inf
            k = xp.maximum(xp.ceil(e / rate), 1.0)
            return k.astype(arr.dtype, copy=False)

    return _inplace(self, "geometric_", make, floating_only=False)


@register_method("cauchy_")
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples: median + sigma * tan(pi * (U - 1/2))."""
    median, sigma = float(_num(median, "median", "cauchy_")), float(_num(sigma, "sigma",
                                                                         "cauchy_"))
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    g = _gen_for_tensor(self, generator, "cauchy_")

    def make(arr):
        with g._on_device():
            xp = B.array_module(arr)
            u = g._uniform(arr.shape, np.float64)
            return (median + sigma * xp.tan(np.pi * (u - 0.5))).astype(arr.dtype, copy=False)

    return _inplace(self, "cauchy_", make)


@register_method("log_normal_")
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std**2)) samples."""
    mean, std = float(_num(mean, "mean", "log_normal_")), float(_num(std, "std",
                                                                     "log_normal_"))
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    g = _gen_for_tensor(self, generator, "log_normal_")
    d = self.dtype

    def make(arr):
        with g._on_device():
            xp = B.array_module(arr)
            z = g._normal(arr.shape, _gen_npd(d))
            return xp.exp(z * std + mean).astype(arr.dtype, copy=False)

    return _inplace(self, "log_normal_", make)


@register_method("bernoulli")
def _tensor_bernoulli(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


@register_method("multinomial")
def _tensor_multinomial(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)
