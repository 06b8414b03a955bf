"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import os


def blas_threads() -> int:
    """Threads the BLAS uses (threadpoolctl when installed, else OMP_NUM_THREADS or cores)."""
    try:
        from threadpoolctl import threadpool_info

        n = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if n:
            return int(n[0])
    except ImportError:
        pass
    return int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
