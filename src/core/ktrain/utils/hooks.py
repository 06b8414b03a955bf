"""``ktrain.utils.hooks``: the public path of :class:`RemovableHandle` (as ``torch.utils.hooks``).

The class lives beside the engine in :mod:`ktrain.autograd.hooks`; this module re-exports it.
"""
from ..autograd.hooks import RemovableHandle

__all__ = ["RemovableHandle"]
