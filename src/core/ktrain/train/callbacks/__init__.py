"""Callbacks for ktrain.train.Trainer: the protocol (``Callback``) and the built-ins."""
from .base import Callback
from .checkpoint import ModelCheckpoint
from .early_stopping import EarlyStopping
from .grad_monitor import GradientNormMonitor
from .lr_monitor import LearningRateMonitor
from .nan_guard import NaNGuard, NonFiniteLossError
from .plot import PlotCallback
from .progress import ProgressBar
from .timer import Timer

__all__ = [
    "Callback",
    "EarlyStopping",
    "GradientNormMonitor",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "NaNGuard",
    "NonFiniteLossError",
    "PlotCallback",
    "ProgressBar",
    "Timer",
    "default_callbacks",
]


def default_callbacks(callbacks=None, *, enable_progress_bar: bool = True,
                      enable_checkpointing: bool = True, enable_plots: bool = True,
                      enable_nan_guard: bool = True) -> list:
    """``callbacks`` plus the defaults a Trainer adds unless the user gave their own kind:
    a ``NaNGuard`` (first, so it stops a diverged step before any callback saves it), a
    ``ProgressBar``, a ``ModelCheckpoint`` (``last.ckpt`` + latest) and a
    ``PlotCallback``. The user's callbacks come next, in their order."""
    out = list(callbacks or [])
    have = {type(c) for c in out}

    def missing(cls):
        return not any(issubclass(t, cls) for t in have)

    if enable_nan_guard and missing(NaNGuard):
        out.insert(0, NaNGuard(action="stop", check_grads=True))
    if enable_checkpointing and missing(ModelCheckpoint):
        out.append(ModelCheckpoint())
    if enable_plots and missing(PlotCallback):
        out.append(PlotCallback())
    if enable_progress_bar and missing(ProgressBar):
        out.append(ProgressBar())
    return out
