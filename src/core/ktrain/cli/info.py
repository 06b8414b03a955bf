"""Environment facts for ``ktrain info`` (also usable from Python: ``collect()``)."""
from __future__ import annotations

import os
import platform


def _blas():
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        name = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy without mode=
        name = "unknown"
    threads = None
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            threads = infos[0]["num_threads"]
            name = f"{infos[0].get('internal_api', name)} {infos[0].get('version', '')}".strip()
    except ImportError:
        pass
    return name, threads


def _policy() -> str:
    from .. import _threads

    p = _threads.get_threads_policy()
    if p == "auto":
        return "auto (the cores other processes leave free; KTRAIN_NUM_THREADS=n fixes it)"
    if p == "env":
        return "fixed by OPENBLAS_NUM_THREADS/OMP_NUM_THREADS/MKL_NUM_THREADS"
    return f"fixed: {p}"


def collect() -> dict:
    """A dict of the facts ``ktrain info`` prints."""
    import numpy as np

    import ktrain

    blas, threads = _blas()
    facts = {
        "ktrain": ktrain.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "blas": blas,
        "blas threads": threads if threads is not None else
        os.environ.get("OMP_NUM_THREADS", f"default ({os.cpu_count()} cores)"),
        "blas thread policy": _policy(),
        "cpu cores": os.cpu_count(),
        "default dtype": ktrain.get_default_dtype().name,
    }
    facts["cupy"] = ktrain._backend.cupy_version() or "not installed"
    if ktrain.cuda.is_available():
        n = ktrain.cuda.device_count()
        facts["cuda devices"] = ", ".join(
            f"{i}: {ktrain.cuda.get_device_name(i)}" for i in range(n))
    else:
        facts["cuda devices"] = "none (CPU only)"
    try:
        from importlib.metadata import entry_points

        eps = entry_points(group="ktrain.plugins")
        facts["plugins"] = ", ".join(sorted(e.name for e in eps)) or "none"
    except Exception:
        facts["plugins"] = "none"
    return facts


def render(facts: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ktrain environment", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value")
    for k, v in facts.items():
        table.add_row(k, str(v))
    Console().print(table)
