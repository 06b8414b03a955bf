"""``ktrain.backends.mkl`` (``torch.backends.mkl``): whether numpy's BLAS is Intel MKL."""
from __future__ import annotations

from ._native import blas_build_name, loaded_libraries

__all__ = ["is_available"]


def is_available() -> bool:
    """True when the BLAS that numpy loaded (threadpoolctl), or else the one it was built
    against (``np.show_config``), is MKL; ktrain's matmuls and convolutions then run on it."""
    blas = [lib for lib in loaded_libraries() if lib.get("user_api") == "blas"]
    if blas:
        return any(lib.get("internal_api") == "mkl" for lib in blas)
    return "mkl" in blas_build_name()
