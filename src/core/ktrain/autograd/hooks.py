"""Removable handles for hooks registered on tensors, nodes, modules and the engine.

Public path: ``ktrain.utils.hooks.RemovableHandle`` (as ``torch.utils.hooks``)."""
from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_*hook``; ``handle.remove()`` unregisters (also as a context)."""

    __slots__ = ("id", "_store")

    def __init__(self, store: dict):
        self.id = next(_ids)
        self._store = store

    def remove(self):
        self._store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False
