"""``Task``: what to train, as a Module with step functions (Lightning's LightningModule).

A task bundles the model with what a Trainer needs to train it: ``training_step`` (returns
the loss), ``validation_step`` / ``test_step`` / ``predict_step``, and
``configure_optimizers``. ``self.log`` records metrics; the Trainer reduces them per
step and per epoch and hands them to callbacks and loggers. For supervised
classification and regression, :class:`ClassificationTask` and :class:`RegressionTask`
give all of it from a model, a loss name and metric names.

Example::

    class MyTask(ktrain.train.Task):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train/loss", loss, prog_bar=True)
            return loss

        def configure_optimizers(self):
            opt = ktrain.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
            return {"optimizer": opt,
                    "lr_scheduler": {"scheduler": StepLR(opt, 10), "interval": "epoch"}}

    ktrain.train.Trainer(max_epochs=5).fit(MyTask(), train_loader, val_loader)
"""
from __future__ import annotations

import warnings

from ..nn.module import Module

__all__ = ["Task", "ClassificationTask", "RegressionTask"]


class Task(Module):
    """Base class of trainable tasks; subclass it and override the steps you need.

    Steps (called by the Trainer, gradients enabled only in ``training_step``):

    * ``training_step(batch, batch_idx)``: a loss tensor, a dict with ``'loss'``, or None
      to skip the batch;
    * ``validation_step`` / ``test_step``: anything (passed to callbacks as ``outputs``);
    * ``predict_step(batch, batch_idx)``: the prediction (default: ``self(inputs)``);
    * ``configure_optimizers()``: an optimizer; a list of them; ``(optimizers,
      schedulers)``; or ``{'optimizer': opt, 'lr_scheduler': sched or {'scheduler': s,
      'interval': 'epoch' | 'step', 'frequency': 1, 'monitor': 'val/loss'}}`` (or a
      list of such dicts).

    Hooks with the names of the callback hooks (``on_train_epoch_start()``,
    ``on_validation_epoch_end()``, ``on_save_checkpoint(checkpoint)`` ...) are called
    too, without the ``trainer, task`` arguments. ``self.trainer`` is the Trainer running
    the task (None outside).
    """

    def __init__(self):
        super().__init__()
        object.__setattr__(self, "_trainer", None)

    # ------------------------------------------------------------------ trainer link
    @property
    def trainer(self):
        """The Trainer running this task (None when it is not being run)."""
        return self.__dict__.get("_trainer")

    @trainer.setter
    def trainer(self, trainer):
        object.__setattr__(self, "_trainer", trainer)

    def __getstate__(self):  # copies and pickles do not drag the trainer along
        state = super().__getstate__()
        state["_trainer"] = None
        return state

    @property
    def current_epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer is not None else 0

    @property
    def global_step(self) -> int:
        return self.trainer.global_step if self.trainer is not None else 0

    @property
    def device(self):
        """Device of the first parameter (the Trainer's device while it runs)."""
        for p in self.parameters():
            return p.device
        from .. import _backend as B
        return B.as_device("cpu")

    # ------------------------------------------------------------------ logging
    def log(self, name: str, value, on_step=None, on_epoch=None, prog_bar: bool = False,
            batch_size=None, logger: bool = True) -> None:
        """Record a scalar metric under ``name``.

        Defaults: in ``training_step`` (and train batch hooks) the value is logged per
        step (``on_step=True, on_epoch=False``); elsewhere (validation/test steps, epoch
        hooks) it is reduced over the epoch (``on_epoch=True``). The epoch value is the
        batch-size-weighted mean (``batch_size`` defaults to the leading dimension of the
        batch's first tensor); a ``ktrain.metrics.Metric`` as ``value`` is reduced by its
        ``compute()`` and reset. When both ``on_step`` and ``on_epoch``, loggers receive
        ``name_step`` and ``name_epoch``; ``trainer.callback_metrics[name]`` holds the
        latest value. ``prog_bar`` shows it in the progress bar; ``logger=False`` keeps
        it from the loggers. A tensor is not read at the call (no device sync per step):
        it becomes a float when the loggers, the epoch reduction or a callback reading
        ``trainer.callback_metrics`` need it, with the value it had at the call.
        """
        trainer = self.trainer
        results = getattr(trainer, "_results", None)
        if results is None:
            warnings.warn(f"{type(self).__name__}.log({name!r}) called outside a Trainer "
                          "loop: the value is ignored", stacklevel=2)
            return
        results.log(name, value, on_step=on_step, on_epoch=on_epoch, prog_bar=prog_bar,
                    batch_size=batch_size, logger=logger)

    def log_dict(self, dictionary: dict, on_step=None, on_epoch=None, prog_bar: bool = False,
                 batch_size=None, logger: bool = True) -> None:
        """``self.log`` for each item of ``dictionary``."""
        for k, v in dictionary.items():
            self.log(k, v, on_step=on_step, on_epoch=on_epoch, prog_bar=prog_bar,
                     batch_size=batch_size, logger=logger)

    # ------------------------------------------------------------------ steps
    def training_step(self, batch, batch_idx: int):
        raise NotImplementedError(f"{type(self).__name__} must implement training_step(batch, "
                                  "batch_idx) to be fitted")

    def validation_step(self, batch, batch_idx: int):
        raise NotImplementedError(f"{type(self).__name__} must implement validation_step(batch, "
                                  "batch_idx) to be validated")

    def test_step(self, batch, batch_idx: int):
        raise NotImplementedError(f"{type(self).__name__} must implement test_step(batch, "
                                  "batch_idx) to be tested")

    def predict_step(self, batch, batch_idx: int):
        """``self(x)`` where ``x`` is the batch or its first element."""
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        return self(x)

    def configure_optimizers(self):
        raise NotImplementedError(f"{type(self).__name__} must implement configure_optimizers()")

    def configure_callbacks(self):
        """Callbacks this task needs (added to the Trainer's at fit)."""
        return []

    # ------------------------------------------------------------------ hooks (no-ops)
    def setup(self, stage: str) -> None: ...
    def teardown(self, stage: str) -> None: ...
    def on_fit_start(self) -> None: ...
    def on_fit_end(self) -> None: ...
    def on_train_start(self) -> None: ...
    def on_train_end(self) -> None: ...
    def on_train_epoch_start(self) -> None: ...
    def on_train_epoch_end(self) -> None: ...
    def on_train_batch_start(self, batch, batch_idx: int) -> None: ...
    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None: ...
    def on_after_backward(self) -> None: ...
    def on_before_optimizer_step(self, optimizer) -> None: ...
    def on_validation_start(self) -> None: ...
    def on_validation_end(self) -> None: ...
    def on_validation_epoch_start(self) -> None: ...
    def on_validation_epoch_end(self) -> None: ...
    def on_validation_batch_end(self, outputs, batch, batch_idx: int) -> None: ...
    def on_test_start(self) -> None: ...
    def on_test_end(self) -> None: ...
    def on_test_epoch_start(self) -> None: ...
    def on_test_epoch_end(self) -> None: ...
    def on_test_batch_end(self, outputs, batch, batch_idx: int) -> None: ...
    def on_predict_start(self) -> None: ...
    def on_predict_end(self) -> None: ...
    def on_save_checkpoint(self, checkpoint: dict) -> None: ...
    def on_load_checkpoint(self, checkpoint: dict) -> None: ...


from ._supervised import ClassificationTask, RegressionTask  # noqa: E402
