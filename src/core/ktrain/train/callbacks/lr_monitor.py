"""``LearningRateMonitor``: log every optimizer's learning rate (Lightning's names).

Names: ``lr-<OptimizerClass>`` for one param group; ``lr-<OptimizerClass>/pg<i>``
(1-based) when an optimizer has several groups, or ``/<name>`` when the group has a
``'name'``; a second optimizer of the same class is ``lr-<OptimizerClass>-1``. With
``log_momentum`` also ``<lr name>-momentum`` (``betas[0]`` for Adam-like optimizers), with
``log_weight_decay`` ``<lr name>-weight_decay``.

With ``logging_interval='step'`` the values are logged at the start of every
``trainer.log_every_n_steps``-th optimizer step, at ``step = trainer.global_step + 1``:
the learning rate the coming step uses, under the number that step will have, which is
the step the Trainer logs that step's loss at (one row per step in metrics.csv); with
``'epoch'`` at the start of every epoch, at ``step = trainer.global_step``.
"""
from __future__ import annotations

from collections import defaultdict

from ._common import log_to_loggers, to_float
from .base import Callback

__all__ = ["LearningRateMonitor"]


class LearningRateMonitor(Callback):
    """Log learning rates (and optionally momentum, weight decay) to the trainer's loggers.

    Args:
        logging_interval: 'step' (default; ``None`` means the same) or 'epoch'.
        log_momentum: also log momentum (or ``betas[0]``).
        log_weight_decay: also log weight decay.

    ``lrs`` keeps every logged value per name (a list), for inspection.
    """

    def __init__(self, logging_interval: str | None = "step", log_momentum: bool = False,
                 log_weight_decay: bool = False):
        if logging_interval not in (None, "step", "epoch"):
            raise ValueError("LearningRateMonitor: logging_interval must be 'step', 'epoch' "
                             f"or None, got {logging_interval!r}")
        self.logging_interval = logging_interval or "step"
        self.log_momentum = log_momentum
        self.log_weight_decay = log_weight_decay
        self.lrs: dict[str, list[float]] = defaultdict(list)
        self._last_step_logged = None

    def on_train_start(self, trainer, task) -> None:
        if not getattr(trainer, "optimizers", None):
            raise RuntimeError("LearningRateMonitor: the trainer has no optimizers, so there "
                               "is no learning rate to monitor")
        self._last_step_logged = None

    def on_train_batch_start(self, trainer, task, batch, batch_idx: int) -> None:
        if self.logging_interval != "step":
            return
        step = trainer.global_step + 1  # the number of the step this batch leads to
        if step == self._last_step_logged:  # several batches per step (accumulation)
            return
        every = getattr(trainer, "log_every_n_steps", 1) or 1
        if step % every:
            return
        self._last_step_logged = step
        self._log(trainer, step)

    def on_train_epoch_start(self, trainer, task) -> None:
        if self.logging_interval == "epoch":
            self._log(trainer, trainer.global_step)

    def _log(self, trainer, step: int) -> None:
        values = self.extract(trainer.optimizers)
        for k, v in values.items():
            self.lrs[k].append(v)
        log_to_loggers(trainer, values, step)

    def extract(self, optimizers) -> dict[str, float]:
        """The current values, by name, for a list of optimizers."""
        out = {}
        seen_types: dict[type, int] = defaultdict(int)
        for opt in optimizers:
            cls = type(opt)
            name = "lr-" + cls.__name__
            if seen_types[cls]:
                name = f"{name}-{seen_types[cls]}"
            seen_types[cls] += 1
            groups = opt.param_groups
            for i, group in enumerate(groups):
                key = name
                if len(groups) > 1:
                    key = f"{name}/{group.get('name', f'pg{i + 1}')}"
                elif group.get("name"):
                    key = f"{name}/{group['name']}"
                out[key] = to_float(group["lr"])
                if self.log_momentum:
                    if "betas" in group:
                        out[f"{key}-momentum"] = to_float(group["betas"][0])
                    else:
                        out[f"{key}-momentum"] = to_float(group.get("momentum", 0.0))
                if self.log_weight_decay:
                    out[f"{key}-weight_decay"] = to_float(group.get("weight_decay", 0.0))
        return out
