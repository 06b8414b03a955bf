"""What ``Task.log`` records during a loop, and its reduction to step and epoch values.

One :class:`Results` per loop (training; each validation or test run). A value logged
with ``on_epoch`` accumulates ``sum(value * batch_size)`` and ``sum(batch_size)``, so
the epoch value is the batch-size-weighted mean over the epoch (exact for per-sample
means such as losses, whatever the size of the last batch). A ``ktrain.metrics.Metric``
logged as the value is reduced by its own ``compute()`` at epoch end (then reset).
"""
from __future__ import annotations

import numbers

import numpy as np

from .._tensor import Tensor
from ..metrics import Metric

__all__ = ["Results", "to_float"]


def to_float(name: str, value) -> float:
    """A logged value as a Python float (one-element tensors and numpy scalars too)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"self.log({name!r}, ...): expected a scalar, got a tensor of "
                             f"shape {tuple(value.shape)}")
        return float(value.detach().item())
    if isinstance(value, Metric):
        return float(to_float(name, value.compute()))
    if isinstance(value, (numbers.Number, np.number, np.ndarray)):
        arr = np.asarray(value)
        if arr.size != 1:
            raise ValueError(f"self.log({name!r}, ...): expected a scalar, got an array of "
                             f"shape {arr.shape}")
        return float(arr.reshape(()))
    raise TypeError(f"self.log({name!r}, ...): cannot log a value of type "
                    f"{type(value).__name__} (a number, scalar tensor or Metric is expected)")


class _Entry:
    __slots__ = ("on_step", "on_epoch", "prog_bar", "logger", "total", "weight", "last",
                 "fresh", "metric")

    def __init__(self, on_step, on_epoch, prog_bar, logger):
        self.on_step, self.on_epoch = on_step, on_epoch
        self.prog_bar, self.logger = prog_bar, logger
        self.total = 0.0
        self.weight = 0.0
        self.last = None
        self.fresh = False
        self.metric = None


class Results:
    """Values logged during one loop. ``stage``: 'train', 'val', 'test' or 'predict'."""

    def __init__(self, stage: str):
        self.stage = stage
        self.entries: dict[str, _Entry] = {}
        self.batch_size = None  # of the current batch, set by the trainer
        self.in_step = False  # inside a *_step / batch hook (vs an epoch-level hook)

    def log(self, name, value, on_step=None, on_epoch=None, prog_bar=False, batch_size=None,
            logger=True):
        if not isinstance(name, str) or not name:
            raise ValueError(f"self.log: the name must be a non-empty string, got {name!r}")
        train_step = self.stage == "train" and self.in_step
        on_step = train_step if on_step is None else bool(on_step)
        on_epoch = (not train_step) if on_epoch is None else bool(on_epoch)
        if on_step and not self.in_step:
            raise ValueError(f"self.log({name!r}, on_step=True) is only possible inside a step "
                             f"or batch hook, not in an epoch-level hook")
        if not (on_step or on_epoch):
            raise ValueError(f"self.log({name!r}): on_step and on_epoch are both False")
        e = self.entries.get(name)
        if e is None:
            e = self.entries[name] = _Entry(on_step, on_epoch, bool(prog_bar), bool(logger))
        elif (e.on_step, e.on_epoch) != (on_step, on_epoch):
            raise ValueError(f"self.log({name!r}) was called with on_step={e.on_step}, "
                             f"on_epoch={e.on_epoch} before and now with on_step={on_step}, "
                             f"on_epoch={on_epoch} in the same loop")
        if isinstance(value, Metric):
            e.metric = value
            if on_step:
                e.last, e.fresh = to_float(name, value), True
            return
        v = to_float(name, value)
        e.last, e.fresh = v, True
        if on_epoch:
            n = batch_size if batch_size is not None else \
                (self.batch_size if self.in_step and self.batch_size else 1)
            e.total += v * n
            e.weight += n
        e.prog_bar |= bool(prog_bar)

    def step_values(self):
        """``(logger, callback, progress bar)`` dicts of the on_step values logged since the
        last call; both-step-and-epoch names get a ``_step`` suffix for loggers."""
        to_log, to_cb, to_bar = {}, {}, {}
        for name, e in self.entries.items():
            if not (e.fresh and e.on_step):
                continue
            e.fresh = False
            to_cb[name] = e.last
            if e.logger:
                to_log[name + "_step" if e.on_epoch else name] = e.last
            if e.prog_bar:
                to_bar[name] = e.last
        return to_log, to_cb, to_bar

    def epoch_values(self):
        """``(logger, callback, progress bar)`` dicts of the epoch-reduced values (Metrics are
        computed and reset); both-step-and-epoch names get ``_epoch`` for loggers."""
        to_log, to_cb, to_bar = {}, {}, {}
        for name, e in self.entries.items():
            if not e.on_epoch:
                continue
            if e.metric is not None:
                v = to_float(name, e.metric.compute())
                e.metric.reset()
            elif e.weight > 0:
                v = e.total / e.weight
            else:
                continue
            to_cb[name] = v
            if e.logger:
                to_log[name + "_epoch" if e.on_step else name] = v
            if e.prog_bar:
                to_bar[name] = v
        return to_log, to_cb, to_bar

    def reset(self):
        self.entries.clear()

    def state_dict(self) -> dict:
        """Running sums of the epoch so far (Metrics keep their own states)."""
        return {name: {"on_step": e.on_step, "on_epoch": e.on_epoch, "prog_bar": e.prog_bar,
                       "logger": e.logger, "total": e.total, "weight": e.weight, "last": e.last}
                for name, e in self.entries.items() if e.metric is None}

    def load_state_dict(self, state: dict) -> None:
        self.entries.clear()
        for name, d in state.items():
            e = self.entries[name] = _Entry(d["on_step"], d["on_epoch"], d["prog_bar"],
                                            d["logger"])
            e.total, e.weight, e.last = float(d["total"]), float(d["weight"]), d["last"]
