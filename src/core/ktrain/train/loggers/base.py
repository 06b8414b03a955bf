"""The logger protocol of ``ktrain.train.Trainer``: metrics go to every logger given."""
from __future__ import annotations

__all__ = ["Logger"]


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
