"""Random numbers: generators, seeding and the random state (``torch.random`` names).

* :class:`Generator` (``Generator(device='cpu')``) with ``manual_seed``, ``seed``,
  ``initial_seed``, ``get_state`` and ``set_state``;
* a module-level :data:`default_generator` (CPU) plus one lazily made default generator
  per CUDA device; :func:`manual_seed` seeds all of them; :func:`seed`,
  :func:`initial_seed`, :func:`get_rng_state`, :func:`set_rng_state`, :func:`fork_rng`.

The samplers are ops and live in ``ops/``; this module re-exports them so that
``ktrain.random.rand`` and friends keep working:

* sampling functions (:mod:`ktrain.ops.random`): ``rand``, ``randn``, ``randint``,
  ``randperm``, ``normal``, ``bernoulli``, ``multinomial``, ``poisson``, ``rand_like``,
  ``randn_like``, ``randint_like``;
* in-place Tensor methods (:mod:`ktrain.ops.random_inplace`, attached when this module is
  imported): ``uniform_``, ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``,
  ``geometric_``, ``cauchy_``, ``log_normal_``, plus ``Tensor.bernoulli`` and
  ``Tensor.multinomial``.

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
from ._tensor import Tensor

# the state functions; the samplers' names are added from ops.random at the end
__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed
_U64 = (1 << 64) - 1
_MAGIC = b"KTRG"
_STATE_VERSION = 1
_CPU_STATE_LEN = 4 + 2 + 8 + 16 + 16 + 1 + 4
_CUDA_STATE_LEN = 4 + 2 + 8 + 8


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


# The samplers (ops/): re-exported here, the same objects. Imported last so that
# ops/random.py finds Generator and default_generator_for defined (see its end).
from .ops.random import (bernoulli, multinomial, normal, poisson, rand, rand_like,  # noqa: E402
                         randint, randint_like, randn, randn_like, randperm)
from .ops.random_inplace import (bernoulli_, cauchy_, exponential_, geometric_,  # noqa: E402
                                 log_normal_, normal_, random_, uniform_)
from .ops import random as _ops_random  # noqa: E402

__all__ = sorted(__all__ + list(_ops_random.__all__))
