"""The loops of :class:`~ktrain.train.Trainer` and what they share.

The Trainer owns one loop object per kind of run (Lightning 2 / MMEngine's shape):
``trainer.fit_loop`` (:class:`~ktrain.train._fit_loop.FitLoop`: epochs, batches,
optimizer steps, schedulers, the validation schedule), ``trainer.validate_loop`` and
``trainer.test_loop`` (:class:`~ktrain.train._evaluation_loop.EvaluationLoop`) and
``trainer.predict_loop`` (:class:`~ktrain.train._evaluation_loop.PredictionLoop`). The
loops keep only loop-local state; the counters and the resume position are
``trainer.progress`` (:class:`~ktrain.train._progress.Progress`). This module holds
what they share: ``configure_optimizers()``'s parsing and error notes.
"""
from __future__ import annotations

from ..optim.lr_scheduler import ReduceLROnPlateau
from ..optim.optimizer import Optimizer

__all__ = ["parse_optimizers", "note", "FitLoop", "EvaluationLoop", "PredictionLoop"]


def note(exc, msg) -> None:
    """Add ``msg`` to the notes of ``exc`` (shown under its traceback)."""
    if hasattr(exc, "add_note"):
        exc.add_note(msg)


_note = note  # the former private name


def parse_optimizers(out):
    """``configure_optimizers()``'s result as (optimizers, scheduler configs)."""
    def sched_cfg(s):
        cfg = dict(s) if isinstance(s, dict) else {"scheduler": s}
        if "scheduler" not in cfg:
            raise ValueError(f"a scheduler config dict needs a 'scheduler' key, got {sorted(cfg)}")
        cfg.setdefault("interval", "epoch")
        cfg.setdefault("frequency", 1)
        cfg.setdefault("monitor", None)
        cfg.setdefault("strict", True)
        if cfg["interval"] not in ("epoch", "step"):
            raise ValueError(f"scheduler 'interval' must be 'epoch' or 'step', got "
                             f"{cfg['interval']!r}")
        if isinstance(cfg["scheduler"], ReduceLROnPlateau) and cfg["monitor"] is None:
            raise ValueError("ReduceLROnPlateau needs a metric: configure_optimizers() must give "
                             "{'scheduler': ..., 'monitor': 'val/loss'}")
        return cfg

    def one(d):
        if "optimizer" not in d:
            raise ValueError(f"configure_optimizers() dicts need an 'optimizer' key, got "
                             f"{sorted(d)}")
        s = d.get("lr_scheduler")
        return [d["optimizer"]], ([] if s is None else [sched_cfg(s)])

    if isinstance(out, Optimizer):
        opts, scheds = [out], []
    elif isinstance(out, dict):
        opts, scheds = one(out)
    elif isinstance(out, (list, tuple)) and len(out) == 2 and \
            all(isinstance(x, (list, tuple)) for x in out):
        opts, scheds = list(out[0]), [sched_cfg(s) for s in out[1]]
    elif isinstance(out, (list, tuple)) and out and all(isinstance(x, dict) for x in out):
        opts, scheds = [], []
        for d in out:
            o, s = one(d)
            opts += o
            scheds += s
    elif isinstance(out, (list, tuple)):
        opts, scheds = list(out), []
    else:
        raise TypeError(f"configure_optimizers() returned {type(out).__name__}; expected an "
                        "optimizer, a list, (optimizers, schedulers) or a dict with 'optimizer'")
    bad = [o for o in opts if not isinstance(o, Optimizer)]
    if bad or not opts:
        raise TypeError(f"configure_optimizers() must give ktrain optimizers, got "
                        f"{[type(o).__name__ for o in (bad or opts)]}")
    return opts, scheds



def __getattr__(name):  # the loop classes import this module: give them lazily
    if name == "FitLoop":
        from ._fit_loop import FitLoop
        return FitLoop
    if name in ("EvaluationLoop", "PredictionLoop"):
        from . import _evaluation_loop
        return getattr(_evaluation_loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
