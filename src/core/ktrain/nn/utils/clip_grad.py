"""Gradient clipping: ``clip_grad_norm_`` (returns the total norm) and ``clip_grad_value_``."""
from __future__ import annotations

import math

from ... import _backend as B
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type`` norm of all ``tensors`` together, as a 0-d tensor."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        from ...creation import tensor

        return tensor(0.0)
    xp = B.array_module(tensors[0]._data)
    # per-tensor partial norms in float64 on the device, then one combine
    if norm_type == math.inf:
        parts = [xp.abs(t._data).max() if t._data.size else xp.zeros((), t._data.dtype)
                 for t in tensors]
        total = xp.max(xp.stack([xp.asarray(p, dtype=xp.float64) for p in parts]))
    elif norm_type == 2.0:
        parts = [xp.vdot(t._data.ravel(), t._data.ravel()) for t in tensors]
        total = xp.sqrt(xp.sum(xp.stack([xp.asarray(p, dtype=xp.float64) for p in parts])))
    else:
        parts = [xp.sum(xp.abs(t._data.astype(xp.float64)) ** norm_type) for t in tensors]
        total = xp.sum(xp.stack(parts)) ** (1.0 / norm_type)
    total_t = Tensor._make(xp.asarray(total, dtype=tensors[0]._data.dtype))
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total_t


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so their total norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor), as PyTorch does.
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = float(max_norm) / (float(total.item()) + 1e-6)
    if coef < 1.0:
        with no_grad():
            for g in grads:
                g._data *= g._data.dtype.type(coef)
                g._version[0] += 1
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = B.array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version[0] += 1
