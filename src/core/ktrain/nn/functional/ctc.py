"""Connectionist Temporal Classification loss (``F.ctc_loss``).

The wrapper checks the lengths and labels, builds the blank-extended targets and applies
one op, ``ops.ctc._Ctc`` (log-space alpha/beta recursions vectorised over the batch and
the label positions, PyTorch's gradient), then reduces.
"""
from __future__ import annotations

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...ops.ctc import _Ctc, _CtcGradMul  # noqa: F401
from .loss import _int64, _reduction

__all__ = ["ctc_loss"]


def _lengths(x, n, name, xp):
    if isinstance(x, Tensor):
        a = x._data
        if a.dtype.kind not in "iu":
            raise RuntimeError(f"ctc_loss: {name} must be integers, got {x.dtype.name}")
        a = a.astype(_int64).reshape(-1)
        if array_module(a) is not xp:  # lengths may live on another device than log_probs
            a = xp.asarray(a.get() if hasattr(a, "get") else a)
    else:
        a = xp.asarray(np.asarray(x, dtype=np.int64).reshape(-1))
    if a.size != n:
        raise RuntimeError(f"ctc_loss: {name} must have one entry per batch element ({n}), got "
                           f"{a.size}")
    return a


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist Temporal Classification loss.

    Shapes: log_probs ``(T, N, C)`` (log_softmax outputs; unbatched ``(T, C)``), targets
    padded ``(N, S)`` or concatenated 1-D ``(sum(target_lengths),)``, input_lengths and
    target_lengths ``(N,)`` (tensors or sequences). 'mean' divides each loss by its target
    length (at least 1) and averages over the batch; ``zero_infinity`` replaces infinite
    losses (impossible alignments) and their gradients by zero.
    """
    reduction = _reduction(None, None, reduction, "ctc_loss")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        if isinstance(targets, Tensor) and targets.ndim == 1:
            targets = targets.unsqueeze(0)
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape "
                           f"{list(log_probs.shape)}")
    tmax, n, c = log_probs.shape
    lpd = log_probs._data
    xp = array_module(lpd)
    if not 0 <= blank < c:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {c}), got {blank}")
    il = _lengths(input_lengths, n, "input_lengths", xp)
    tl = _lengths(target_lengths, n, "target_lengths", xp)
    if il.size and (int(il.max()) > tmax or int(il.min()) < 0):
        raise RuntimeError(f"ctc_loss: Expected input_lengths to have value at most {tmax} (and "
                           f"non-negative), but got value {int(il.max())}")
    if tl.size and int(tl.min()) < 0:
        raise RuntimeError("ctc_loss: target_lengths must be non-negative")
    td = targets._data if isinstance(targets, Tensor) else xp.asarray(targets)
    if td.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: targets must be integers, got {td.dtype}")
    td = td.astype(_int64, copy=False)
    smax = int(tl.max()) if tl.size else 0
    if td.ndim == 2:
        if td.shape[0] != n or td.shape[1] < smax:
            raise RuntimeError(f"ctc_loss: Expected tensor to have size at least {smax} at "
                               f"dimension 1, but got size {td.shape[1]} for targets of shape "
                               f"{list(td.shape)} (batch {n})")
        lab = td[:, :smax]
    elif td.ndim == 1:
        if td.size != int(tl.sum()):
            raise RuntimeError(f"ctc_loss: concatenated targets have {td.size} labels but "
                               f"target_lengths sum to {int(tl.sum())}")
        starts = xp.cumsum(tl) - tl
        j = xp.arange(smax)[None, :]
        inside = j < tl[:, None]
        lab = xp.where(inside, td[xp.minimum(starts[:, None] + j, max(td.size - 1, 0))]
                       if td.size else 0, 0)
    else:
        raise RuntimeError(f"ctc_loss: targets must be 1-D or 2-D, got shape {list(td.shape)}")
    inside = xp.arange(smax)[None, :] < tl[:, None]
    if smax and bool((inside & ((lab < 0) | (lab >= c))).any()):
        raise RuntimeError(f"ctc_loss: target labels must be in [0, {c})")
    if smax and bool((inside & (lab == blank)).any()):
        raise RuntimeError(f"ctc_loss: targets must not contain the blank label ({blank})")
    # the blank-extended targets: blank, l1, blank, l2, ..., blank (padding becomes blank)
    ext = xp.full((n, 2 * smax + 1), blank, _int64)
    ext[:, 1::2] = xp.where(inside, lab, blank)
    losses = _Ctc.apply(log_probs, ext, tl, il, int(blank), bool(zero_infinity))
    if reduction == "mean":
        div = Tensor._make(xp.maximum(tl, 1).astype(lpd.dtype))
        out = (losses / div).mean()
    elif reduction == "sum":
        out = losses.sum()
    else:
        out = losses
    return out.squeeze(0) if unbatched and reduction == "none" else out
