"""What ``Task.log`` records during a loop, its reduction to step and epoch values, and
the Trainer's metric dicts.

One :class:`Results` per loop (training; each validation or test run). A value logged
with ``on_epoch`` accumulates ``sum(value * batch_size)`` and ``sum(batch_size)``, so
the epoch value is the batch-size-weighted mean over the epoch (exact for per-sample
means such as losses, whatever the size of the last batch). A ``ktrain.metrics.Metric``
logged as the value is reduced by its own ``compute()`` at epoch end (then reset).

No device sync per ``self.log``: a logged tensor is kept as its (device) array and turned
into a Python float only when something reads it: the loggers at ``log_every_n_steps``,
the epoch reduction, a checkpoint, or a callback reading ``trainer.callback_metrics``
(:class:`MetricStore` converts on access). Pending arrays are converted together, with
one transfer per array module; the arithmetic is the float64 arithmetic of Python floats
(``total += float(value) * batch_size`` in logging order), so every number is the same
as if each value had been converted when it was logged.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..metrics import Metric

__all__ = ["Results", "MetricStore", "to_float", "as_float"]

# pending epoch values are folded into the running sums at least this often
_MAX_PENDING = 256


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


def _scalar(name: str, value):
    """A logged value without a device sync: a Python float, or the 0-d array of a scalar
    tensor. The array is copied (on its device, no sync) unless it is an op's own fresh
    output: a leaf, a no-grad result or a view (of a parameter, say) could be written to
    before it is read, and the value logged is the value at the time of the call."""
    if isinstance(value, Metric):
        value = value.compute()
    if not isinstance(value, Tensor):
        return to_float(name, value)
    arr = value._data
    if arr.size != 1:
        raise ValueError(f"self.log({name!r}, ...): expected a scalar, got a tensor of "
                         f"shape {tuple(value.shape)}")
    if arr.ndim:
        arr = arr.reshape(())
    return arr if value.grad_fn is not None and arr.base is None else arr.copy()


def as_float(value) -> float:
    """A value kept by :func:`_scalar` as a Python float (the one conversion point)."""
    return value if type(value) is float else float(value.item())


def _floats(values: list) -> list:
    """``[as_float(v) for v in values]`` with one transfer per array type and dtype."""
    out = list(values)
    groups = {}
    for i, v in enumerate(out):
        if type(v) is not float:
            groups.setdefault((type(v), v.dtype), []).append(i)
    for idx in groups.values():
        xp = B.array_module(out[idx[0]])
        stacked = xp.stack([out[i] for i in idx])
        for i, f in zip(idx, stacked.astype(xp.float64).tolist()):
            out[i] = f
    return out


class _Entry:
    __slots__ = ("on_step", "on_epoch", "prog_bar", "logger", "total", "weight", "last",
                 "fresh", "metric", "pending", "counts")

    def __init__(self, on_step, on_epoch, prog_bar, logger):
        self.on_step, self.on_epoch = on_step, on_epoch
        self.prog_bar, self.logger = prog_bar, logger
        self.total = 0.0
        self.weight = 0.0
        self.last = None      # a float or a 0-d array (converted when read)
        self.fresh = False
        self.metric = None
        self.pending = []     # epoch values not yet in ``total`` (floats or 0-d arrays)
        self.counts = []      # their weights


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
                e.last, e.fresh = _scalar(name, value), True
            return
        v = _scalar(name, value)
        e.last, e.fresh = v, True
        if on_epoch:
            n = batch_size if batch_size is not None else \
                (self.batch_size if self.in_step and self.batch_size else 1)
            e.pending.append(v)
            e.counts.append(n)
            if len(e.pending) >= _MAX_PENDING:
                self._fold([e])
        e.prog_bar |= bool(prog_bar)

    def _fold(self, entries) -> None:
        """Add the pending epoch values of ``entries`` to their running sums."""
        entries = [e for e in entries if e.pending]
        if not entries:
            return
        values = _floats([v for e in entries for v in e.pending])
        i = 0
        for e in entries:
            total, weight = e.total, e.weight
            for n in e.counts:
                total += values[i] * n
                weight += n
                i += 1
            e.total, e.weight = total, weight
            e.pending, e.counts = [], []

    def step_values(self, convert: bool = True):
        """``(logger, callback, progress bar)`` dicts of the on_step values logged since the
        last call; both-step-and-epoch names get a ``_step`` suffix for loggers. With
        ``convert=False`` the values stay as logged (floats or 0-d arrays) and there is
        no logger dict."""
        fresh = [(name, e) for name, e in self.entries.items() if e.fresh and e.on_step]
        if convert and fresh:
            lasts = _floats([e.last for _, e in fresh])
            for (_, e), v in zip(fresh, lasts):
                e.last = v
        to_log, to_cb, to_bar = {}, {}, {}
        for name, e in fresh:
            e.fresh = False
            to_cb[name] = e.last
            if convert and e.logger:
                to_log[name + "_step" if e.on_epoch else name] = e.last
            if e.prog_bar:
                to_bar[name] = e.last
        return to_log, to_cb, to_bar

    def epoch_values(self):
        """``(logger, callback, progress bar)`` dicts of the epoch-reduced values (Metrics are
        computed and reset); both-step-and-epoch names get ``_epoch`` for loggers."""
        self._fold(self.entries.values())
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
        entries = [e for e in self.entries.values() if e.metric is None]
        self._fold(entries)
        lasts = _floats([e.last for e in entries if e.last is not None])[::-1]
        for e in entries:
            if e.last is not None:
                e.last = lasts.pop()
        return {name: {"on_step": e.on_step, "on_epoch": e.on_epoch, "prog_bar": e.prog_bar,
                       "logger": e.logger, "total": e.total, "weight": e.weight, "last": e.last}
                for name, e in self.entries.items() if e.metric is None}

    def load_state_dict(self, state: dict) -> None:
        self.entries.clear()
        for name, d in state.items():
            e = self.entries[name] = _Entry(d["on_step"], d["on_epoch"], d["prog_bar"],
                                            d["logger"])
            e.total, e.weight, e.last = float(d["total"]), float(d["weight"]), d["last"]


class MetricStore:
    """The Trainer's ``callback_metrics``, ``progress_bar_metrics`` and ``logged_metrics``
    (plain dicts of name -> float). Values published without conversion wait in a
    pending dict and are converted, all at once, when the dict is read."""

    __slots__ = ("_callback", "_bar", "logged", "_pending_cb", "_pending_bar")

    def __init__(self):
        self._callback, self._bar, self.logged = {}, {}, {}
        self._pending_cb, self._pending_bar = {}, {}

    @staticmethod
    def _flush(target: dict, pending: dict) -> dict:
        if pending:
            values = _floats(list(pending.values()))
            target.update(zip(pending, values))
            pending.clear()
        return target

    @property
    def callback(self) -> dict:
        return self._flush(self._callback, self._pending_cb)

    @callback.setter
    def callback(self, value: dict) -> None:
        self._callback, self._pending_cb = value, {}

    @property
    def progress_bar(self) -> dict:
        return self._flush(self._bar, self._pending_bar)

    @progress_bar.setter
    def progress_bar(self, value: dict) -> None:
        self._bar, self._pending_bar = value, {}

    def clear(self) -> None:
        for d in (self._callback, self._bar, self.logged, self._pending_cb, self._pending_bar):
            d.clear()

    def publish(self, values, step: int, epoch: int, loggers=(), to_loggers: bool = True):
        """Record ``(to_log, to_cb, to_bar)``; ``to_log`` (floats) goes to the loggers."""
        to_log, to_cb, to_bar = values
        self._pending_cb.update(to_cb)
        self._pending_bar.update(to_bar)
        if to_log and to_loggers:
            metrics = dict(to_log, epoch=epoch)
            self.logged.update(metrics)
            for lg in loggers:
                lg.log_metrics(metrics, step)
