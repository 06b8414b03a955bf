"""``nn.Parameter`` and ``nn.Buffer``: tensors that modules register by assignment."""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: ``requires_grad=True`` by default.

    ``Parameter(t)`` shares ``t``'s storage (no copy), as in PyTorch.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            from ..creation import tensor

            data = tensor(data)
        self._data = data._data
        self._rg = False
        self._version = [0]
        if requires_grad:
            self.requires_grad_(True)

    def __new__(cls, data=None, requires_grad=True):
        return Tensor.__new__(cls)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.__array__(), self._rg))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(self._data.copy()), self._rg)
        if self.grad is not None:
            p.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = p
        return p


def _rebuild_parameter(arr, rg):
    return Parameter(Tensor._make(arr), rg)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a module attribute."""

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        self._data = data._data
        self._rg = False
        self._version = [0]
        self.persistent = persistent

    def __new__(cls, data=None, *, persistent=True):
        return Tensor.__new__(cls)


class UninitializedParameter(Parameter):
    """Placeholder for lazily-shaped layers (not implemented beyond the type)."""
