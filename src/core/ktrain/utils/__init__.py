"""Utilities: ``hooks`` (removable handles) and ``data`` (datasets, samplers, DataLoader)."""
from __future__ import annotations

_LAZY = ("data", "hooks")


def __getattr__(name):
    # ``ktrain.utils.data`` loads on first use: importing hooks must stay cheap
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ktrain.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
