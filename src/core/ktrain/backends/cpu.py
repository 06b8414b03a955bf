"""``ktrain.backends.cpu`` (``torch.backends.cpu``): the SIMD level numpy's kernels use."""
from __future__ import annotations

__all__ = ["fast_kernels_available", "fast_kernels_enabled", "get_cpu_capability",
           "set_fast_kernels"]


def _features() -> dict:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


def get_cpu_capability() -> str:
    """``"AVX512"``, ``"AVX2"``, ``"VSX"``, ``"Z VECTOR"`` or ``"DEFAULT"``: the widest
    vector instruction set this CPU offers that numpy's runtime dispatch can use (PyTorch's
    names; read from numpy's ``__cpu_features__``)."""
    f = _features()
    if all(f.get(k) for k in ("AVX512F", "AVX512CD", "AVX512VL", "AVX512BW", "AVX512DQ")):
        return "AVX512"
    if f.get("AVX2") and f.get("FMA3"):
        return "AVX2"
    if f.get("VSX"):
        return "VSX"
    if f.get("VX"):
        return "Z VECTOR"
    return "DEFAULT"


def fast_kernels_available() -> bool:
    """Whether the compiled CPU kernels can be used: Numba is installed (``ktrain[fast]``)."""
    from .. import _fast

    return _fast.available()


def fast_kernels_enabled() -> bool:
    """Whether ops take the compiled kernels now (installed, and not switched off with
    :func:`set_fast_kernels` or ``KTRAIN_FAST_KERNELS=0``)."""
    from .. import _fast

    return _fast.enabled()


def set_fast_kernels(enabled: bool) -> None:
    """Use the compiled CPU kernels (``True``, the default when installed) or numpy's
    reference paths (``False``) from now on. Not a ``torch.backends`` name: ktrain's own."""
    from .. import _fast

    _fast.set_enabled(enabled)
