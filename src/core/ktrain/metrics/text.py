"""Language-model metrics: Perplexity."""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .metric import Metric, as_tensor, to_array

__all__ = ["Perplexity"]


class Perplexity(Metric):
    """exp(mean negative log-likelihood of the targets) (``torchmetrics.text.Perplexity``).

    ``preds``: logits (..., V) (a log-softmax is applied over the last dimension);
    ``target``: token ids (...). Positions whose target equals ``ignore_index`` are left
    out. The sum of log-probabilities is kept in float64, so batches combine exactly.
    """

    higher_is_better = False

    def __init__(self, ignore_index: int | None = None):
        super().__init__()
        if ignore_index is not None and not isinstance(ignore_index, int):
            raise ValueError(f"ignore_index must be None or an int, got {ignore_index!r}")
        self.ignore_index = ignore_index
        self.add_state("total_log_probs", np.zeros((), np.float64))
        self.add_state("count", np.zeros((), np.int64))

    def update(self, preds, target) -> None:
        name = type(self).__name__
        p, t = to_array(preds), to_array(target)
        B.check_same_device(name, (p, t))
        if p.ndim != t.ndim + 1 or p.shape[:-1] != t.shape:
            raise ValueError(f"{name}: expected preds (..., V) and target (...) with the same "
                             f"leading shape, got {tuple(p.shape)} and {tuple(t.shape)}")
        if p.dtype.kind != "f":
            raise ValueError(f"{name}: preds must be floating logits, got {p.dtype}")
        xp = self._bind(p)
        V = p.shape[-1]
        p = p.reshape(-1, V)
        if p.dtype.itemsize < 4:
            p = p.astype(np.float32)
        t = t.reshape(-1).astype(np.int64)
        valid = None if self.ignore_index is None else t != self.ignore_index
        if valid is not None:
            t = xp.where(valid, t, 0)  # any in-range id; masked out below
        if t.size and bool(((t < 0) | (t >= V)).any()):
            raise ValueError(f"{name}: target ids must lie in [0, {V - 1}]")
        m = p.max(1)
        lse = xp.log(xp.exp(p - m[:, None]).sum(1)) + m  # logsumexp per row
        logp = (xp.take_along_axis(p, t[:, None], 1)[:, 0] - lse).astype(np.float64)
        if valid is not None:
            logp = xp.where(valid, logp, 0.0)
            n = valid.sum(dtype=np.int64)
        else:
            n = t.size
        self.total_log_probs = self.total_log_probs - logp.sum()
        self.count = self.count + n

    def compute(self):
        xp = B.array_module(self.total_log_probs)
        return as_tensor(xp.exp(self.total_log_probs / self.count) if int(self.count)
                         else xp.asarray(np.nan))
