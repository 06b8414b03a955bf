"""Random numbers: generators, seeding, sampling functions and in-place ``Tensor`` samplers.

``ktrain.random`` follows ``torch.random`` / ``torch`` names and signatures:

* :class:`Generator` (``Generator(device='cpu')``) with ``manual_seed``, ``seed``,
  ``initial_seed``, ``get_state`` and ``set_state``;
* a module-level :data:`default_generator` (CPU) plus one lazily made default generator
  per CUDA device; :func:`manual_seed` seeds all of them;
* sampling functions: :func:`rand`, :func:`randn`, :func:`randint`, :func:`randperm`,
  :func:`normal`, :func:`bernoulli`, :func:`multinomial`, :func:`poisson`,
  :func:`rand_like`, :func:`randn_like`, :func:`randint_like`;
* in-place Tensor methods attached when this module is imported: ``uniform_``,
  ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``, ``geometric_``,
  ``cauchy_``, ``log_normal_``, plus ``Tensor.bernoulli`` and ``Tensor.multinomial``.

CPU generators are numpy ``PCG64`` bit generators. A CUDA generator is a (seed, offset)
pair, like PyTorch's Philox generators: every sampling call reseeds one cuRAND Philox
``cupy.random.RandomState`` (made lazily, through ``_backend``) from the pair and then
advances the offset, so its state is 16 bytes that round-trip exactly. The same seed
gives the same numbers for the same sequence of calls; CPU and CUDA streams differ.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from . import _backend as B
from ._tensor import Tensor, _write, register_method

__all__ = [
    "Generator",
    "bernoulli",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
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
    "seed",
    "set_rng_state",
]

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed
_U64 = (1 << 64) - 1
_MAGIC = b"KTRG"
_STATE_VERSION = 1
_CPU_STATE_LEN = 4 + 2 + 8 + 16 + 16 + 1 + 4
_CUDA_STATE_LEN = 4 + 2 + 8 + 8
_MANTISSA = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _norm_seed(seed) -> int:
    """PyTorch's seed rule: any integer in [-2**63, 2**64); negatives wrap to uint64."""
    if isinstance(seed, Tensor):
        seed = seed.item()
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed expected an integer seed, got {type(seed).__name__}") \
            from None
    if not -(1 << 63) <= s <= _U64:
        raise RuntimeError(f"Overflow when unpacking long: seed must be within the range "
                           f"[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got {s}")
    return s & _U64


def _mix64(seed: int, counter: int) -> int:
    """splitmix64 of (seed, counter): the cuRAND seed of one CUDA sampling call."""
    z = (seed + (counter + 1) * 0x9E3779B97F4A7C15) & _U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64
    return z ^ (z >> 31)


class Generator:
    """A random number generator for one device (``torch.Generator``).

    ``Generator()`` / ``Generator('cpu')`` is a numpy PCG64 stream; ``Generator('cuda')``
    or ``Generator('cuda:1')`` draws on that GPU with cuRAND Philox (cupy). A new
    generator starts from PyTorch's default seed (67280421310721), so two fresh
    generators give the same numbers; generators never share state.
    """

    def __init__(self, device="cpu"):
        self._device = B.as_device(device)
        self._cp_rs = None
        self._cp_idx = None
        self.manual_seed(_DEFAULT_SEED)

    # ------------------------------------------------------------------ seeding / state
    @property
    def device(self):
        return self._device

    def manual_seed(self, seed):
        """Seed this generator (any integer in [-2**63, 2**64)); returns self."""
        self._seed = _norm_seed(seed)
        if self._device.type == "cpu":
            self._np = np.random.Generator(np.random.PCG64(self._seed))
        else:
            self._offset = 0
        return self

    def seed(self) -> int:
        """Seed from OS entropy (non-deterministic) and return the new seed."""
        s = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed last given by ``manual_seed`` or ``seed``."""
        return self._seed

    def _state_bytes(self) -> bytes:
        head = _MAGIC + bytes((_STATE_VERSION, 0 if self._device.type == "cpu" else 1))
        if self._device.type == "cpu":
            st = self._np.bit_generator.state
            return (head + self._seed.to_bytes(8, "little")
                    + int(st["state"]["state"]).to_bytes(16, "little")
                    + int(st["state"]["inc"]).to_bytes(16, "little")
                    + bytes((int(st["has_uint32"]),))
                    + int(st["uinteger"]).to_bytes(4, "little"))
        return head + self._seed.to_bytes(8, "little") + self._offset.to_bytes(8, "little")

    def get_state(self) -> Tensor:
        """The full generator state as a CPU uint8 tensor (``set_state`` restores it)."""
        return Tensor._make(np.frombuffer(self._state_bytes(), np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from ``get_state`` (a uint8 tensor, bytes or uint8 array); returns self."""
        if isinstance(new_state, Tensor):
            if new_state.dtype is not B.uint8:
                raise TypeError(f"set_state: expected a uint8 (ByteTensor) state, got "
                                f"{new_state.dtype}")
            raw = np.asarray(new_state.__array__()).tobytes()
        elif isinstance(new_state, (bytes, bytearray, memoryview)):
            raw = bytes(new_state)
        elif isinstance(new_state, np.ndarray) and new_state.dtype == np.uint8:
            raw = new_state.tobytes()
        else:
            raise TypeError(f"set_state: expected a uint8 tensor or bytes, got "
                            f"{type(new_state).__name__}")
        cpu = self._device.type == "cpu"
        want = _CPU_STATE_LEN if cpu else _CUDA_STATE_LEN
        if len(raw) < 6 or raw[:4] != _MAGIC:
            raise RuntimeError("set_state: not a ktrain generator state (bad header); pass the "
                               "value returned by Generator.get_state()")
        if raw[4] != _STATE_VERSION:
            raise RuntimeError(f"set_state: unsupported generator state version {raw[4]}")
        if raw[5] != (0 if cpu else 1):
            kind = "cpu" if raw[5] == 0 else "cuda"
            raise RuntimeError(f"set_state: this state belongs to a {kind} generator, but the "
                               f"generator is on {self._device}")
        if len(raw) != want:
            raise RuntimeError(f"set_state: expected a state of {want} bytes, got {len(raw)}")
        self._seed = int.from_bytes(raw[6:14], "little")
        if cpu:
            bg = np.random.PCG64()
            bg.state = {"bit_generator": "PCG64",
                        "state": {"state": int.from_bytes(raw[14:30], "little"),
                                  "inc": int.from_bytes(raw[30:46], "little")},
                        "has_uint32": raw[46], "uinteger": int.from_bytes(raw[47:51], "little")}
            self._np = np.random.Generator(bg)
        else:
            self._offset = int.from_bytes(raw[14:22], "little")
        return self

    def __getstate__(self):
        return {"device": str(self._device), "state": self._state_bytes()}

    def __setstate__(self, d):
        self._device = B.as_device(d["device"])
        self._cp_rs = None
        self._cp_idx = None
        self.manual_seed(0)
        self.set_state(d["state"])

    def __repr__(self):
        return f"<ktrain.Generator device={self._device} initial_seed={self._seed}>"

    # ------------------------------------------------------------------ sampling primitives
    # Each primitive returns a new array on this generator's device. Float primitives
    # produce float32 or float64 (``npd``); integer ones int64.
    def _rs(self):
        """The cupy RandomState, reseeded from (seed, offset) for one call."""
        cp = B.module_for_device(self._device)
        idx = self._device.index if self._device.index is not None \
            else int(cp.cuda.runtime.getDevice())
        if self._cp_rs is None or self._cp_idx != idx:
            with cp.cuda.Device(idx):
                rs_cls = cp.random.RandomState  # importing cupy.random also loads cuda.curand
                philox = getattr(getattr(cp.cuda, "curand", None),
                                 "CURAND_RNG_PSEUDO_PHILOX4_32_10", 161)
                self._cp_rs = rs_cls(np.uint64(0), method=philox)
            self._cp_idx = idx
        self._cp_rs.seed(np.uint64(_mix64(self._seed, self._offset)))
        self._offset = (self._offset + 1) & _U64
        return cp, self._cp_rs

    def _on_device(self):
        if self._device.type == "cpu":
            return contextlib.nullcontext()
        cp = B.module_for_device(self._device)
        idx = self._device.index if self._device.index is not None \
            else int(cp.cuda.runtime.getDevice())
        return cp.cuda.Device(idx)

    def _uniform(self, shape, npd):
        if self._device.type == "cpu":
            return self._np.random(shape, dtype=npd)
        _, rs = self._rs()
        return rs.random_sample(shape, dtype=npd)

    def _normal(self, shape, npd):
        if self._device.type == "cpu":
            return self._np.standard_normal(shape, dtype=npd)
        _, rs = self._rs()
        return rs.standard_normal(shape, dtype=npd)

    def _exponential(self, shape, npd):
        if self._device.type == "cpu":
            return self._np.standard_exponential(shape, dtype=npd)
        _, rs = self._rs()
        return rs.standard_exponential(shape, dtype=npd)

    def _integers(self, low, high_incl, shape):
        """int64 values uniform in [low, high_incl]."""
        if self._device.type == "cpu":
            return self._np.integers(low, high_incl, size=shape, dtype=np.int64, endpoint=True)
        _, rs = self._rs()
        return rs.randint(low, high_incl + 1, size=shape, dtype=np.int64)

    def _permutation(self, n):
        if self._device.type == "cpu":
            return self._np.permutation(n).astype(np.int64, copy=False)
        cp, rs = self._rs()
        keys = rs.randint(0, 1 << 62, size=(n,), dtype=np.int64)  # 62-bit keys: ties negligible
        return cp.argsort(keys).astype(np.int64, copy=False)

    def _poisson(self, lam):
        """int64 Poisson samples for a float64 rate array on this device."""
        if self._device.type == "cpu":
            return self._np.poisson(lam).astype(np.int64, copy=False)
        _, rs = self._rs()
        return rs.poisson(lam, size=lam.shape, dtype=np.int64)


default_generator = Generator("cpu")
_cuda_generators: dict = {}
_cuda_seed = [None]  # the last manual_seed, applied to CUDA generators made later


def _cuda_default(index) -> Generator:
    if index is None:
        cp = B.module_for_device(B.device("cuda"))
        index = int(cp.cuda.runtime.getDevice())
    g = _cuda_generators.get(index)
    if g is None:
        g = Generator(B.device("cuda", index))
        if _cuda_seed[0] is not None:
            g.manual_seed(_cuda_seed[0])
        _cuda_generators[index] = g
    return g


def default_generator_for(device) -> Generator:
    """The default generator of ``device`` (``torch.cuda.default_generators[i]`` for CUDA)."""
    d = B.as_device(device)
    return default_generator if d.type == "cpu" else _cuda_default(d.index)


def manual_seed(seed) -> Generator:
    """Seed the CPU generator and every CUDA generator (existing and future); returns
    ``default_generator``."""
    s = _norm_seed(seed)
    default_generator.manual_seed(s)
    _cuda_seed[0] = s
    for g in _cuda_generators.values():
        g.manual_seed(s)
    return default_generator


def seed() -> int:
    """Seed all default generators from OS entropy; returns the seed."""
    s = default_generator.seed()
    _cuda_seed[0] = s
    for g in _cuda_generators.values():
        g.manual_seed(s)
    return s


def initial_seed() -> int:
    """The initial seed of the default CPU generator."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default CPU generator's state as a uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default CPU generator's state from ``get_rng_state()``."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, device_type="cuda"):
    """Save the default generators' states and restore them on exit.

    ``devices`` lists the CUDA device indices to fork (default: the CUDA generators that
    exist when entering); the CPU generator is always forked.
    """
    if not enabled:
        yield
        return
    cpu_state = default_generator._state_bytes()
    if devices is None:
        gens = list(_cuda_generators.values())
    else:
        gens = [_cuda_default(B.as_device(d).index) for d in devices]
    saved = [(g, g._state_bytes()) for g in gens]
    try:
        yield
    finally:
        default_generator.set_state(cpu_state)
        for g, st in saved:
            g.set_state(st)


# ----------------------------------------------------------------------------- helpers


def _size_from(args, size, fname):
    from .creation import _size_arg

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


# ----------------------------------------------------------------------------- Tensor methods


def _inplace(t, name, make, floating_only=True):
    """Write ``make(array)`` (new samples shaped and typed like ``array``) into t's storage.

    Goes through ``ops._util.inplace``: the leaf-requires-grad rule, the version bump, and,
    when t is a view of a tensor with history, the base's history is rebased so that the
    overwritten region gets no gradient (PyTorch's CopySlices).
    """
    from .ops._util import inplace

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
