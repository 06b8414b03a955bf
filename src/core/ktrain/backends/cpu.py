"""``ktrain.backends.cpu`` (``torch.backends.cpu``): the SIMD level numpy's kernels use."""
from __future__ import annotations

__all__ = ["get_cpu_capability"]


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
