"""The evaluation and prediction loops the Trainer owns: ``trainer.validate_loop`` and
``trainer.test_loop`` (:class:`EvaluationLoop`), ``trainer.predict_loop``
(:class:`PredictionLoop`). Each runs in eval mode without gradients and restores the
task's training mode afterwards.
"""
from __future__ import annotations

import itertools
import math

from ..autograd.grad_mode import no_grad
from . import checkpoint as _ckpt
from ._data import BatchChecker, batch_size_of, move_batch, num_batches
from ._loops import note
from ._results import Results

__all__ = ["EvaluationLoop", "PredictionLoop"]

# stage -> (step, start, epoch start, batch end, epoch end, end) hook names
_HOOKS = {"validate": ("validation_step", "on_validation_start", "on_validation_epoch_start",
                       "on_validation_batch_end", "on_validation_epoch_end",
                       "on_validation_end"),
          "test": ("test_step", "on_test_start", "on_test_epoch_start", "on_test_batch_end",
                   "on_test_epoch_end", "on_test_end")}


def _restore_weights(trainer, ckpt_path) -> None:
    path = _ckpt.resolve_checkpoint_path(trainer, ckpt_path)
    if path is not None:
        _ckpt.restore_checkpoint(trainer, _ckpt.load_checkpoint(path), weights_only=True)


class EvaluationLoop:
    """One validation or test epoch (``stage``: 'validate' or 'test'); its
    :class:`Results` live while it runs (``results``)."""

    def __init__(self, trainer, stage: str):
        if stage not in _HOOKS:
            raise ValueError(f"stage must be one of {sorted(_HOOKS)}, got {stage!r}")
        self.trainer, self.stage = trainer, stage
        self.results = None

    def run(self, loader, ckpt_path=None) -> list:
        """``trainer.validate`` / ``trainer.test``: ``[{metric: value}]``."""
        t = self.trainer
        t._hook("setup", self.stage)
        _restore_weights(t, ckpt_path)
        t._prepare_loggers()
        limit = t.limit_val_batches if self.stage == "validate" else t.limit_test_batches
        return [self.run_epoch(loader, num_batches(loader, limit))]

    def run_epoch(self, loader, n, sanity: bool = False) -> dict:
        """``n`` batches of ``loader`` (``math.inf``: all); the epoch's callback values."""
        t, stage = self.trainer, self.stage
        step, start, epoch_start, batch_end, epoch_end, end = _HOOKS[stage]
        task, was_training, prev = t.task, t.task.training, t._results
        res = self.results = t._results = Results("val" if stage == "validate" else "test")
        t.sanity_checking = sanity
        check = BatchChecker(stage)
        task.eval()
        try:
            with no_grad():
                t._hook(start)
                t._hook(epoch_start)
                it = iter(loader)
                for batch_idx in range(n) if n != math.inf else itertools.count():
                    try:
                        batch = next(it)
                    except StopIteration:
                        break
                    except Exception as e:
                        note(e, f"while loading {stage} batch {batch_idx}")
                        raise
                    check(batch, batch_idx)
                    batch = move_batch(batch, t.device)
                    res.in_step, res.batch_size = True, batch_size_of(batch)
                    with t._autocast():
                        out = getattr(task, step)(batch, batch_idx)
                    t._hook(batch_end, out, batch, batch_idx)
                    res.in_step = False
                    t._check_interrupt()
                getattr(task, epoch_end)()
                values = res.epoch_values()
                if not sanity:
                    t._publish(values)
                for cb in t.callbacks:
                    fn = getattr(cb, epoch_end, None)
                    if fn is not None:
                        fn(t, task)
                t._hook(end)
        finally:
            t.sanity_checking = False
            task.train(was_training)
            t._results, self.results = prev, None
        return values[1]


class PredictionLoop:
    """``trainer.predict``: ``predict_step`` over a loader, its outputs one per batch."""

    def __init__(self, trainer):
        self.trainer = trainer

    def run(self, loader, ckpt_path=None) -> list:
        t = self.trainer
        task = t.task
        t._hook("setup", "predict")
        _restore_weights(t, ckpt_path)
        was_training, outputs = task.training, []
        n = num_batches(loader, t.limit_predict_batches)
        check = BatchChecker("predict")
        task.eval()
        try:
            with no_grad():
                t._hook("on_predict_start")
                for batch_idx, batch in enumerate(loader):
                    if batch_idx >= n:
                        break
                    check(batch, batch_idx)
                    with t._autocast():
                        outputs.append(task.predict_step(move_batch(batch, t.device),
                                                         batch_idx))
                    t._check_interrupt()
                t._hook("on_predict_end")
        finally:
            task.train(was_training)
        return outputs
