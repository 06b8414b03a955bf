"""Metric loggers for ktrain.train.Trainer."""
from .base import Logger  # noqa: F401
