"""Flatten parameters into one vector and back."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """One 1-D tensor of all parameters (differentiable, like PyTorch's)."""
    from ...ops.join import cat

    params = [p.reshape(-1) for p in parameters]
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    devs = {str(p.device) for p in params}
    if len(devs) > 1:
        raise TypeError(f"Found parameters on different devices: {sorted(devs)}")
    return cat(params)


def vector_to_parameters(vec, parameters):
    """Copy slices of ``vec`` into ``parameters`` (in place, in order)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, got {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: vector has {vec.numel()} elements but the "
                           f"parameters need {total}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(p.shape))
            offset += n
