"""Small helpers shared by the built-in callbacks (not public API)."""
from __future__ import annotations

from pathlib import Path

__all__ = ["to_float", "log_to_loggers", "is_fitting", "is_global_zero",
           "is_sanity_checking", "run_dir", "state_key_of"]


def to_float(value) -> float:
    """A metric value (Tensor, numpy scalar, Python number) as a Python float."""
    item = getattr(value, "item", None)
    if item is not None:
        value = item()
    return float(value)


def log_to_loggers(trainer, metrics: dict, step: int) -> None:
    """Send ``metrics`` to every logger of the trainer (rank 0 only)."""
    if not metrics or not is_global_zero(trainer):
        return
    for logger in getattr(trainer, "loggers", None) or ():
        logger.log_metrics(dict(metrics), step)


def is_fitting(trainer) -> bool:
    return getattr(trainer, "state", "fitting") == "fitting"


def is_global_zero(trainer) -> bool:
    return bool(getattr(trainer, "is_global_zero", True))


def is_sanity_checking(trainer) -> bool:
    return bool(getattr(trainer, "sanity_checking", False))


def run_dir(trainer) -> Path:
    """The run directory: ``trainer.log_dir``, else ``default_root_dir``, else the cwd."""
    d = getattr(trainer, "log_dir", None) or getattr(trainer, "default_root_dir", None) or "."
    return Path(d)


def state_key_of(obj, **fields) -> str:
    """A checkpoint key that tells apart several instances of one callback class."""
    return f"{type(obj).__qualname__}{fields!r}"
