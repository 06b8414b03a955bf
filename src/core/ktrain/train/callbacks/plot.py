"""``PlotCallback``: write the run's PNG plots (loss, metrics, learning rate) after ``fit``.

It flushes the trainer's loggers, then calls ``ktrain.train.loggers.plot_metrics`` on the
directory of the JSONL (or CSV) logger, or ``trainer.log_dir``. It also plots after a
failed fit (``on_exception``), where the curves show what went wrong. Plotting never
fails a run: without matplotlib (the ``plots`` extra) the PNGs are skipped with one notice
naming ``pip install "ktrain[plots]"``; a plotting error becomes a warning.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from ._common import is_global_zero, run_dir
from .base import Callback

__all__ = ["PlotCallback"]


class PlotCallback(Callback):
    """Plot loss/metric/learning-rate curves at the end of ``fit``.

    Args:
        log_dir: the directory with ``metrics.jsonl``/``metrics.csv`` (default: the JSONL
            or CSV logger's directory, else ``trainer.log_dir``).
        out_dir: where the PNGs go (default: the same directory).
        plot_on_exception: also plot when ``fit`` fails.

    ``paths`` lists the files written by the last call.
    """

    def __init__(self, log_dir=None, out_dir=None, plot_on_exception: bool = True):
        self.log_dir = log_dir
        self.out_dir = out_dir
        self.plot_on_exception = plot_on_exception
        self.paths: list[Path] = []

    def _source_dir(self, trainer) -> Path:
        if self.log_dir is not None:
            return Path(self.log_dir)
        for wanted in ("jsonl", "csv"):
            for lg in getattr(trainer, "loggers", None) or ():
                if getattr(lg, "name", None) == wanted and lg.log_dir is not None:
                    return Path(lg.log_dir)
        return run_dir(trainer)

    def plot(self, trainer) -> list[Path]:
        if not is_global_zero(trainer):
            return []
        for lg in getattr(trainer, "loggers", None) or ():
            try:
                lg.save()
            except Exception:  # a logger that cannot flush should not stop the plots
                pass
        from .._matplotlib import PlotsNotInstalled, notify_skipped
        from ..loggers.plots import plot_metrics

        try:
            self.paths = plot_metrics(self._source_dir(trainer), self.out_dir)
        except PlotsNotInstalled:
            notify_skipped(["loss.png", "metrics.png", "lr.png"])
            self.paths = []
        except Exception as e:  # noqa: BLE001 - plots are a convenience, never fatal
            warnings.warn(f"PlotCallback: plotting failed: {type(e).__name__}: {e}",
                          stacklevel=2)
            self.paths = []
        return self.paths

    def on_fit_end(self, trainer, task) -> None:
        self.plot(trainer)

    def on_exception(self, trainer, task, exception: BaseException) -> None:
        if self.plot_on_exception:
            self.plot(trainer)
