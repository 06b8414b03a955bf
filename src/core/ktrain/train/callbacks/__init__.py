"""Callbacks for ktrain.train.Trainer."""
from .base import Callback  # noqa: F401
