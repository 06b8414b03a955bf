"""``ktrain.backends.cuda`` (``torch.backends.cuda``): whether a GPU build is present.

``is_built()`` says whether cupy (ktrain's GPU array module) can be imported; whether a
device is usable is ``ktrain.cuda.is_available()``. The ``matmul`` flags and the
scaled-dot-product-attention switches keep PyTorch's names and defaults so ported scripts
run; ktrain's kernels do not read them (no effect).
"""
from __future__ import annotations

from .. import _backend as B

__all__ = ["is_built", "matmul", "enable_flash_sdp", "flash_sdp_enabled",
           "enable_mem_efficient_sdp", "mem_efficient_sdp_enabled", "enable_math_sdp",
           "math_sdp_enabled", "preferred_linalg_library"]


def is_built() -> bool:
    """True when cupy is installed and importable (a GPU need not be present)."""
    return B.cupy_version() is not None


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: settable flags, not read by ktrain's matmuls."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self):
        return f"<ktrain.backends.cuda.matmul {vars(self)}>"


matmul = _MatmulFlags()
_sdp = {"flash": True, "mem_efficient": True, "math": True}


def enable_flash_sdp(enabled: bool) -> None:
    """Record the flash-attention switch (ktrain has one attention kernel: no effect)."""
    _sdp["flash"] = bool(enabled)


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    """Record the memory-efficient-attention switch (no effect)."""
    _sdp["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_math_sdp(enabled: bool) -> None:
    """Record the math-attention switch (no effect: ktrain always uses its math kernel)."""
    _sdp["math"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def preferred_linalg_library(backend=None) -> str:
    """``"default"``: linear algebra runs on numpy/cupy's own (LAPACK, cuSOLVER)."""
    return "default"
