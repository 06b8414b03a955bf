"""``EarlyStopping``: stop ``fit`` when a monitored metric stops improving (Lightning's rules).

At every check (the end of each validation run during ``fit``; the end of each training
epoch when no validation runs, or when ``check_on_train_epoch_end=True``), the latest
value of ``monitor`` in ``trainer.callback_metrics`` goes through, in this order:

1. ``check_finite``: NaN or inf stops at once;
2. ``stopping_threshold``: a value better than it stops (the goal is reached);
3. ``divergence_threshold``: a value worse than it stops (the run diverged);
4. an improvement by more than ``min_delta`` over the best value resets the wait count;
   otherwise the wait count grows and reaching ``patience`` stops.

Stopping sets ``trainer.should_stop = True``; ``stopped_epoch``, ``stopping_reason`` (a
short code) and ``stopping_reason_message`` record why. Example YAML for the CLI::

    callbacks:
      - {name: early_stopping, monitor: val/loss, patience: 5, min_delta: 0.001}
"""
from __future__ import annotations

import logging
import math
import warnings

from ._common import is_fitting, is_sanity_checking, state_key_of, to_float
from .base import Callback

__all__ = ["EarlyStopping"]

_log = logging.getLogger(__name__)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` checks.

    Args:
        monitor: metric name in ``trainer.callback_metrics`` ('val/loss').
        min_delta: the least change that counts as an improvement (its sign is ignored).
        patience: checks without improvement before stopping.
        mode: 'min' (smaller is better) or 'max'.
        check_finite: stop when the metric becomes NaN or infinite.
        stopping_threshold: stop as soon as the metric is better than this.
        divergence_threshold: stop as soon as the metric is worse than this.
        strict: a missing metric is an error (else a warning and no check).
        check_on_train_epoch_end: check at the end of training epochs (True), at the end
            of validation (False), or automatically (None: validation when the fit
            validates).
        verbose: print improvements and the reason for stopping.
    """

    REASONS = ("not_stopped", "non_finite_metric", "stopping_threshold",
               "divergence_threshold", "patience_exhausted")

    def __init__(self, monitor: str = "val/loss", min_delta: float = 0.0, patience: int = 3,
                 mode: str = "min", check_finite: bool = True,
                 stopping_threshold: float | None = None,
                 divergence_threshold: float | None = None, strict: bool = True,
                 check_on_train_epoch_end: bool | None = None, verbose: bool = False):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.mode = mode
        self.check_finite = check_finite
        self.stopping_threshold = stopping_threshold
        self.divergence_threshold = divergence_threshold
        self.strict = strict
        self.check_on_train_epoch_end = check_on_train_epoch_end
        self.verbose = verbose
        self.wait_count = 0
        self.stopped_epoch = 0
        self.best_score = math.inf if mode == "min" else -math.inf
        self.stopping_reason = "not_stopped"
        self.stopping_reason_message: str | None = None
        self._val_runs = 0

    @property
    def state_key(self) -> str:
        return state_key_of(self, monitor=self.monitor, mode=self.mode)

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    # ------------------------------------------------------------------ hooks
    def on_fit_start(self, trainer, task) -> None:
        self._val_runs = 0

    def on_validation_end(self, trainer, task) -> None:
        if not is_fitting(trainer) or is_sanity_checking(trainer):
            return
        self._val_runs += 1
        if not self.check_on_train_epoch_end:
            self._run_check(trainer)

    def on_train_epoch_end(self, trainer, task) -> None:
        if self.check_on_train_epoch_end:
            self._run_check(trainer)
        elif self.check_on_train_epoch_end is None and self._val_runs == 0:
            # no validation in this fit (so far): check training metrics, once they exist
            if self.monitor in (getattr(trainer, "callback_metrics", None) or {}):
                self._run_check(trainer)

    # ------------------------------------------------------------------ logic
    def _run_check(self, trainer) -> None:
        metrics = getattr(trainer, "callback_metrics", None) or {}
        if self.monitor not in metrics:
            available = ", ".join(repr(k) for k in sorted(metrics)) or "none yet"
            msg = (f"EarlyStopping could not find the monitored metric {self.monitor!r} in "
                   f"trainer.callback_metrics (available: {available}). Log it from the "
                   "task or fix the name (strict=False turns this error into a warning).")
            if self.strict:
                raise KeyError(msg)
            warnings.warn(msg, stacklevel=2)
            return
        current = to_float(metrics[self.monitor])
        should_stop, reason, message = self.evaluate(current)
        if message and (self.verbose or should_stop):
            _log.info(message)
            if self.verbose:
                print(message)
        if should_stop:
            self.stopped_epoch = int(trainer.current_epoch)
            self.stopping_reason = reason
            self.stopping_reason_message = message
            trainer.should_stop = True

    def evaluate(self, current: float) -> tuple[bool, str, str | None]:
        """Update the state with a new value; return (should_stop, reason, message)."""
        sym = "<" if self.mode == "min" else ">"
        if self.check_finite and not math.isfinite(current):
            return True, "non_finite_metric", (
                f"Monitored metric {self.monitor} = {current} is not finite. Previous best "
                f"value was {self.best_score:.5g}. Signaling Trainer to stop.")
        if self.stopping_threshold is not None and self._better(current, self.stopping_threshold):
            return True, "stopping_threshold", (
                f"Stopping threshold reached: {self.monitor} = {current:.5g} {sym} "
                f"{self.stopping_threshold}. Signaling Trainer to stop.")
        if self.divergence_threshold is not None and self._better(self.divergence_threshold,
                                                                  current):
            return True, "divergence_threshold", (
                f"Divergence threshold reached: {self.monitor} = {current:.5g} "
                f"{'>' if self.mode == 'min' else '<'} {self.divergence_threshold}. "
                "Signaling Trainer to stop.")
        delta = -self.min_delta if self.mode == "min" else self.min_delta
        if self._better(current - delta, self.best_score):
            if math.isfinite(self.best_score):
                msg = (f"Metric {self.monitor} improved by {abs(self.best_score - current):.5g}"
                       f" >= min_delta = {self.min_delta}. New best score: {current:.5g}")
            else:
                msg = f"Metric {self.monitor} improved. New best score: {current:.5g}"
            self.best_score = current
            self.wait_count = 0
            return False, "not_stopped", msg
        self.wait_count += 1
        if self.wait_count >= self.patience:
            return True, "patience_exhausted", (
                f"Monitored metric {self.monitor} did not improve in the last "
                f"{self.wait_count} records. Best score: {self.best_score:.5g}. Signaling "
                "Trainer to stop.")
        return False, "not_stopped", None

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {"wait_count": self.wait_count, "stopped_epoch": self.stopped_epoch,
                "best_score": self.best_score, "patience": self.patience,
                "stopping_reason": self.stopping_reason}

    def load_state_dict(self, state_dict: dict) -> None:
        self.wait_count = int(state_dict["wait_count"])
        self.stopped_epoch = int(state_dict["stopped_epoch"])
        self.best_score = float(state_dict["best_score"])
        self.patience = int(state_dict.get("patience", self.patience))
        self.stopping_reason = state_dict.get("stopping_reason", self.stopping_reason)
