"""``ktrain.backends.openmp`` (``torch.backends.openmp``): whether OpenMP is in use."""
from __future__ import annotations

from ._native import loaded_libraries

__all__ = ["is_available"]


def is_available() -> bool:
    """True when an OpenMP runtime is loaded in this process, or the BLAS threads with the
    OpenMP layer (threadpoolctl). numpy's own kernels are single-threaded either way."""
    for lib in loaded_libraries():
        if lib.get("user_api") == "openmp" or lib.get("threading_layer") in ("openmp", "intel"):
            return True
    return False
