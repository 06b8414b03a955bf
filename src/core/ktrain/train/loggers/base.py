"""The logger protocol of ``ktrain.train.Trainer``: metrics go to every logger given."""
from __future__ import annotations

from pathlib import Path

__all__ = ["Logger", "DirLogger"]


class Logger:
    """Base class for metric loggers (CSV, JSONL, TensorBoard ...)."""

    name: str = "logger"

    @property
    def log_dir(self):
        """Directory this logger writes into (the run directory by default)."""
        return getattr(self, "_log_dir", None)

    def log_hyperparams(self, params: dict) -> None:
        """Record the run's configuration/hyper-parameters once at fit start."""

    def log_metrics(self, metrics: dict, step: int) -> None:
        """Record float metrics (already reduced) at global step ``step``."""
        raise NotImplementedError

    def save(self) -> None:
        """Flush buffered records to disk (called at epoch ends and before checkpoints)."""

    def finalize(self, status: str) -> None:
        """Close files; ``status`` is 'success', 'failed' or 'interrupted'."""


class DirLogger(Logger):
    """A logger writing into a directory the Trainer assigns (``log_dir``)."""

    _log_dir = None

    @property
    def log_dir(self):
        return self._log_dir

    @log_dir.setter
    def log_dir(self, value) -> None:
        self._log_dir = Path(value) if value is not None else None

    def _in_log_dir(self, name) -> Path:
        """``log_dir / name``, or a clear error when no directory was given yet."""
        if self._log_dir is None:
            cls = type(self).__name__
            raise RuntimeError(f"{cls}: no log_dir; pass {cls}(log_dir=...) or let the "
                               "Trainer set it")
        return self._log_dir / name
