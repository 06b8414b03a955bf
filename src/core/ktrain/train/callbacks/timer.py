"""``Timer``: measure the time spent per stage and stop ``fit`` after a wall-clock budget.

The budget counts the whole training stage (validation inside ``fit`` included) from
``on_train_start``; time spent before a resume is carried in the checkpoint
(``state_dict``), so a run resumed from ``last`` stops when the *total* is used up.
The check runs after every training batch (``interval='step'``) or epoch ('epoch');
training then stops as ``trainer.should_stop`` does (after the current batch/epoch).
"""
from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

from .base import Callback

__all__ = ["Timer"]

_log = logging.getLogger(__name__)
_STAGES = ("train", "validate", "test", "predict")


def parse_duration(duration) -> float | None:
    """Seconds in ``duration``: 'DD:HH:MM:SS', a dict of ``timedelta`` keywords, a
    ``timedelta``, a number of seconds, or None."""
    if duration is None:
        return None
    if isinstance(duration, str):
        m = re.fullmatch(r"(\d+):(\d\d):(\d\d):(\d\d)", duration.strip())
        if not m:
            raise ValueError(f"Timer(duration={duration!r}) is not a valid duration: expected "
                             "a string 'DD:HH:MM:SS' such as '00:12:00:00' (12 hours)")
        d, h, mi, s = (int(g) for g in m.groups())
        duration = timedelta(days=d, hours=h, minutes=mi, seconds=s)
    elif isinstance(duration, dict):
        try:
            duration = timedelta(**duration)
        except TypeError as e:
            raise ValueError(f"Timer(duration={duration!r}): {e}; use timedelta keywords "
                             "(days, hours, minutes, seconds ...)") from None
    elif isinstance(duration, (int, float)) and not isinstance(duration, bool):
        duration = timedelta(seconds=duration)
    if not isinstance(duration, timedelta):
        raise TypeError(f"Timer: duration must be a 'DD:HH:MM:SS' string, a dict, a timedelta "
                        f"or seconds, got {type(duration).__name__}")
    return duration.total_seconds()


class Timer(Callback):
    """Track time per stage; stop training when ``duration`` is exceeded.

    Args:
        duration: maximum training time: '00:12:00:00', ``{'hours': 12}``,
            ``timedelta(hours=12)``, seconds, or None (only measure).
        interval: check after every 'step' (training batch) or every 'epoch'.
        verbose: print a line when the limit is reached.

    Example: ``Timer(duration="00:00:30:00")`` stops after 30 minutes of training.
    """

    def __init__(self, duration=None, interval: str = "step", verbose: bool = True):
        if interval not in ("step", "epoch"):
            raise ValueError(f"Timer: interval must be 'step' or 'epoch', got {interval!r}")
        self._duration = parse_duration(duration)
        self.interval = interval
        self.verbose = verbose
        self._start: dict[str, float | None] = dict.fromkeys(_STAGES)
        self._end: dict[str, float | None] = dict.fromkeys(_STAGES)
        self._offset = 0.0
        self.stopped = False

    @property
    def duration(self) -> float | None:
        """The budget in seconds (None: no limit)."""
        return self._duration

    def start_time(self, stage: str = "train") -> float | None:
        """``time.monotonic()`` at the start of ``stage`` (None before it started)."""
        return self._start[stage]

    def end_time(self, stage: str = "train") -> float | None:
        return self._end[stage]

    def time_elapsed(self, stage: str = "train") -> float:
        """Seconds spent in ``stage`` ('train' includes time before a resume)."""
        start, end = self._start[stage], self._end[stage]
        offset = self._offset if stage == "train" else 0.0
        if start is None:
            return offset
        if end is None:
            return time.monotonic() - start + offset
        return end - start + offset

    def time_remaining(self, stage: str = "train") -> float | None:
        if self._duration is None:
            return None
        return self._duration - self.time_elapsed(stage)

    # ------------------------------------------------------------------ hooks
    def _begin(self, stage):
        self._start[stage] = time.monotonic()
        self._end[stage] = None

    def _finish(self, stage):
        self._end[stage] = time.monotonic()

    def on_train_start(self, trainer, task) -> None:
        self._begin("train")

    def on_train_end(self, trainer, task) -> None:
        self._finish("train")

    def on_validation_start(self, trainer, task) -> None:
        self._begin("validate")

    def on_validation_end(self, trainer, task) -> None:
        self._finish("validate")

    def on_test_start(self, trainer, task) -> None:
        self._begin("test")

    def on_test_end(self, trainer, task) -> None:
        self._finish("test")

    def on_predict_start(self, trainer, task) -> None:
        self._begin("predict")

    def on_predict_end(self, trainer, task) -> None:
        self._finish("predict")

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx: int) -> None:
        if self.interval == "step":
            self._check(trainer)

    def on_train_epoch_end(self, trainer, task) -> None:
        if self.interval == "epoch":
            self._check(trainer)

    def _check(self, trainer) -> None:
        if self._duration is None:
            return
        elapsed = self.time_elapsed("train")
        if elapsed >= self._duration:
            trainer.should_stop = True
            if not self.stopped:
                self.stopped = True
                msg = (f"Time limit reached. Elapsed time is {timedelta(seconds=int(elapsed))} "
                       f"(limit {timedelta(seconds=int(self._duration))}). Signaling Trainer "
                       "to stop.")
                _log.info(msg)
                if self.verbose and getattr(trainer, "is_global_zero", True):
                    print(msg)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {"time_elapsed": {s: self.time_elapsed(s) for s in _STAGES}}

    def load_state_dict(self, state_dict: dict) -> None:
        self._offset = float((state_dict.get("time_elapsed") or {}).get("train", 0.0))
