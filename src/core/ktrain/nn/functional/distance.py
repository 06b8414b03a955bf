"""Distances between vectors: ``F.cosine_similarity``, ``F.pairwise_distance``, ``F.pdist``."""
from __future__ import annotations

from ..._backend import array_module
from ..._tensor import Tensor

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _clamp_min_passthrough(t, eps):
    """``max(t, eps)`` in value, with the gradient of ``t`` itself (PyTorch clamps the norms
    in place under no_grad, so the gradient flows as if unclamped)."""
    d = t._data
    lift = array_module(d).maximum(d, eps) - d
    return t + Tensor._make(lift) if bool((lift != 0).any()) else t


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps))``, computed as
    ``sum((x1 / ||x1||) * (x2 / ||x2||))`` after broadcasting (PyTorch's formulation)."""
    if x1.ndim != x2.ndim:
        n = max(x1.ndim, x2.ndim)
        x1 = x1.reshape((1,) * (n - x1.ndim) + tuple(x1.shape))
        x2 = x2.reshape((1,) * (n - x2.ndim) + tuple(x2.shape))
    try:
        from ...ops.shape import broadcast_tensors

        x1, x2 = broadcast_tensors(x1, x2)
    except (RuntimeError, ValueError):
        raise RuntimeError(f"cosine_similarity: the shapes {list(x1.shape)} and "
                           f"{list(x2.shape)} do not broadcast") from None
    n1 = _clamp_min_passthrough(x1.norm(2, dim, keepdim=True), eps)
    n2 = _clamp_min_passthrough(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dimension (PyTorch adds eps to the difference)."""
    nd = max(x1.ndim, x2.ndim)
    if nd == 0:
        raise RuntimeError("pairwise_distance: inputs must have at least 1 dimension")
    return (x1 - x2 + eps).norm(p, nd - 1 if nd > 0 else None, keepdim=keepdim)


def pdist(input, p=2):
    """Distances between all pairs of rows of an ``(N, M)`` input, as the condensed vector of
    the upper triangle (``N * (N - 1) / 2`` values, row-major)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    xp = array_module(input._data)
    i, j = xp.triu_indices(n, 1)
    it, jt = Tensor._make(i.astype("int64")), Tensor._make(j.astype("int64"))
    return (input[it] - input[jt]).norm(p, 1)
