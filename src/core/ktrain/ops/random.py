"""Sampling ops: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``bernoulli``,
``poisson``, ``multinomial`` and the ``*_like`` forms (PyTorch's names and signatures).

Every function draws from a :class:`ktrain.random.Generator` (the device's default one
unless ``generator=`` names another) through its sampling primitives, so the generator
decides the bit stream and these functions only shape, type and place the draws. The
in-place ``Tensor`` samplers (``uniform_``, ``normal_`` ...) live in
:mod:`ktrain.ops.random_inplace`; the generators and seeding in :mod:`ktrain.random`,
which re-exports every name of this module.

Results carry no autograd history (``requires_grad=True`` makes a fresh leaf).
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor, _write

__all__ = [
    "bernoulli",
    "multinomial",
    "normal",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
]

_MANTISSA = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


# ----------------------------------------------------------------------------- helpers


def _size_from(args, size, fname):
    from ..creation import _size_arg

    if size is not None:
        if args:
            raise TypeError(f"{fname}() got sizes both positionally and as size=")
        args = (size,)
    if len(args) == 1 and isinstance(args[0], Tensor):
        args = (args[0].tolist(),)
    return _size_arg(args)


def _pick_generator(generator, dev, fname) -> Generator:
    if generator is None:
        return default_generator_for(dev)
    if not isinstance(generator, Generator):
        raise TypeError(f"{fname}(): generator must be a ktrain.Generator, got "
                        f"{type(generator).__name__}")
    if generator.device.type != dev.type:
        raise RuntimeError(f"{fname}(): expected a '{dev.type}' device type for generator but "
                           f"found '{generator.device.type}'")
    return generator


def _float_dtype(dtype, fname) -> B.dtype:
    d = B.get_default_dtype() if dtype is None else B.as_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{fname}(): expected a floating point dtype, got {d!r} "
                           f"(\"{fname}\" is not implemented for integer or bool tensors)")
    B.to_numpy_dtype(d)  # clear error for bfloat16 without ml_dtypes
    return d


def _gen_npd(d: B.dtype):
    """The dtype to draw in for result dtype ``d``: float64 stays, everything else float32."""
    return np.float64 if d is B.float64 else np.float32


def _uniform_for(gen, shape, d):
    """Uniform [0, 1) drawn for result dtype ``d``, as float32/float64: for float16 and
    bfloat16 it is rounded down to their resolution, so a cast never rounds up to 1."""
    u = gen._uniform(shape, _gen_npd(d))
    if d in (B.float16, B.bfloat16):
        scale = float(1 << _MANTISSA[d.name])
        xp = B.array_module(u)
        u = xp.floor(u * scale) * (1.0 / scale)
    return u


def _uniform01(gen, shape, d):
    """Uniform [0, 1) in dtype ``d``."""
    return _uniform_for(gen, shape, d).astype(d.np, copy=False)


def _finish(arr, requires_grad, out=None, fname="op"):
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"{fname}(): out must be a Tensor, got {type(out).__name__}")
        if tuple(out.shape) != tuple(arr.shape):
            raise RuntimeError(f"{fname}(): out has shape {list(out.shape)} but the result has "
                               f"shape {list(arr.shape)}")
        return _write(out, lambda a: a.__setitem__(Ellipsis, B.to_device(arr, out.device)),
                      fname)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _device_of(device, default=None):
    if device is None:
        return default if default is not None else B.CPU
    return B.as_device(device)


def _check_device(dev):
    B.module_for_device(dev)  # clear error when CUDA is missing
    return dev


def _host_bool(x) -> bool:
    return bool(x.item()) if hasattr(x, "item") else bool(x)


def _num(x, name, fname):
    """A Python/numpy number or a one-element tensor as a number."""
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise TypeError(f"{fname}(): {name} must be a number or a one-element tensor")
        return x.item()
    if isinstance(x, (bool, np.bool_)):
        return int(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return x
    raise TypeError(f"{fname}(): {name} must be a number, got {type(x).__name__}")


# ----------------------------------------------------------------------------- functions


def rand(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform samples in [0, 1): ``rand(2, 3)``, ``rand((2, 3))`` or ``rand(size=(2, 3))``
    (default float dtype)."""
    shape = _size_from(args, size, "rand")
    d = _float_dtype(dtype, "rand")
    dev = _check_device(_device_of(device))
    g = _pick_generator(generator, dev, "rand")
    with g._on_device():
        arr = _uniform01(g, shape, d)
    return _finish(arr, requires_grad, out, "rand")


def randn(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples: ``randn(2, 3)``, ``randn((2, 3))`` or ``randn(size=(2, 3))``."""
    shape = _size_from(args, size, "randn")
    d = _float_dtype(dtype, "randn")
    dev = _check_device(_device_of(device))
    g = _pick_generator(generator, dev, "randn")
    with g._on_device():
        arr = g._normal(shape, _gen_npd(d)).astype(d.np, copy=False)
    return _finish(arr, requires_grad, out, "randn")


def _int_bounds(d: B.dtype):
    if d is B.bool:
        return 0, 1
    if d.is_floating_point:
        m = 1 << _MANTISSA[d.name]
        return -m, m
    info = np.iinfo(d.np)
    return int(info.min), int(info.max)


def _randint_arr(g, low, high, shape, d, fname):
    low, high = int(_num(low, "low", fname)), int(_num(high, "high", fname))
    if low >= high:
        raise RuntimeError(f"{fname}(): expects 'low' to be less than 'high', but got "
                           f"low={low} >= high={high}")
    lo, hi = _int_bounds(d)
    if not d.is_floating_point and (low < lo or high - 1 > hi):
        raise RuntimeError(f"{fname}(): range [{low}, {high}) is out of bounds for {d!r} "
                           f"([{lo}, {hi}])")
    if low < -(1 << 63) or high - 1 >= (1 << 63):
        raise RuntimeError(f"{fname}(): range [{low}, {high}) does not fit in int64")
    with g._on_device():
        arr = g._integers(low, high - 1, shape)
        return arr.astype(B.to_numpy_dtype(d), copy=False)


def randint(*args, size=None, low=None, high=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``.

    The dtype defaults to int64.
    """
    a = list(args)
    usage = "randint() needs high and size: randint(high, size) or randint(low, high, size)"
    if size is None:
        if not a:
            raise TypeError(usage)
        size = a.pop()
    if high is None:
        if not a:
            raise TypeError(usage)
        high = a.pop()
    if a:
        if low is not None:
            raise TypeError("randint() got multiple values for argument 'low'")
        low = a.pop()
    if a:
        raise TypeError("randint() takes at most 3 positional arguments (low, high, size)")
    low = 0 if low is None else low
    shape = _size_from((), size, "randint")
    d = B.int64 if dtype is None else B.as_dtype(dtype)
    dev = _check_device(_device_of(device))
    g = _pick_generator(generator, dev, "randint")
    return _finish(_randint_arr(g, low, high, shape, d, "randint"), requires_grad, out,
                   "randint")


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of ``0..n-1`` (int64 by default)."""
    n = int(_num(n, "n", "randperm"))
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, got {n}")
    d = B.int64 if dtype is None else B.as_dtype(dtype)
    if not d.is_floating_point and d is not B.bool and n > 0 and n - 1 > _int_bounds(d)[1]:
        raise RuntimeError(f"randperm(): n={n} is too large for dtype {d!r}")
    dev = _check_device(_device_of(device))
    g = _pick_generator(generator, dev, "randperm")
    with g._on_device():
        arr = g._permutation(n).astype(B.to_numpy_dtype(d), copy=False)
    return _finish(arr, requires_grad, out, "randperm")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Normal samples: ``normal(mean_tensor, std_tensor)``, ``normal(mean_tensor, 1.0)``,
    ``normal(0.0, std_tensor)`` or ``normal(mean, std, size)``.

    With tensor arguments the shape is their broadcast shape and the dtype their floating
    dtype; the result carries no autograd history.
    """
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if mt or st:
        if size is not None:
            raise TypeError("normal(): size can only be given with float mean and std")
        tens = [x for x in (mean, std) if isinstance(x, Tensor)]
        for t in tens:
            if not t.is_floating_point():
                raise RuntimeError(f"normal(): expected floating point mean/std tensors, got "
                                   f"{t.dtype}")
        B.check_same_device("normal", [t._data for t in tens])
        d = tens[0].dtype if len(tens) == 1 else B.promote_types(tens[0].dtype, tens[1].dtype)
        if dtype is not None:
            d = _float_dtype(dtype, "normal")
        dev = tens[0].device
        m = mean._data if mt else _num(mean, "mean", "normal")
        s = std._data if st else _num(std, "std", "normal")
        if st:
            if s.size and not _host_bool((s >= 0).all()):
                raise RuntimeError("normal expects all elements of std >= 0.0")
        elif s < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {s}")
        shape = np.broadcast_shapes(m.shape if mt else (), s.shape if st else ())
    else:
        if size is None:
            raise TypeError("normal(): with float mean and std, size is required "
                            "(normal(mean, std, size))")
        m, s = _num(mean, "mean", "normal"), _num(std, "std", "normal")
        if s < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {s}")
        shape = _size_from((), size, "normal")
        d = _float_dtype(dtype, "normal")
        dev = _check_device(_device_of(device))
    g = _pick_generator(generator, dev, "normal")
    npd = _gen_npd(d)
    with g._on_device():
        z = g._normal(shape, npd)
        if st:
            z = z * s.astype(npd, copy=False)
        elif s != 1:
            z = z * npd(s)
        if mt:
            z = z + m.astype(npd, copy=False)
        elif m != 0:
            z = z + npd(m)
        arr = z.astype(d.np, copy=False)
    return _finish(arr, requires_grad, out, "normal")


def _check_probs(p, fname):
    if p.size and not _host_bool(((p >= 0) & (p <= 1)).all()):
        raise RuntimeError(f"{fname}(): expected all probabilities p to satisfy 0 <= p <= 1")


def _bernoulli_arr(g, p, shape, out_npd, fname):
    """0/1 samples of dtype ``out_npd`` with probability ``p`` (array or number)."""
    if isinstance(p, (int, float, np.integer, np.floating)):
        if not 0 <= p <= 1:
            raise RuntimeError(f"{fname}(): expected 0 <= p <= 1, but got p={p}")
        npd = np.float64
        pv = p
    else:
        _check_probs(p, fname)
        npd = np.float64 if p.dtype == np.float64 else np.float32
        pv = p.astype(npd, copy=False)
    with g._on_device():
        u = g._uniform(shape, npd)
        return (u < pv).astype(out_npd, copy=False)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples: ``bernoulli(probs)`` draws each element with probability ``probs``;
    ``bernoulli(input, p)`` draws every element of ``input``'s shape with probability ``p``.
    The result has ``input``'s dtype and device."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): input must be a Tensor, got {type(input).__name__}")
    g = _pick_generator(generator, input.device, "bernoulli")
    if p is None:
        src = input._data
        if src.dtype == np.bool_:
            src = src.astype(np.float32)
        elif src.dtype.kind in "iu":
            src = src.astype(np.float64)
        elif input.dtype in (B.float16, B.bfloat16):
            src = src.astype(np.float32)
        pp = src
    else:
        pp = _num(p, "p", "bernoulli")
    arr = _bernoulli_arr(g, pp, input._data.shape, input._data.dtype, "bernoulli")
    return _finish(arr, False, out, "bernoulli")


def poisson(input, generator=None) -> Tensor:
    """Poisson samples with rates ``input`` (same shape and dtype)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): input must be a Tensor, got {type(input).__name__}")
    lam = input._data.astype(np.float64)
    if lam.size and not _host_bool((lam >= 0).all()):
        raise RuntimeError("poisson(): expected all rates to be non-negative (and not NaN)")
    g = _pick_generator(generator, input.device, "poisson")
    with g._on_device():
        arr = g._poisson(lam).astype(input._data.dtype, copy=False)
    return Tensor._make(arr)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Category indices (int64) drawn from the rows of ``input`` (1-D or 2-D, non-negative
    weights that need not sum to 1).

    Without replacement it uses the Gumbel/exponential top-k trick (``argtopk(p / E)``,
    E ~ Exp(1)), which is sequential sampling without replacement, vectorised; categories
    of probability 0 come last. With replacement it inverts the row CDFs with one
    vectorised ``searchsorted``.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): input must be a Tensor, got {type(input).__name__}")
    a = input._data
    if a.ndim not in (1, 2):
        raise RuntimeError(f"multinomial(): prob_dist must be 1 or 2 dim, got {a.ndim}")
    if not input.is_floating_point():
        raise RuntimeError(f"multinomial(): only supports floating-point dtypes for input, got "
                           f"{input.dtype}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"multinomial(): num_samples must be an int, got "
                        f"{type(num_samples).__name__}")
    k = int(num_samples)
    ncat = a.shape[-1]
    if k <= 0:
        raise RuntimeError(f"multinomial(): cannot sample n_sample <= 0 samples (got {k})")
    if ncat == 0:
        raise RuntimeError("multinomial(): number of categories cannot be zero")
    if not replacement and k > ncat:
        raise RuntimeError(f"multinomial(): cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement (n_sample={k}, categories={ncat})")
    xp = B.array_module(a)
    p = a.astype(np.float64).reshape(-1, ncat)
    rows = p.shape[0]
    if not _host_bool((xp.isfinite(p) & (p >= 0)).all()):
        raise RuntimeError("multinomial(): probability tensor contains either inf, nan or "
                           "element < 0")
    sums = p.sum(axis=1)
    if rows and not _host_bool((sums > 0).all()):
        raise RuntimeError("multinomial(): invalid multinomial distribution (sum of "
                           "probabilities <= 0) in at least one row")
    g = _pick_generator(generator, input.device, "multinomial")
    with g._on_device():
        if not replacement:
            e = g._exponential((rows, ncat), np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                key = -(p / e)  # ascending order of key = descending p / E
            if k < ncat:
                part = xp.argpartition(key, k - 1, axis=1)[:, :k]
                sub = xp.take_along_axis(key, part, axis=1)
                order = _stable_argsort(xp, sub)
                idx = xp.take_along_axis(part, order, axis=1)
            else:
                idx = _stable_argsort(xp, key)
        else:
            c = xp.cumsum(p, axis=1)
            cdf = c / c[:, -1:]  # each row ends at exactly 1.0; zero-width bins stay zero-width
            offs = xp.arange(rows, dtype=np.float64)[:, None]
            u = g._uniform((rows, k), np.float64) + offs
            u = xp.minimum(u, xp.nextafter(offs + 1.0, offs))  # stay inside the row
            pos = xp.searchsorted((cdf + offs).ravel(), u.ravel(), side="right")
            idx = pos.reshape(rows, k) - xp.arange(rows, dtype=np.int64)[:, None] * ncat
            idx = xp.minimum(idx, ncat - 1)
        idx = idx.astype(np.int64, copy=False)
    if a.ndim == 1:
        idx = idx.reshape(k)
    return _finish(idx, False, out, "multinomial")


def _stable_argsort(xp, a):
    """Row-wise stable argsort (cupy's argsort is always stable and takes no ``kind``)."""
    return np.argsort(a, axis=1, kind="stable") if xp is np else xp.argsort(a, axis=1)


def _like_dev_dtype(input, dtype, device):
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor, got {type(input).__name__}")
    d = input.dtype if dtype is None else B.as_dtype(dtype)
    dev = input.device if device is None else _check_device(B.as_device(device))
    return d, dev


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None) -> Tensor:
    d, dev = _like_dev_dtype(input, dtype, device)
    return rand(tuple(input.shape), dtype=_float_dtype(d, "rand_like"), device=dev,
                requires_grad=requires_grad, generator=generator)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None) -> Tensor:
    d, dev = _like_dev_dtype(input, dtype, device)
    return randn(tuple(input.shape), dtype=_float_dtype(d, "randn_like"), device=dev,
                 requires_grad=requires_grad, generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None) -> Tensor:
    """``randint_like(input, high)`` or ``randint_like(input, low, high)``; input's dtype."""
    if high is None:
        low, high = 0, low
    d, dev = _like_dev_dtype(input, dtype, device)
    return randint(low, high, tuple(input.shape), dtype=d, device=dev,
                   requires_grad=requires_grad, generator=generator)


# The generators. Imported last on purpose: ``ktrain.random`` re-exports this module at
# its end, so whichever of the two is imported first, the other finds the names it needs
# already defined (these functions only look the two names up when called).
from ..random import Generator, default_generator_for  # noqa: E402
