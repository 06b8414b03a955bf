"""Regression metrics: MeanSquaredError (RMSE with ``squared=False``), MeanAbsoluteError."""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .metric import Metric, as_tensor, to_array

__all__ = ["MeanSquaredError", "MeanAbsoluteError"]


def _diff(preds, target, name):
    p, t = to_array(preds), to_array(target)
    B.check_same_device(name, (p, t))
    if p.shape != t.shape:
        raise ValueError(f"{name}: preds and target must have the same shape, got "
                         f"{tuple(p.shape)} and {tuple(t.shape)}")
    # float64 sums: the result does not depend on how the data was split into batches
    return p.astype(np.float64) - t.astype(np.float64)


class MeanSquaredError(Metric):
    """mean((preds - target)^2); its square root with ``squared=False`` (RMSE)."""

    higher_is_better = False

    def __init__(self, squared: bool = True):
        super().__init__()
        self.squared = bool(squared)
        self.add_state("sum_squared_error", np.zeros((), np.float64))
        self.add_state("total", np.zeros((), np.int64))

    def update(self, preds, target) -> None:
        d = _diff(preds, target, type(self).__name__)
        self._bind(d)
        self.sum_squared_error = self.sum_squared_error + (d * d).sum()
        self.total = self.total + d.size

    def compute(self):
        xp = B.array_module(self.sum_squared_error)
        mse = self.sum_squared_error / self.total if int(self.total) else xp.asarray(np.nan)
        return as_tensor(mse if self.squared else xp.sqrt(mse))


class MeanAbsoluteError(Metric):
    """mean(|preds - target|)."""

    higher_is_better = False

    def __init__(self):
        super().__init__()
        self.add_state("sum_abs_error", np.zeros((), np.float64))
        self.add_state("total", np.zeros((), np.int64))

    def update(self, preds, target) -> None:
        d = _diff(preds, target, type(self).__name__)
        xp = self._bind(d)
        self.sum_abs_error = self.sum_abs_error + xp.abs(d).sum()
        self.total = self.total + d.size

    def compute(self):
        xp = B.array_module(self.sum_abs_error)
        return as_tensor(self.sum_abs_error / self.total if int(self.total) else xp.asarray(np.nan))
