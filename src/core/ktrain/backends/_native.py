"""The native libraries loaded in this process, as threadpoolctl sees them."""
from __future__ import annotations


def loaded_libraries() -> list[dict]:
    """threadpoolctl's description of each loaded BLAS / OpenMP library (empty without it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # a hard dependency, but a broken install should not crash a query
        return []
    return threadpool_info()


def blas_build_name() -> str:
    """The BLAS numpy was built against (``np.show_config``), lower case, '' if unknown."""
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
    except Exception:  # numpy without mode=
        return ""
    return str(cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "")).lower()
