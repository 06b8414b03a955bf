"""The ``torch.*`` forms of ``nn.functional`` functions whose top-level signature differs.

PyTorch exposes some functional ops at ``torch.*`` with their ATen argument order
(``torch.embedding(weight, input)``, ``torch.batch_norm(input, weight, bias, running_mean,
...)``, ``torch.dropout(input, p, train)``); ``ktrain.<name>`` follows those signatures
and calls the ``ktrain.nn.functional`` function. Names whose signature is the same are
plain aliases of ``nn.functional`` (the lazy table of ``ktrain/__init__``). Also
:func:`cdist`, which PyTorch has only at the top level. Loaded on first use.
"""
from __future__ import annotations

from .nn import functional as F

__all__ = ["dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
           "feature_alpha_dropout_", "embedding", "batch_norm", "instance_norm",
           "adaptive_max_pool1d", "cdist"]


def dropout(input, p, train):
    """``torch.dropout``: ``F.dropout(input, p, training=train)``."""
    return F.dropout(input, p, train)


def dropout_(input, p, train):
    """In-place :func:`dropout`."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input, p, train):
    """``torch.alpha_dropout``: ``F.alpha_dropout(input, p, training=train)``."""
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train):
    """In-place :func:`alpha_dropout`."""
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input, p, train):
    """``torch.feature_alpha_dropout``: ``F.feature_alpha_dropout(input, p, training=train)``."""
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train):
    """In-place :func:`feature_alpha_dropout`."""
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """``torch.embedding(weight, indices)``: rows of ``weight``; ``padding_idx=-1`` is none."""
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    """``torch.batch_norm`` (ATen order: affine parameters first); ``cudnn_enabled`` is
    accepted and ignored."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                        eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    """``torch.instance_norm`` (ATen order: affine parameters first); ``cudnn_enabled`` is
    accepted and ignored."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def adaptive_max_pool1d(input, output_size):
    """``torch.adaptive_max_pool1d``: ``(values, indices)``, as the ATen op returns both."""
    return F.adaptive_max_pool1d_with_indices(input, output_size)


_MM_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
             "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """``torch.cdist``: the p-norm distance between each row of ``x1`` and each row of ``x2``.

    Args:
        x1: ``(B..., P, M)``; x2: ``(B..., R, M)`` (batch dimensions broadcast).
        p: the norm's order, ``p >= 0`` (``inf`` allowed).
        compute_mode: for ``p == 2``, whether the distances come from one matrix product
            (``|a|^2 + |b|^2 - 2 a.b``: fast, less exact for close points); by default when
            ``P > 25`` or ``R > 25``, as PyTorch does.

    Returns ``(B..., P, R)``. The gradient of a zero distance is zero.
    Example: ``ktrain.cdist(a, b)`` for ``a`` of shape (4, 3) and ``b`` (5, 3) is (4, 5).
    """
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, "
                           f"X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. "
                           f"X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _MM_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == _MM_MODES[0] and (x1.shape[-2] > 25 or x2.shape[-2] > 25))):
        sq = ((x1 * x1).sum(-1).unsqueeze(-1) + (x2 * x2).sum(-1).unsqueeze(-2)
              - 2 * (x1 @ x2.mT))
        pos = sq > 0
        # sqrt's gradient is infinite at 0: those entries take the constant 0 instead
        return sq.clamp(min=1e-30).sqrt() * pos
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)
