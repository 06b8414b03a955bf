"""``ktrain.backends.mps`` (``torch.backends.mps``): Apple's Metal backend, which ktrain
has not: both queries are always False."""
from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: ktrain runs on numpy (CPU) and cupy (CUDA) only."""
    return False


def is_built() -> bool:
    """False: no Metal kernels exist in ktrain."""
    return False
