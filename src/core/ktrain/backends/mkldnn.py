"""``ktrain.backends.mkldnn`` (``torch.backends.mkldnn``): oneDNN, which ktrain does not use.

``enabled`` is settable for scripts written for PyTorch; nothing reads it.
"""
from __future__ import annotations

__all__ = ["is_available", "enabled"]

enabled = True  # PyTorch's default; no effect in ktrain


def is_available() -> bool:
    """False: ktrain's CPU kernels are numpy's and the BLAS's, not oneDNN's."""
    return False
