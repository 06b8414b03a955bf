"""``FitLoop``: the training loop the Trainer owns (``trainer.fit_loop``).

Epochs, batches, backward with gradient accumulation, the optimizer step (unscale, clip,
step, zero_grad), the schedulers and the validation schedule. The loop keeps only its
own state (the train :class:`~ktrain.train._results.Results`); the counters and the
resume position live in ``trainer.progress``, the configuration on the Trainer.
"""
from __future__ import annotations

import math
import os
import warnings

from .._tensor import Tensor
from ..amp import GradScaler
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ..optim.lr_scheduler import ReduceLROnPlateau
from . import checkpoint as _ckpt
from ._data import BatchChecker, batch_size_of, move_batch, num_batches, skip_iter
from ._loops import note, parse_optimizers
from ._profiling import FitProfiler, phase
from ._results import Results
from ._state import capture_epoch_start, restore_epoch_start, restore_rng
from .task import Task

__all__ = ["FitLoop"]


class FitLoop:
    """Runs ``trainer.fit``: epochs of train batches, validating when due."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.results = Results("train")
        self.batch_loss = None  # the running batch's loss (callbacks may read it)

    # ------------------------------------------------------------------ the fit
    def run(self, train_loader, val_loader, ckpt_path):
        t = self.trainer
        task, progress = t.task, t.progress
        t._hook("setup", "fit")
        if val_loader is not None and type(task).validation_step is Task.validation_step:
            warnings.warn(f"{type(task).__name__} does not implement validation_step: the "
                          "val_loader is not used", stacklevel=4)
            val_loader = None
        extra = task.configure_callbacks() or []
        t.callbacks += [cb for cb in extra if all(cb is not c for c in t.callbacks)]
        # Lightning's names: callbacks reach the data (a dataset's classes ...) through them
        t.train_dataloader, t.val_dataloaders = train_loader, val_loader
        t.num_training_batches = num_batches(train_loader, t.limit_train_batches)
        if t.num_training_batches == 0 and self.keep_training():
            ds = getattr(train_loader, "dataset", None)
            size = len(ds) if hasattr(ds, "__len__") else "?"
            raise ValueError(
                f"the train loader gives no batch per epoch (dataset of {size} samples, "
                f"batch_size={getattr(train_loader, 'batch_size', None)}, drop_last="
                f"{getattr(train_loader, 'drop_last', None)}, limit_train_batches="
                f"{t.limit_train_batches}): the fit would train on nothing")
        t.num_val_batches = 0 if val_loader is None else \
            num_batches(val_loader, t.limit_val_batches)
        t.optimizers, t.lr_scheduler_configs = parse_optimizers(task.configure_optimizers())
        g = t._grad_scaler_arg
        t.scaler = g if isinstance(g, GradScaler) else \
            GradScaler(t.device.type) if g or (g is None and t.precision == "16-mixed") \
            else None
        progress.reset()
        self.results.reset()
        t._metrics.clear()
        path = _ckpt.resolve_checkpoint_path(t, ckpt_path)
        t._prepare_loggers()  # before the restore: loggers cut their files back to it
        t._resumed_from = path
        if path is not None:
            _ckpt.restore_checkpoint(t, _ckpt.load_checkpoint(path))
        elif ckpt_path == "last":  # nothing to resume: the run directory's logs start anew
            _ckpt.restart_run_files(t)
        for lg in t.loggers:
            lg.log_hyperparams(_ckpt.plain_config(t.config) or {})
        t._hook("on_fit_start")
        sanity = t.num_sanity_val_steps
        if sanity and path is None and val_loader is not None and t.num_val_batches:
            t.validate_loop.run_epoch(val_loader, t.num_val_batches if sanity < 0
                                      else min(sanity, t.num_val_batches), sanity=True)
        t._hook("on_train_start")
        resume_rng, progress.resume_rng = progress.resume_rng, None
        if resume_rng is not None and not (progress.batches_done and progress.epoch_start):
            restore_rng(resume_rng, t.device)  # a checkpoint at an epoch boundary
            resume_rng = None
        prof = t._fit_profiler = FitProfiler(t, t.profiler) if t.profiler else None
        ok = False
        try:
            if prof is not None:
                prof.start()
            while self.keep_training():
                self.run_epoch(train_loader, val_loader, resume_rng)
                resume_rng = None
            ok = True
        finally:
            t._fit_profiler = None
            if prof is not None:
                prof.stop(ok)
        t._hook("on_train_end")
        t._hook("on_fit_end")

    def keep_training(self) -> bool:
        t = self.trainer
        if t.should_stop or (0 <= t.max_steps <= t.progress.global_step):
            return False
        return t.max_epochs < 0 or t.progress.current_epoch < t.max_epochs

    # ------------------------------------------------------------------ one epoch
    def run_epoch(self, loader, val_loader, resume_rng):
        t = self.trainer
        task, progress = t.task, t.progress
        epoch, skip = progress.current_epoch, progress.batches_done
        for s in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
            if hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
        task.train()
        t._results = self.results
        if not skip:
            self.results.reset()
        t._hook("on_train_epoch_start")
        pending = [resume_rng]

        def after_skip():  # the resumed epoch's order is drawn: back to the checkpoint's RNG
            if pending[0] is not None:
                restore_rng(pending[0], t.device)
                pending[0] = None

        if skip and progress.epoch_start is not None:
            restore_epoch_start(progress.epoch_start, loader, t.device)
            it = skip_iter(loader, skip, after_skip)
        elif skip:
            it = skip_iter(loader, skip, after_skip)
        else:
            after_skip()
            progress.epoch_start = capture_epoch_start(loader, t.device)
            it = iter(loader)
        check = BatchChecker("train")
        n, batch_idx, stopped_early = t.num_training_batches, skip, False
        every = t.checkpoint_every_n_steps
        while batch_idx < n:
            try:
                with phase(t, "train_dataloader_next"):
                    batch = next(it)
            except StopIteration:
                break
            except Exception as e:
                if t._interrupt.requested:  # Ctrl-C also stopped the loader's workers
                    raise KeyboardInterrupt from e
                note(e, f"while loading train batch {batch_idx} of epoch {epoch}")
                raise
            check(batch, batch_idx)
            progress.batch_idx = batch_idx
            self.run_batch(move_batch(batch, t.device), batch_idx, batch_idx + 1 == n)
            if self.val_due(batch_idx + 1, val_loader):
                with phase(t, "validation"):
                    t.validate_loop.run_epoch(val_loader, t.num_val_batches)
            if every and progress.stepped and progress.global_step % every == 0:
                with phase(t, "save_checkpoint"):
                    t.save_checkpoint(os.path.join(t.checkpoint_dir, "last.ckpt"))
            if t._fit_profiler is not None:
                t._fit_profiler.step()
            t._check_interrupt()
            batch_idx += 1
            if t.should_stop or 0 <= t.max_steps <= progress.global_step:
                stopped_early = batch_idx < n
                break
        after_skip()
        if stopped_early:
            self.zero_grad()
        elif n == math.inf:  # a loader without length: its end is the epoch's end
            if self.has_grads():
                self.optimizer_step()
            if self.val_due(batch_idx, val_loader, at_end=True):
                t.validate_loop.run_epoch(val_loader, t.num_val_batches)
        self.end_epoch(completed=not stopped_early)

    def end_epoch(self, completed: bool) -> None:
        t, res = self.trainer, self.results
        t._results, res.in_step = res, False
        t.task.on_train_epoch_end()
        t._publish(res.epoch_values())
        if completed:
            self.step_schedulers("epoch")
            t.progress.epoch_completed = True
        for cb in t.callbacks:
            fn = getattr(cb, "on_train_epoch_end", None)
            if fn is not None:
                fn(t, t.task)
        for lg in t.loggers:
            lg.save()
        if completed:
            t.progress.end_epoch()

    # ------------------------------------------------------------------ one batch
    def run_batch(self, batch, batch_idx: int, is_last: bool) -> None:
        t, res, progress = self.trainer, self.results, self.trainer.progress
        task = t.task
        res.in_step, res.batch_size = True, batch_size_of(batch)
        progress.stepped = False
        t._hook("on_train_batch_start", batch, batch_idx)
        progress.dirty = True
        with phase(t, "training_step"), t._autocast():
            out = task.training_step(batch, batch_idx)
        loss = self.batch_loss = self.loss_of(out, batch_idx)
        if loss is not None:
            acc = t.accumulate_grad_batches
            scaled = loss / acc if acc > 1 else loss
            if t.scaler is not None:
                scaled = t.scaler.scale(scaled)
            with phase(t, "backward"):
                scaled.backward()
            t._hook("on_after_backward")
        if (batch_idx + 1) % t.accumulate_grad_batches == 0 or is_last:
            with phase(t, "optimizer_step"):
                self.optimizer_step()
        progress.batches_done, progress.dirty = batch_idx + 1, False
        outputs = None if out is None else {"loss": loss.detach()} if isinstance(out, Tensor) \
            else {k: (v.detach() if isinstance(v, Tensor) else v) for k, v in out.items()}
        if outputs is not None:  # the callback contract: outputs carry the batch size
            outputs.setdefault("batch_size", res.batch_size)
        # the loggers get floats every log_every_n_steps; in between nothing is converted
        log_now = progress.stepped and progress.global_step % t.log_every_n_steps == 0
        t._publish(res.step_values(convert=log_now), to_loggers=log_now)
        t._hook("on_train_batch_end", outputs, batch, batch_idx)
        res.in_step, self.batch_loss = False, None

    @staticmethod
    def loss_of(out, batch_idx: int):
        """The loss tensor of ``training_step``'s result (None: skip the batch)."""
        if out is None:
            return None
        loss = out.get("loss") if isinstance(out, dict) else out
        if not isinstance(loss, Tensor):
            what = f"a dict without a 'loss' tensor (keys {sorted(out)})" \
                if isinstance(out, dict) else type(out).__name__
            raise TypeError(f"training_step (batch {batch_idx}) must return a loss Tensor, a "
                            f"dict with 'loss', or None; got {what}")
        if loss.numel() != 1:
            raise ValueError(f"training_step (batch {batch_idx}) returned a loss of shape "
                             f"{tuple(loss.shape)}; a scalar is expected (reduce it with .mean())")
        if not loss.requires_grad:
            raise RuntimeError(f"training_step (batch {batch_idx}): the loss does not require "
                               "grad (computed under no_grad or from detached tensors?)")
        return loss

    # ------------------------------------------------------------------ optimizer step
    def has_grads(self, opt=None) -> bool:
        opts = self.trainer.optimizers if opt is None else [opt]
        return any(p.grad is not None for o in opts for g in o.param_groups for p in g["params"])

    def zero_grad(self) -> None:
        for opt in self.trainer.optimizers:
            opt.zero_grad()

    def optimizer_step(self) -> None:
        """Unscale, clip and step every optimizer with gradients; then the 'step'
        schedulers (``global_step`` counts these steps)."""
        t = self.trainer
        if not self.has_grads():
            return
        scaler, clip = t.scaler, t.gradient_clip_val
        for opt in t.optimizers:
            if not self.has_grads(opt):
                continue
            if scaler is not None:
                scaler.unscale_(opt)
            t._hook("on_before_optimizer_step", opt)
            if clip is not None and clip > 0:
                params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
                if not params:
                    pass
                elif t.gradient_clip_algorithm == "norm":
                    clip_grad_norm_(params, clip)
                else:
                    clip_grad_value_(params, clip)
            if scaler is not None:
                scaler.step(opt)
            else:
                opt.step()
        if scaler is not None:
            scaler.update()
        self.zero_grad()
        t.progress.global_step += 1
        t.progress.stepped = True
        self.step_schedulers("step")

    def step_schedulers(self, interval: str) -> None:
        t = self.trainer
        for cfg in t.lr_scheduler_configs:
            if cfg["interval"] != interval:
                continue
            count = t.progress.global_step if interval == "step" else t.progress.current_epoch + 1
            if count % int(cfg["frequency"]):
                continue
            monitor = cfg.get("monitor")
            if monitor is None or not isinstance(cfg["scheduler"], ReduceLROnPlateau):
                cfg["scheduler"].step()
                continue
            metrics = t.callback_metrics
            if monitor not in metrics:
                msg = (f"{type(cfg['scheduler']).__name__} monitors {monitor!r}, which is not "
                       f"among the logged metrics {sorted(metrics)}")
                if cfg.get("strict", True):
                    raise KeyError(msg + " (is validation run before the scheduler steps?)")
                warnings.warn(msg + "; skipping the scheduler step", stacklevel=2)
                continue
            cfg["scheduler"].step(metrics[monitor])

    # ------------------------------------------------------------------ validation schedule
    def val_due(self, batches_done: int, val_loader, at_end: bool = False) -> bool:
        t = self.trainer
        if val_loader is None or not t.num_val_batches:
            return False
        every_epochs, epoch = t.check_val_every_n_epoch, t.progress.current_epoch
        if every_epochs is not None and (epoch + 1) % every_epochs:
            return False
        n, v = t.num_training_batches, t.val_check_interval
        if isinstance(v, float):
            if n == math.inf:
                return at_end
            return batches_done == n or batches_done % max(1, int(n * v)) == 0
        if every_epochs is None and n != math.inf:
            return (epoch * n + batches_done) % v == 0
        return batches_done % v == 0
