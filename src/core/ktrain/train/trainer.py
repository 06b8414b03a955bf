"""``Trainer``: runs a :class:`~ktrain.train.Task` (fit, validate, test, predict).

The Trainer holds the configuration and the run's state; the loops are objects it owns
(``fit_loop``, ``validate_loop``, ``test_loop``, ``predict_loop``, in ``_fit_loop.py``
and ``_evaluation_loop.py``), the counters and resume position one
:class:`~ktrain.train._progress.Progress` (``trainer.progress``, what checkpoints
store), the metric dicts one :class:`~ktrain.train._results.MetricStore`.

The fit loop, per training batch: ``on_train_batch_start`` -> ``training_step`` under
autocast -> backward of ``loss / accumulate_grad_batches`` (scaled by the GradScaler)
-> ``on_after_backward``; every ``accumulate_grad_batches`` batches (and at the epoch's
last) for each optimizer: unscale -> ``on_before_optimizer_step`` -> clip -> step (the
scaler skips it on inf/NaN gradients) -> zero_grad; then ``global_step += 1`` and the
'step' schedulers; ``on_train_batch_end``; validation when due; the periodic checkpoint.
At epoch end: ``Task.on_train_epoch_end`` -> epoch metrics reduced (so callbacks see
them) -> 'epoch' schedulers -> callbacks' ``on_train_epoch_end`` -> ``current_epoch += 1``.
Validation/test epochs end the same way: the task's hook, the reduction, the callbacks.

Callbacks see (the contract with ``ktrain.train.callbacks``): ``current_epoch``,
``global_step`` (optimizer steps), ``batch_idx``, ``callback_metrics`` /
``logged_metrics`` / ``progress_bar_metrics`` (name -> float; logged tensors are
converted when these are read, not at every step), ``should_stop``,
``optimizers``, ``lr_schedulers`` (scheduler objects) and ``lr_scheduler_configs``
(dicts with 'scheduler', 'interval', 'frequency', 'monitor'), ``scaler``, ``loggers``,
``callbacks``, ``log_dir`` / ``default_root_dir`` / ``checkpoint_dir``, ``max_epochs``,
``max_steps``, ``num_training_batches``, ``num_val_batches``, ``precision``, ``state``
('fitting', 'validating', 'testing', 'predicting', 'finished', 'interrupted'),
``sanity_checking``, ``is_global_zero``, ``save_checkpoint(path)`` and ``task``.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import warnings

from .. import _backend as B
from .._threads import threads_policy
from ..amp import autocast
from . import checkpoint as _ckpt
from ._evaluation_loop import EvaluationLoop, PredictionLoop
from ._fit_loop import FitLoop
from ._loops import note
from ._profiling import check_kind as check_profiler
from ._progress import Progress
from ._results import MetricStore
from ._state import DeferredInterrupt, seed_everything
from .task import Task

__all__ = ["Trainer"]

_PRECISION = {"32": "32", "32-true": "32", "16-mixed": "16-mixed", "16": "16-mixed",
              "bf16-mixed": "bf16-mixed", "bf16": "bf16-mixed"}


class Trainer:
    """Fits, validates, tests and predicts with a :class:`~ktrain.train.Task`.

    Args:
        max_epochs / max_steps: stop after so many epochs / optimizer steps (both unset:
            1000 epochs; ``max_epochs=-1``: no epoch limit).
        device: 'cpu', 'cuda', 'cuda:1' or 'auto'.
        precision: '32', '16-mixed' (float16 autocast + dynamic loss scaling) or
            'bf16-mixed' (bfloat16 autocast; on CPU through ml_dtypes).
        grad_scaler: None (a GradScaler for '16-mixed' only), True/False, or a GradScaler.
        accumulate_grad_batches: batches per optimizer step (losses divided by it).
        gradient_clip_val / gradient_clip_algorithm: clip the unscaled gradients by total
            'norm' or by 'value' before each optimizer step.
        val_check_interval: a fraction of the epoch (float) or a number of batches (int)
            between validations; check_val_every_n_epoch: validate every n epochs (None:
            count an int interval across epochs).
        log_every_n_steps: send step values to the loggers every n optimizer steps.
        callbacks, loggers: lists (``loggers`` None/True: CSV + JSONL when available; False:
            none). enable_progress_bar / enable_checkpointing add the default progress bar
            and ModelCheckpoint, enable_plots the end-of-fit PNG plots (when the
            callbacks package provides them).
        enable_nan_guard: add a ``NaNGuard`` (unless one is given) that stops the fit
            with ``NonFiniteLossError`` (naming the epoch, step and loss) at the first
            NaN/inf loss or gradient, before the optimizer applies it, so no NaN weights
            are saved as ``last.ckpt``. ``False``: train on, as PyTorch would.
        default_root_dir: the run directory (default ``./ktrain_logs``): checkpoints go to
            its ``checkpoints/`` folder.
        seed: ``seed_everything(seed)`` at the start of ``fit``.
        deterministic: accepted for compatibility; CPU runs are always deterministic.
        limit_{train,val,test,predict}_batches: a fraction or a number of batches.
        num_sanity_val_steps: validation batches run before training (-1: all).
        checkpoint_every_n_steps: write ``checkpoints/last.ckpt`` every n optimizer steps.
        config: the run config, stored in checkpoints and given to loggers.
        num_threads: BLAS threads while the Trainer runs: 'auto' (default: the cores
            other processes leave free when the run starts, kept for the whole run and
            stored in checkpoints, so a resume continues with the same count and the same
            numerics; a count the user fixed for the process is kept), a positive int, or
            None (leave the process's setting alone). See ``ktrain._threads``.
        profiler: None, 'simple' (the phases of each step: data, training_step, backward,
            optimizer_step) or 'advanced' (the phases and every op, with shapes, memory
            and modules): a few steps of the fit are profiled and the tables and a
            Chrome trace written to ``<default_root_dir>/profile/`` (see
            ``ktrain.train._profiling``).

    Example::

        trainer = Trainer(max_epochs=10, precision="bf16-mixed", default_root_dir="runs/a")
        trainer.fit(task, train_loader, val_loader)            # ckpt_path="last" resumes
        trainer.test(task, test_loader)
    """

    is_global_zero = True
    global_rank = local_rank = 0
    world_size = 1

    def __init__(self, max_epochs=None, max_steps=-1, device="cpu", precision="32",
                 accumulate_grad_batches=1, gradient_clip_val=None,
                 gradient_clip_algorithm="norm", val_check_interval=1.0,
                 check_val_every_n_epoch=1, log_every_n_steps=50, callbacks=None, loggers=None,
                 default_root_dir=None, seed=None, deterministic=False,
                 enable_progress_bar=True, enable_checkpointing=True, limit_train_batches=None,
                 limit_val_batches=None, limit_test_batches=None, limit_predict_batches=None,
                 num_sanity_val_steps=0, checkpoint_every_n_steps=None, grad_scaler=None,
                 enable_plots=True, config=None, num_threads="auto", enable_nan_guard=True,
                 profiler=None):
        if max_epochs is None:
            max_epochs = 1000 if max_steps in (None, -1) else -1
        self.max_epochs = int(max_epochs)
        self.max_steps = -1 if max_steps is None else int(max_steps)
        for key, v in (("max_epochs", self.max_epochs), ("max_steps", self.max_steps)):
            if v < -1:  # Lightning's rule: a negative count other than -1 trained forever
                raise ValueError(f"{key} must be an int >= 0 or -1 (no limit), got {v}")
        if device == "auto":
            from .. import cuda
            device = "cuda" if cuda.is_available() else "cpu"
        self.device = B.as_device(device)
        if str(precision) not in _PRECISION:
            raise ValueError(f"precision must be one of {sorted(set(_PRECISION))}, got "
                             f"{precision!r}")
        self.precision = _PRECISION[str(precision)]
        if not isinstance(accumulate_grad_batches, int) or accumulate_grad_batches < 1:
            raise ValueError(f"accumulate_grad_batches must be an int >= 1, got "
                             f"{accumulate_grad_batches!r}")
        self.accumulate_grad_batches = accumulate_grad_batches
        if gradient_clip_algorithm not in ("norm", "value"):
            raise ValueError(f"gradient_clip_algorithm must be 'norm' or 'value', got "
                             f"{gradient_clip_algorithm!r}")
        self.gradient_clip_val = gradient_clip_val
        self.gradient_clip_algorithm = gradient_clip_algorithm
        ok = (isinstance(val_check_interval, float) and 0 < val_check_interval <= 1) or \
            (isinstance(val_check_interval, int) and not isinstance(val_check_interval, bool)
             and val_check_interval >= 1)
        if not ok:
            raise ValueError(f"val_check_interval must be a float in (0, 1] (fraction of an epoch) "
                             f"or an int >= 1 (batches), got {val_check_interval!r}")
        self.val_check_interval = val_check_interval
        self.check_val_every_n_epoch = check_val_every_n_epoch
        self.log_every_n_steps = max(1, int(log_every_n_steps))
        self.default_root_dir = os.path.abspath(os.fspath(default_root_dir) if default_root_dir
                                                is not None else "ktrain_logs")
        self.seed, self.deterministic = seed, deterministic
        self.limit_train_batches, self.limit_val_batches = limit_train_batches, limit_val_batches
        self.limit_test_batches = limit_test_batches
        self.limit_predict_batches = limit_predict_batches
        self.num_sanity_val_steps = num_sanity_val_steps
        self.checkpoint_every_n_steps = checkpoint_every_n_steps
        self._grad_scaler_arg, self.config = grad_scaler, config
        self.num_threads = num_threads
        self._threads = threads_policy(num_threads)   # checks the value now
        self.profiler = check_profiler(profiler)
        self._fit_profiler = None  # the FitProfiler of the running fit
        self.callbacks = list(callbacks or [])
        self.loggers = self._make_loggers(loggers)
        self._add_default_callbacks(enable_progress_bar, enable_checkpointing, enable_plots,
                                    enable_nan_guard)
        # run state: the counters in one place, the loops own only their own
        self.task = None
        self.state = "initializing"
        self.progress = Progress()
        self.should_stop = self.sanity_checking = self.interrupted = False
        self._metrics = MetricStore()
        self.optimizers, self.lr_scheduler_configs, self.scaler = [], [], None
        self.num_training_batches, self.num_val_batches = None, 0
        self.train_dataloader = self.val_dataloaders = None  # set by fit
        self._results = None  # the Results that Task.log writes to (the running loop's)
        self._resumed_from = None  # the checkpoint file the current fit resumed from
        self._autocast_dtype = None
        self._interrupt = DeferredInterrupt()
        self.fit_loop = FitLoop(self)
        self.validate_loop = EvaluationLoop(self, "validate")
        self.test_loop = EvaluationLoop(self, "test")
        self.predict_loop = PredictionLoop(self)

    # ------------------------------------------------------------------ defaults
    def _make_loggers(self, loggers):
        if loggers is False:
            return []
        if loggers is None or loggers is True:
            from .loggers import default_loggers

            return list(default_loggers(self.default_root_dir))
        return list(loggers) if isinstance(loggers, (list, tuple)) else [loggers]

    def _add_default_callbacks(self, progress_bar, checkpointing, plots, nan_guard=True):
        try:
            from . import callbacks as pkg
        except ImportError:
            return
        factory = getattr(pkg, "default_callbacks", None)
        if factory is not None:
            self.callbacks = list(factory(self.callbacks, enable_progress_bar=progress_bar,
                                          enable_checkpointing=checkpointing,
                                          enable_plots=plots,
                                          enable_nan_guard=nan_guard))
            return
        for wanted, name in ((checkpointing, "ModelCheckpoint"), (progress_bar, "ProgressBar")):
            cls = getattr(pkg, name, None)
            if wanted and cls and not any(isinstance(cb, cls) for cb in self.callbacks):
                self.callbacks.append(cls())

    # ------------------------------------------------------------------ properties
    @property
    def current_epoch(self) -> int:
        """Epochs completed (``progress.current_epoch``)."""
        return self.progress.current_epoch

    @current_epoch.setter
    def current_epoch(self, value: int) -> None:
        self.progress.current_epoch = value

    @property
    def global_step(self) -> int:
        """Optimizer steps taken (``progress.global_step``)."""
        return self.progress.global_step

    @global_step.setter
    def global_step(self, value: int) -> None:
        self.progress.global_step = value

    @property
    def batch_idx(self) -> int:
        """The train batch being processed, counted in its epoch."""
        return self.progress.batch_idx

    @batch_idx.setter
    def batch_idx(self, value: int) -> None:
        self.progress.batch_idx = value

    @property
    def callback_metrics(self) -> dict:
        """Latest value of every logged name (floats, converted on this read)."""
        return self._metrics.callback

    @callback_metrics.setter
    def callback_metrics(self, value: dict) -> None:
        self._metrics.callback = value

    @property
    def progress_bar_metrics(self) -> dict:
        """The values logged with ``prog_bar=True`` (floats, converted on this read)."""
        return self._metrics.progress_bar

    @progress_bar_metrics.setter
    def progress_bar_metrics(self, value: dict) -> None:
        self._metrics.progress_bar = value

    @property
    def logged_metrics(self) -> dict:
        """The values last sent to the loggers."""
        return self._metrics.logged

    @logged_metrics.setter
    def logged_metrics(self, value: dict) -> None:
        self._metrics.logged = value

    @property
    def log_dir(self) -> str:
        """The run directory (metrics, plots, ``checkpoints/``)."""
        return self.default_root_dir

    @property
    def checkpoint_dir(self) -> str:
        return os.path.join(self.default_root_dir, "checkpoints")

    @property
    def logger(self):
        return self.loggers[0] if self.loggers else None

    @property
    def lr_schedulers(self) -> list:
        return [c["scheduler"] for c in self.lr_scheduler_configs]

    @property
    def estimated_stepping_batches(self):
        """Optimizer steps the fit will take (for OneCycleLR's ``total_steps``)."""
        if self.max_steps >= 0:
            return self.max_steps
        n = self.num_training_batches
        if n is None or n == math.inf or self.max_epochs < 0:
            return math.inf
        return self.max_epochs * math.ceil(n / self.accumulate_grad_batches)

    # ------------------------------------------------------------------ hooks
    def _hook(self, name, *args, task_first=False):
        fn = getattr(self.task, name, None)
        if task_first and fn is not None:
            fn(*args)
        for cb in self.callbacks:
            cfn = getattr(cb, name, None)
            if cfn is not None:
                cfn(self, self.task, *args)
        if not task_first and fn is not None:
            fn(*args)

    def _publish(self, values, to_loggers=True):
        p = self.progress
        self._metrics.publish(values, p.global_step, p.current_epoch, self.loggers, to_loggers)

    def _check_interrupt(self):
        if self._interrupt.requested:
            raise KeyboardInterrupt

    # ------------------------------------------------------------------ public API
    def fit(self, task, train_loader, val_loader=None, ckpt_path=None, config=None):
        """Train ``task`` on ``train_loader`` (validating on ``val_loader``).

        ``ckpt_path``: None, 'last' (``<default_root_dir>/checkpoints/last.ckpt`` or
        ``interrupted.ckpt``, whichever is newer) or a path: the run continues exactly
        where that checkpoint was taken, mid-epoch included.
        """
        if config is not None:
            self.config = config
        if self.seed is not None:
            seed_everything(self.seed)
        self._begin(task, "fitting")
        # the loader's worker processes will share the cores with BLAS ('auto' threads)
        self._threads.workers = int(getattr(train_loader, "num_workers", 0) or 0)
        return self._run("fit", self.fit_loop.run, train_loader, val_loader, ckpt_path)

    def validate(self, task, loader, ckpt_path=None):
        """Run the validation loop; returns ``[{metric: value}]``. ``ckpt_path`` loads weights."""
        self._begin(task, "validating")
        return self._run("validate", self.validate_loop.run, loader, ckpt_path)

    def test(self, task, loader, ckpt_path=None):
        """Run the test loop (``test_step``); returns ``[{metric: value}]``."""
        self._begin(task, "testing")
        return self._run("test", self.test_loop.run, loader, ckpt_path)

    def predict(self, task, loader, ckpt_path=None):
        """``predict_step`` over ``loader`` in eval mode without gradients: a list of its
        outputs, one per batch."""
        self._begin(task, "predicting")
        return self._run("predict", self.predict_loop.run, loader, ckpt_path)

    def save_checkpoint(self, path, weights_only: bool = False) -> str:
        """Write a checkpoint of the current state to ``path`` (atomically)."""
        if self.task is None:
            raise RuntimeError("save_checkpoint: no task is attached (call fit first)")
        return _ckpt.save_checkpoint(self, path, weights_only)

    # ------------------------------------------------------------------ run plumbing
    def _begin(self, task, state):
        if not isinstance(task, Task):
            raise TypeError(f"the Trainer runs a ktrain.train.Task, got {type(task).__name__} "
                            "(wrap a model in ClassificationTask/RegressionTask or subclass Task)")
        self.task, task.trainer = task, self
        self.state, self.should_stop, self.interrupted = state, False, False
        task.to(self.device)
        self._autocast_dtype = {"16-mixed": B.float16, "bf16-mixed": B.bfloat16}.get(self.precision)

    def _autocast(self):
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        return autocast(self.device.type, dtype=self._autocast_dtype)

    def _run(self, stage, fn, *args):
        status = "failed"
        try:
            with self._interrupt, self._threads:
                out = fn(*args)
            status = "success"
            return out
        except KeyboardInterrupt as exc:
            status, self.interrupted = "interrupted", True
            self._on_exception(exc)
            if stage == "fit" and self.optimizers:
                self._save_interrupted(exc)
            raise
        except BaseException as exc:
            self._on_exception(exc)
            raise
        finally:
            self.state = "finished" if status == "success" else status
            self._results = None
            failing = status != "success"
            self._safely(lambda: self._hook("teardown", stage), "teardown", failing)
            if stage != "predict":
                for lg in self.loggers:
                    self._safely(lambda lg=lg: lg.finalize(status), "logger.finalize", failing)

    @staticmethod
    def _safely(fn, what, failing):
        """Run ``fn``; while another exception propagates, its errors only warn."""
        if not failing:
            return fn()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - the original exception matters more
            warnings.warn(f"{what} raised {type(e).__name__}: {e}", stacklevel=3)

    def _on_exception(self, exc):
        for cb in self.callbacks:
            fn = getattr(cb, "on_exception", None)
            if fn is not None:
                self._safely(lambda fn=fn: fn(self, self.task, exc), "on_exception", True)

    def _save_interrupted(self, exc):
        path = os.path.join(self.checkpoint_dir, "interrupted.ckpt")
        if self.progress.dirty:
            warnings.warn(f"interrupted inside train batch {self.batch_idx}: the checkpoint "
                          "holds a partly processed batch and may not resume exactly",
                          stacklevel=3)
        try:
            self.save_checkpoint(path)
        except Exception as e:  # noqa: BLE001
            warnings.warn(f"could not save {path} after the interrupt: {e}", stacklevel=3)
            return
        msg = (f"ktrain: training interrupted at epoch {self.current_epoch}, step "
               f"{self.global_step}; checkpoint saved to {path} (resume with "
               "trainer.fit(..., ckpt_path='last'))")
        print(msg, file=sys.stderr, flush=True)
        note(exc, msg)

    def _prepare_loggers(self):
        for lg in self.loggers:
            if getattr(lg, "log_dir", None) is None:
                try:
                    lg.log_dir = self.log_dir
                except AttributeError:  # a read-only property over _log_dir (Logger's)
                    lg._log_dir = self.log_dir
