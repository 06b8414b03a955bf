"""Metric loggers for ktrain.train.Trainer: the protocol (``Logger``) and the built-ins."""
from .base import Logger
from .csv_logger import CSVLogger
from .jsonl import JSONLLogger, read_jsonl
from .plots import plot_metrics, read_metrics
from .tensorboard import TensorBoardLogger, read_scalars, tensorboard_available

__all__ = [
    "CSVLogger",
    "JSONLLogger",
    "Logger",
    "TensorBoardLogger",
    "default_loggers",
    "plot_metrics",
    "read_jsonl",
    "read_metrics",
    "read_scalars",
    "tensorboard_available",
]


def default_loggers(log_dir, tensorboard: bool | None = None) -> list[Logger]:
    """The loggers of a run directory: CSV and JSONL, plus TensorBoard when tensorboardX is
    installed (``tensorboard=None``; True requires it, False leaves it out)."""
    loggers: list[Logger] = [CSVLogger(log_dir), JSONLLogger(log_dir)]
    if tensorboard or (tensorboard is None and tensorboard_available()):
        loggers.append(TensorBoardLogger(log_dir))
    return loggers
