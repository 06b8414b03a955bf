"""``ktrain.cuda``: CUDA availability and memory facts through cupy (when installed)."""
from __future__ import annotations

from . import _backend as B

__all__ = ["is_available", "device_count", "synchronize", "memory_allocated",
           "max_memory_allocated", "current_device", "set_device", "get_device_name",
           "empty_cache", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """True when cupy is installed and at least one CUDA device answers."""
    return B.cupy_module() is not None


def device_count() -> int:
    cp = B.cupy_module()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


def _cp():
    cp = B.cupy_module()
    if cp is None:
        raise RuntimeError("CUDA is not available: install cupy (pip install 'ktrain[gpu]') "
                           "and check that a GPU and its driver are visible")
    return cp


def synchronize(device=None) -> None:
    """Wait for all kernels on ``device`` (a no-op without CUDA)."""
    cp = B.cupy_module()
    if cp is not None:
        idx = B.as_device(device).index if device is not None else None
        with cp.cuda.Device(idx or 0):
            cp.cuda.runtime.deviceSynchronize()


def memory_allocated(device=None) -> int:
    """Bytes currently held by tensors in cupy's memory pool (0 without CUDA)."""
    cp = B.cupy_module()
    return int(cp.get_default_memory_pool().used_bytes()) if cp is not None else 0


def max_memory_allocated(device=None) -> int:
    cp = B.cupy_module()
    return int(cp.get_default_memory_pool().total_bytes()) if cp is not None else 0


def empty_cache() -> None:
    cp = B.cupy_module()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()


def current_device() -> int:
    return int(_cp().cuda.runtime.getDevice())


def set_device(device) -> None:
    d = B.as_device(device)
    _cp().cuda.runtime.setDevice(d.index or 0)


def get_device_name(device=None) -> str:
    cp = _cp()
    idx = B.as_device(device).index or 0 if device is not None else 0
    props = cp.cuda.runtime.getDeviceProperties(idx)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed: int) -> None:
    from .random import manual_seed as _ms

    _ms(seed)


manual_seed_all = manual_seed
