"""``ktrain.backends.cudnn`` (``torch.backends.cudnn``): cuDNN through cupy.

``enabled``, ``benchmark``, ``deterministic`` and ``allow_tf32`` are plain attributes with
PyTorch's defaults, so ``ktrain.backends.cudnn.benchmark = True`` in a script ported from
PyTorch works; ktrain's convolutions (im2col + GEMM on numpy or cupy) do not call cuDNN and
do not read them: they have no effect on the results or the speed.
"""
from __future__ import annotations

import contextlib

from .. import _backend as B

__all__ = ["is_available", "version", "flags", "enabled", "benchmark", "deterministic",
           "allow_tf32", "benchmark_limit"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10


def version():
    """cuDNN's version as an int (e.g. ``8902``), or None without cupy, cuDNN or a GPU."""
    return B.cudnn_version()


def is_available() -> bool:
    """True when cupy finds a CUDA device and its cuDNN bindings load."""
    return B.cudnn_version() is not None


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, deterministic=False, allow_tf32=True):
    """Set the four flags inside a ``with`` block and restore them after (PyTorch's)."""
    g = globals()
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    old = {n: g[n] for n in names}
    g.update(zip(names, (enabled, benchmark, deterministic, allow_tf32)))
    try:
        yield
    finally:
        g.update(old)
