"""Loss functions (``F.cross_entropy``, ``F.mse_loss``, ``F.ctc_loss`` ...), PyTorch's
names, signatures, reductions and numerics.

``reduction`` is ``'none'`` (per element), ``'mean'`` or ``'sum'``; the legacy
``size_average``/``reduce`` flags are translated as PyTorch does. Cross entropy with
class indices, NLL, BCE, BCE-with-logits, smooth L1 and Huber check their arguments and
apply one fused op of ``ops.loss`` (closed-form backward); the others are compositions
of differentiable ktrain ops. CTC lives in ``ctc.py``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...amp import autocast_mode as _amp
from ...ops.arith import where
from ...ops.loss import _Bce, _BceLogits, _CrossEntropy, _Huber, _Nll, _SmoothL1
from .activation import logsigmoid, softplus
from .distance import pairwise_distance

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
           "huber_loss", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
           "triplet_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "gaussian_nll_loss", "poisson_nll_loss", "hinge_embedding_loss"]

_int64 = np.dtype(np.int64)


# ---------------------------------------------------------------------- reduction helpers


def _legacy_reduction(size_average, reduce, emit_warning=True):
    """PyTorch's translation of the deprecated (size_average, reduce) pair."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    r = ("mean" if size_average else "sum") if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{r}' instead.", stacklevel=3)
    return r


def _reduction(size_average, reduce, reduction, name=""):
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction"
                         + (f" ({name})" if name else ""))
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target, name):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{name}: Using a target size ({target.shape}) that is different to the "
                      f"input size ({input.shape}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)


def _as_tensor(x, ref):
    return x if isinstance(x, Tensor) else ref.new_tensor(x)


# ---------------------------------------------------------------------- class-index losses


def _class_targets(input, target, weight, ignore_index, name):
    """Flatten ``input (N, C, d...)``/``(C,)`` and ``target (N, d...)``/``()`` to
    ``(M, C)`` and ``(M,)``; returns (x2, t, out_shape) where out_shape is the shape of
    the unreduced loss."""
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dimension (C,) or (N, C, ...), "
                         "got a 0-d tensor")
    td = target._data
    if td.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected target of class indices with dtype int64 (long), "
                           f"got {target.dtype.name} (shape {list(target.shape)}); class "
                           "probabilities need a target of the input's shape")
    if input.ndim == 1:
        if td.ndim != 0:
            raise ValueError(f"{name}: for an unbatched input of shape {list(input.shape)} the "
                             f"target must be 0-d, got shape {list(target.shape)}")
        x2, out_shape = input.reshape(1, -1), ()
    else:
        n = input.shape[0]
        if td.ndim == 0 or td.shape[0] != n:
            raise ValueError(f"{name}: Expected input batch_size ({n}) to match target "
                             f"batch_size ({td.shape[0] if td.ndim else 0}) (input shape "
                             f"{list(input.shape)}, target shape {list(target.shape)}).")
        extra = tuple(input.shape[2:])
        if td.shape[1:] != extra:
            raise RuntimeError(f"{name}: Expected target size {[n, *extra]}, got "
                               f"{list(td.shape)} (input shape {list(input.shape)})")
        out_shape = (n,) + extra
        x2 = input if input.ndim == 2 else input.movedim(1, -1).reshape(-1, input.shape[1])
    c = x2.shape[1]
    t = td.reshape(-1).astype(_int64, copy=False)
    if t.size:
        valid = t != ignore_index
        tv = t[valid] if not bool(valid.all()) else t
        if tv.size:
            lo, hi = int(tv.min()), int(tv.max())
            if lo < 0 or hi >= c:
                raise IndexError(f"{name}: Target {lo if lo < 0 else hi} is out of bounds "
                                 f"(input has {c} classes).")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"{name}: weight tensor should be defined either for all {c} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    return x2, t, out_shape


def _probs_cross_entropy(input, target, weight, reduction, label_smoothing):
    """Cross entropy against class probabilities (``target`` of the input's shape)."""
    from ...ops.reduce import log_softmax

    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension")
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    if not target.is_floating_point():
        raise RuntimeError(f"cross_entropy: expected floating point target probabilities when "
                           f"target has the input's shape {list(input.shape)}, got "
                           f"{target.dtype.name}")
    lp = log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    prod = lp * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = c
        prod = prod * weight.reshape(shape)
    loss = -prod.sum(cdim)
    if reduction == "mean":
        n = input.numel() // c if input.ndim > 1 else 1
        return loss.sum() / n
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross entropy between logits and class indices or class probabilities.

    Shapes: input ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)``; target of class
    indices ``(N)``, ``(N, d1, ...)`` or ``()`` (int64), or class probabilities of the
    input's shape. ``weight`` ``(C,)`` rescales each class; with class indices 'mean'
    divides by the summed weight of the non-ignored targets. ``label_smoothing`` mixes
    the target with the uniform distribution: ``(1 - eps) * nll + eps / C * sum_c (-w_c logp_c)``.
    """
    if _amp.ANY_ACTIVE:
        input, weight = _amp.cast_inputs("cross_entropy", input, weight)
    reduction = _reduction(size_average, reduce, reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: "
                         f"{label_smoothing}")
    if not isinstance(target, Tensor):
        raise TypeError(f"cross_entropy: target must be a Tensor, got {type(target).__name__}")
    if tuple(target.shape) == tuple(input.shape) and target.is_floating_point():
        return _probs_cross_entropy(input, target, weight, reduction, float(label_smoothing))
    if not input.is_floating_point():
        raise RuntimeError(f"cross_entropy: expected floating point logits, got "
                           f"{input.dtype.name}")
    x2, t, out_shape = _class_targets(input, target, weight, ignore_index, "cross_entropy")
    w = None if weight is None else weight._data.astype(x2._data.dtype, copy=False)
    out = _CrossEntropy.apply(x2, w, t, int(ignore_index), float(label_smoothing), reduction)
    return out.reshape(out_shape) if reduction == "none" else out


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of log-probabilities ``input`` at class indices ``target``.

    Shapes as ``cross_entropy`` with class indices. 'mean' divides by the summed weight of
    the non-ignored targets.
    """
    if _amp.ANY_ACTIVE:
        input, weight = _amp.cast_inputs("nll_loss", input, weight)
    reduction = _reduction(size_average, reduce, reduction, "nll_loss")
    x2, t, out_shape = _class_targets(input, target, weight, ignore_index, "nll_loss")
    w = None if weight is None else weight._data.astype(x2._data.dtype, copy=False)
    out = _Nll.apply(x2, w, t, int(ignore_index), reduction)
    return out.reshape(out_shape) if reduction == "none" else out


# ---------------------------------------------------------------------- binary


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """``-w (t log x + (1 - t) log(1 - x))`` for probabilities ``input`` in [0, 1]; the logs
    are clamped at -100 so the loss stays finite. Shapes: input and target alike."""
    reduction = _reduction(size_average, reduce, reduction, "binary_cross_entropy")
    target = _as_tensor(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    d = input._data
    if type(d) is np.ndarray and d.size and not ((d >= 0) & (d <= 1)).all():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                           "and 1")
    loss = _Bce.apply(input, target.to(input.dtype))
    return _reduce(_weighted(loss, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """``sigmoid`` + binary cross entropy in one stable expression:
    ``w * ((1 - t) x - (1 + (pos_weight - 1) t) * logsigmoid(x))``.

    Shapes: input and target alike ``(*)``; ``pos_weight`` broadcasts against the last
    dimension (one weight per class) and multiplies the positive term.
    """
    reduction = _reduction(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    target = _as_tensor(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    loss = _BceLogits.apply(input, target.to(input.dtype), pos_weight)
    return _reduce(_weighted(loss, weight), reduction)


# ---------------------------------------------------------------------- regression


def _diff(input, target, name):
    target = _as_tensor(target, input)
    _warn_size(input, target, name)
    return input - target


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Squared error ``(input - target)^2``, reduced."""
    if _amp.ANY_ACTIVE:
        input, target = _amp.cast_inputs("mse_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction, "mse_loss")
    d = _diff(input, target, "mse_loss")
    return _reduce(_weighted(d * d, weight), reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Absolute error ``|input - target|``, reduced (gradient 0 where they are equal)."""
    reduction = _reduction(size_average, reduce, reduction, "l1_loss")
    return _reduce(_weighted(_diff(input, target, "l1_loss").abs(), weight), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic below ``beta``, linear above: ``0.5 d^2 / beta`` if ``|d| < beta`` else
    ``|d| - 0.5 beta`` (``beta=0`` is the L1 loss)."""
    reduction = _reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = _diff(input, target, "smooth_l1_loss")
    if beta == 0.0:
        return _reduce(d.abs(), reduction)
    return _reduce(_SmoothL1.apply(d, float(beta)), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``."""
    reduction = _reduction(None, None, reduction, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = _diff(input, target, "huber_loss")
    return _reduce(_weighted(_Huber.apply(d, float(delta)), weight), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence with ``input`` in log space:
    ``target * (log(target) - input)`` (or ``exp(t) (t - input)`` with ``log_target``).

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematical KL);
    ``'mean'`` divides by the number of elements, as PyTorch (with its warning).
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction (kl_div)")
    target = _as_tensor(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t) without evaluating log(0): 0 (and no gradient) where t == 0
        pos = target > 0
        loss = where(pos, target * where(pos, target, 1.0).log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log likelihood: ``exp(input) - target * input`` (log_input) or
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term for target > 1."""
    reduction = _reduction(size_average, reduce, reduction, "poisson_nll_loss")
    target = _as_tensor(target, input)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        tb = where(big, target, 2.0)  # keeps log() finite where the term is masked out
        st = tb * tb.log() - tb + 0.5 * (2 * math.pi * tb).log()
        loss = loss + where(big, st, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log likelihood ``0.5 (log var + (input - target)^2 / var)``
    (+ ``0.5 log 2 pi`` with ``full``); ``var`` is clamped to ``eps`` for stability (the
    clamp passes the gradient through, as in PyTorch)."""
    reduction = _reduction(None, None, reduction, "gaussian_nll_loss")
    if not isinstance(var, Tensor):
        var = input.new_full(tuple(input.shape), float(var))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size {list(var.shape)} "
                             f"for input of shape {list(input.shape)}")
    vd = var._data
    if bool((vd < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    var_c = var + Tensor._make(array_module(vd).maximum(vd, eps) - vd)  # clamp, straight-through
    d = input - target
    loss = 0.5 * (var_c.log() + d * d / var_c)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------- margins and pairs


def _check_reduction(reduction, name):
    return _reduction(None, None, reduction, name)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` for target 1, ``max(0, cos(x1, x2) - margin)`` for target -1.
    Shapes: inputs ``(N, D)`` or ``(D,)``, target ``(N,)`` or ``()``."""
    reduction = _reduction(size_average, reduce, reduction, "cosine_embedding_loss")
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"cosine_embedding_loss: expected 1-D or 2-D inputs of equal shape, "
                           f"got {list(input1.shape)} and {list(input2.shape)}")
    dim = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    m1 = (input1 * input1).sum(dim) + eps
    m2 = (input2 * input2).sum(dim) + eps
    cos = prod / (m1 * m2).sqrt()
    target = _as_tensor(target, input1)
    pos = where(target == 1, 1.0 - cos, 0.0)
    neg = where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _reduction(size_average, reduce, reduction, "margin_ranking_loss")
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``x`` where target is 1, ``max(0, margin - x)`` where target is -1."""
    reduction = _reduction(size_average, reduce, reduction, "hinge_embedding_loss")
    zero = 0.0
    out_margin = where(target != 1, (margin - input).clamp(min=0.0), zero)
    out_self = where(target != -1, input, zero)
    return _reduce(out_margin + out_self, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``pairwise_distance``; with
    ``swap`` the negative distance is ``min(d(a, n), d(p, n))``."""
    reduction = _reduction(size_average, reduce, reduction, "triplet_margin_loss")
    nd = anchor.ndim
    if not (nd == positive.ndim == negative.ndim) or nd not in (1, 2):
        raise RuntimeError(f"triplet_margin_loss: The anchor, positive, and negative tensors are "
                           f"expected to have the same number of dimensions (1 or 2), but got: "
                           f"anchor {nd}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        from ...ops.arith import minimum

        d_an = minimum(d_an, pairwise_distance(positive, negative, p, eps))
    return _reduce((d_ap - d_an + margin).clamp(min=0.0), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))`` (two-class logistic loss, target in {1, -1})."""
    reduction = _reduction(size_average, reduce, reduction, "soft_margin_loss")
    return _reduce(softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-sample mean over classes of the binary logistic loss:
    ``-(t logsigmoid(x) + (1 - t) logsigmoid(-x))``. Shapes: ``(N, C)``."""
    reduction = _reduction(size_average, reduce, reduction, "multilabel_soft_margin_loss")
    loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)
