"""Process-wide state the Trainer saves and restores: seeds, RNG states, Ctrl-C.

RNG states are plain values that ``ktrain.save`` can store (uint8 tensors, int64 numpy
arrays, tuples), so a checkpoint restores every generator a training step may draw from:
ktrain's default CPU generator (dropout, shuffling), the CUDA generator of the device in
use, numpy's global generator and Python's ``random``.
"""
from __future__ import annotations

import os
import random
import signal
import sys
import threading

import numpy as np

from .. import random as kt_random

__all__ = ["seed_everything", "capture_rng", "restore_rng", "loader_generators",
           "capture_epoch_start", "restore_epoch_start",
           "DeferredInterrupt"]


def seed_everything(seed: int) -> int:
    """Seed ktrain (CPU and CUDA), numpy's global generator and Python's ``random``.

    Call it before building the model to make its initial weights reproducible too;
    ``Trainer(seed=...)`` calls it at the start of ``fit``. Returns ``seed``.
    """
    seed = int(seed)
    kt_random.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)
    random.seed(seed)
    return seed


def _numpy_state():
    name, keys, pos, has_gauss, cached = np.random.get_state()
    # ktrain.save has no uint32: the MT19937 key goes as int64 (exact)
    return (name, keys.astype(np.int64), int(pos), int(has_gauss), float(cached))


def _set_numpy_state(state):
    name, keys, pos, has_gauss, cached = state
    np.random.set_state((name, np.asarray(keys).astype(np.uint32), int(pos), int(has_gauss),
                         float(cached)))


def _python_state():
    version, internal, gauss = random.getstate()
    return (version, tuple(internal), gauss)


def _set_python_state(state):
    version, internal, gauss = state
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))


def capture_rng(device=None) -> dict:
    """Every RNG state a training step may use (``device``: also its CUDA generator)."""
    out = {"ktrain": kt_random.get_rng_state(), "numpy": _numpy_state(),
           "python": _python_state()}
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        out["cuda"] = kt_random.default_generator_for(device).get_state()
    return out


def restore_rng(state: dict, device=None) -> None:
    """Restore what :func:`capture_rng` returned (missing entries are left alone)."""
    if state.get("ktrain") is not None:
        kt_random.set_rng_state(state["ktrain"])
    if state.get("numpy") is not None:
        _set_numpy_state(state["numpy"])
    if state.get("python") is not None:
        _set_python_state(state["python"])
    if state.get("cuda") is not None and device is not None and device.type == "cuda":
        kt_random.default_generator_for(device).set_state(state["cuda"])


def loader_generators(loader) -> list:
    """The ``ktrain.Generator`` objects a loader shuffles with (its own, its sampler's),
    without duplicates: their states at epoch start reproduce the epoch's order."""
    found = []
    batch_sampler = getattr(loader, "batch_sampler", None)
    for obj in (loader, getattr(loader, "sampler", None), batch_sampler,
                getattr(batch_sampler, "sampler", None)):
        g = getattr(obj, "generator", None)
        if isinstance(g, kt_random.Generator) and all(g is not x for x in found):
            found.append(g)
    return found


def capture_epoch_start(loader, device=None) -> dict:
    """The states that decide an epoch's sample order: restored before re-creating the
    loader's iterator, they make a resumed epoch draw the same permutation."""
    state = {"ktrain": kt_random.get_rng_state(),
             "loader": [g.get_state() for g in loader_generators(loader)]}
    if device is not None and device.type == "cuda":
        state["cuda"] = kt_random.default_generator_for(device).get_state()
    return state


def restore_epoch_start(state: dict, loader, device=None) -> None:
    restore_rng({"ktrain": state.get("ktrain"), "cuda": state.get("cuda")}, device)
    gens = loader_generators(loader)
    saved = state.get("loader") or []
    if len(saved) != len(gens):
        raise RuntimeError(f"resume: the train loader has {len(gens)} generator(s) but the "
                           f"checkpoint saved {len(saved)}: was it built differently?")
    for g, s in zip(gens, saved):
        g.set_state(s)


class DeferredInterrupt:
    """While active (main thread only), the first Ctrl-C only sets ``requested``: the
    trainer finishes the current batch, then stops with a consistent checkpoint. A
    second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = False
        self._previous = None
        self._pid = None

    def _handler(self, signum, frame):
        if self.requested or os.getpid() != self._pid:  # a forked loader worker: as usual
            raise KeyboardInterrupt
        self.requested = True
        print("\nktrain: interrupt received, stopping after the current batch "
              "(press Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    def __enter__(self):
        self.requested = False
        self._pid = os.getpid()
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
