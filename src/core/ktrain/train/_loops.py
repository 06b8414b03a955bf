"""The loops of :class:`~ktrain.train.Trainer`: fit (epochs, batches, optimizer steps,
schedulers, validation schedule), evaluation (validate/test) and prediction.

A mixin so that ``trainer.py`` stays readable; every method works on the Trainer's
attributes (documented there).
"""
from __future__ import annotations

import itertools
import math
import os
import warnings

from .._tensor import Tensor
from ..amp import GradScaler
from ..autograd.grad_mode import no_grad
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..optim.optimizer import Optimizer
from . import checkpoint as _ckpt
from ._data import batch_size_of, check_batch, move_batch, num_batches, skip_iter
from ._results import Results
from ._state import capture_epoch_start, restore_epoch_start, restore_rng
from .task import Task

__all__ = ["Loops", "parse_optimizers"]

# stage -> (step, start, epoch start, batch end, epoch end, end) hook names
_EVAL = {"validate": ("validation_step", "on_validation_start", "on_validation_epoch_start",
                      "on_validation_batch_end", "on_validation_epoch_end", "on_validation_end"),
         "test": ("test_step", "on_test_start", "on_test_epoch_start", "on_test_batch_end",
                  "on_test_epoch_end", "on_test_end")}


def _note(exc, msg):
    if hasattr(exc, "add_note"):
        exc.add_note(msg)


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


class Loops:
    """Fit, evaluation and prediction loops (mixed into ``Trainer``)."""

    # ------------------------------------------------------------------ fit
    def _fit(self, train_loader, val_loader, ckpt_path):
        task = self.task
        self._hook("setup", "fit")
        if val_loader is not None and type(task).validation_step is Task.validation_step:
            warnings.warn(f"{type(task).__name__} does not implement validation_step: the "
                          "val_loader is not used", stacklevel=4)
            val_loader = None
        extra = task.configure_callbacks() or []
        self.callbacks += [cb for cb in extra if all(cb is not c for c in self.callbacks)]
        # Lightning's names: callbacks reach the data (a dataset's classes ...) through them
        self.train_dataloader, self.val_dataloaders = train_loader, val_loader
        self.num_training_batches = num_batches(train_loader, self.limit_train_batches)
        if self.num_training_batches == 0 and self._keep_training():
            ds = getattr(train_loader, "dataset", None)
            size = len(ds) if hasattr(ds, "__len__") else "?"
            raise ValueError(
                f"the train loader gives no batch per epoch (dataset of {size} samples, "
                f"batch_size={getattr(train_loader, 'batch_size', None)}, drop_last="
                f"{getattr(train_loader, 'drop_last', None)}, limit_train_batches="
                f"{self.limit_train_batches}): the fit would train on nothing")
        self.num_val_batches = 0 if val_loader is None else \
            num_batches(val_loader, self.limit_val_batches)
        self.optimizers, self.lr_scheduler_configs = parse_optimizers(task.configure_optimizers())
        g = self._grad_scaler_arg
        self.scaler = g if isinstance(g, GradScaler) else \
            GradScaler(self.device.type) if g or (g is None and self.precision == "16-mixed") \
            else None
        self.current_epoch = self.global_step = self.batch_idx = self._batches_done = 0
        self._epoch_completed, self._epoch_start, self._resume_rng = False, None, None
        self._train_results.reset()
        for d in (self.callback_metrics, self.logged_metrics, self.progress_bar_metrics):
            d.clear()
        path = _ckpt.resolve_checkpoint_path(self, ckpt_path)
        self._prepare_loggers()  # before the restore: loggers cut their files back to it
        self._resumed_from = path
        if path is not None:
            _ckpt.restore_checkpoint(self, _ckpt.load_checkpoint(path))
        elif ckpt_path == "last":  # nothing to resume: the run directory's logs start anew
            _ckpt.restart_run_files(self)
        for lg in self.loggers:
            lg.log_hyperparams(_ckpt.plain_config(self.config) or {})
        self._hook("on_fit_start")
        sanity = self.num_sanity_val_steps
        if sanity and path is None and val_loader is not None and self.num_val_batches:
            self._eval_loop("validate", val_loader, self.num_val_batches if sanity < 0
                            else min(sanity, self.num_val_batches), sanity=True)
        self._hook("on_train_start")
        resume_rng, self._resume_rng = self._resume_rng, None
        if resume_rng is not None and not (self._batches_done and self._epoch_start):
            restore_rng(resume_rng, self.device)  # a checkpoint at an epoch boundary
            resume_rng = None
        while self._keep_training():
            self._train_epoch(train_loader, val_loader, resume_rng)
            resume_rng = None
        self._hook("on_train_end")
        self._hook("on_fit_end")

    def _keep_training(self):
        if self.should_stop or (0 <= self.max_steps <= self.global_step):
            return False
        return self.max_epochs < 0 or self.current_epoch < self.max_epochs

    def _train_epoch(self, loader, val_loader, resume_rng):
        task, epoch, skip = self.task, self.current_epoch, self._batches_done
        for s in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
            if hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
        task.train()
        self._results = self._train_results
        if not skip:
            self._train_results.reset()
        self._hook("on_train_epoch_start")
        pending = [resume_rng]

        def after_skip():  # the resumed epoch's order is drawn: back to the checkpoint's RNG
            if pending[0] is not None:
                restore_rng(pending[0], self.device)
                pending[0] = None

        if skip and self._epoch_start is not None:
            restore_epoch_start(self._epoch_start, loader, self.device)
            it = skip_iter(loader, skip, after_skip)
        elif skip:
            it = skip_iter(loader, skip, after_skip)
        else:
            after_skip()
            self._epoch_start = capture_epoch_start(loader, self.device)
            it = iter(loader)
        n, batch_idx, stopped_early = self.num_training_batches, skip, False
        while batch_idx < n:
            try:
                batch = next(it)
            except StopIteration:
                break
            except Exception as e:
                if self._interrupt.requested:  # Ctrl-C also stopped the loader's workers
                    raise KeyboardInterrupt from e
                _note(e, f"while loading train batch {batch_idx} of epoch {epoch}")
                raise
            check_batch(batch, batch_idx, "train")
            self.batch_idx = batch_idx
            self._train_batch(move_batch(batch, self.device), batch_idx, batch_idx + 1 == n)
            if self._val_due(batch_idx + 1, val_loader):
                self._eval_loop("validate", val_loader, self.num_val_batches)
            k = self.checkpoint_every_n_steps
            if k and self._stepped and self.global_step % k == 0:
                self.save_checkpoint(os.path.join(self.checkpoint_dir, "last.ckpt"))
            self._check_interrupt()
            batch_idx += 1
            if self.should_stop or 0 <= self.max_steps <= self.global_step:
                stopped_early = batch_idx < n
                break
        after_skip()
        if stopped_early:
            self._zero_grad()
        elif n == math.inf:  # a loader without length: its end is the epoch's end
            if self._has_grads():
                self._optimizer_step()
            if self._val_due(batch_idx, val_loader, at_end=True):
                self._eval_loop("validate", val_loader, self.num_val_batches)
        self._end_train_epoch(completed=not stopped_early)

    def _end_train_epoch(self, completed):
        self._results, self._train_results.in_step = self._train_results, False
        self.task.on_train_epoch_end()
        self._publish(self._train_results.epoch_values(), self.global_step)
        if completed:
            self._step_schedulers("epoch")
            self._epoch_completed = True
        for cb in self.callbacks:
            fn = getattr(cb, "on_train_epoch_end", None)
            if fn is not None:
                fn(self, self.task)
        for lg in self.loggers:
            lg.save()
        if completed:
            self.current_epoch += 1
            self._batches_done, self._epoch_completed, self._epoch_start = 0, False, None

    def _train_batch(self, batch, batch_idx, is_last):
        task, res = self.task, self._train_results
        res.in_step, res.batch_size = True, batch_size_of(batch)
        self._stepped = False
        self._hook("on_train_batch_start", batch, batch_idx)
        self._dirty = True
        with self._autocast():
            out = task.training_step(batch, batch_idx)
        loss = self._loss_of(out, batch_idx)
        if loss is not None:
            acc = self.accumulate_grad_batches
            scaled = loss / acc if acc > 1 else loss
            if self.scaler is not None:
                scaled = self.scaler.scale(scaled)
            scaled.backward()
            self._hook("on_after_backward")
        if (batch_idx + 1) % self.accumulate_grad_batches == 0 or is_last:
            self._optimizer_step()
        self._batches_done, self._dirty = batch_idx + 1, False
        outputs = None if out is None else {"loss": loss.detach()} if isinstance(out, Tensor) \
            else {k: (v.detach() if isinstance(v, Tensor) else v) for k, v in out.items()}
        if outputs is not None:  # the callback contract: outputs carry the batch size
            outputs.setdefault("batch_size", res.batch_size)
        log_now = self._stepped and self.global_step % self.log_every_n_steps == 0
        self._publish(res.step_values(), self.global_step, to_loggers=log_now)
        self._hook("on_train_batch_end", outputs, batch, batch_idx)
        res.in_step = False

    def _loss_of(self, out, batch_idx):
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

    def _has_grads(self, opt=None):
        opts = self.optimizers if opt is None else [opt]
        return any(p.grad is not None for o in opts for g in o.param_groups for p in g["params"])

    def _zero_grad(self):
        for opt in self.optimizers:
            opt.zero_grad()

    def _optimizer_step(self):
        if not self._has_grads():
            return
        for opt in self.optimizers:
            if not self._has_grads(opt):
                continue
            if self.scaler is not None:
                self.scaler.unscale_(opt)
            self._hook("on_before_optimizer_step", opt)
            clip = self.gradient_clip_val
            if clip is not None and clip > 0:
                params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
                if not params:
                    pass
                elif self.gradient_clip_algorithm == "norm":
                    clip_grad_norm_(params, clip)
                else:
                    clip_grad_value_(params, clip)
            if self.scaler is not None:
                self.scaler.step(opt)
            else:
                opt.step()
        if self.scaler is not None:
            self.scaler.update()
        self._zero_grad()
        self.global_step += 1
        self._stepped = True
        self._step_schedulers("step")

    def _step_schedulers(self, interval):
        for cfg in self.lr_scheduler_configs:
            if cfg["interval"] != interval:
                continue
            count = self.global_step if interval == "step" else self.current_epoch + 1
            if count % int(cfg["frequency"]):
                continue
            monitor = cfg.get("monitor")
            if monitor is None or not isinstance(cfg["scheduler"], ReduceLROnPlateau):
                cfg["scheduler"].step()
                continue
            if monitor not in self.callback_metrics:
                msg = (f"{type(cfg['scheduler']).__name__} monitors {monitor!r}, which is not "
                       f"among the logged metrics {sorted(self.callback_metrics)}")
                if cfg.get("strict", True):
                    raise KeyError(msg + " (is validation run before the scheduler steps?)")
                warnings.warn(msg + "; skipping the scheduler step", stacklevel=2)
                continue
            cfg["scheduler"].step(self.callback_metrics[monitor])

    def _val_due(self, batches_done, val_loader, at_end=False):
        if val_loader is None or not self.num_val_batches:
            return False
        every_epochs = self.check_val_every_n_epoch
        if every_epochs is not None and (self.current_epoch + 1) % every_epochs:
            return False
        n, v = self.num_training_batches, self.val_check_interval
        if isinstance(v, float):
            if n == math.inf:
                return at_end
            return batches_done == n or batches_done % max(1, int(n * v)) == 0
        if every_epochs is None and n != math.inf:
            return (self.current_epoch * n + batches_done) % v == 0
        return batches_done % v == 0

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, stage, loader, ckpt_path):
        self._hook("setup", stage)
        path = _ckpt.resolve_checkpoint_path(self, ckpt_path)
        if path is not None:
            _ckpt.restore_checkpoint(self, _ckpt.load_checkpoint(path), weights_only=True)
        self._prepare_loggers()
        limit = self.limit_val_batches if stage == "validate" else self.limit_test_batches
        return [self._eval_loop(stage, loader, num_batches(loader, limit))]

    def _eval_loop(self, stage, loader, n, sanity=False):
        step, start, epoch_start, batch_end, epoch_end, end = _EVAL[stage]
        task, was_training, prev = self.task, self.task.training, self._results
        res = self._results = Results("val" if stage == "validate" else "test")
        self.sanity_checking = sanity
        task.eval()
        try:
            with no_grad():
                self._hook(start)
                self._hook(epoch_start)
                it = iter(loader)
                for batch_idx in range(n) if n != math.inf else itertools.count():
                    try:
                        batch = next(it)
                    except StopIteration:
                        break
                    except Exception as e:
                        _note(e, f"while loading {stage} batch {batch_idx}")
                        raise
                    check_batch(batch, batch_idx, stage)
                    batch = move_batch(batch, self.device)
                    res.in_step, res.batch_size = True, batch_size_of(batch)
                    with self._autocast():
                        out = getattr(task, step)(batch, batch_idx)
                    self._hook(batch_end, out, batch, batch_idx)
                    res.in_step = False
                    self._check_interrupt()
                getattr(task, epoch_end)()
                values = res.epoch_values()
                if not sanity:
                    self._publish(values, self.global_step)
                for cb in self.callbacks:
                    fn = getattr(cb, epoch_end, None)
                    if fn is not None:
                        fn(self, task)
                self._hook(end)
        finally:
            self.sanity_checking = False
            task.train(was_training)
            self._results = prev
        return values[1]

    def _predict(self, loader, ckpt_path):
        task = self.task
        self._hook("setup", "predict")
        path = _ckpt.resolve_checkpoint_path(self, ckpt_path)
        if path is not None:
            _ckpt.restore_checkpoint(self, _ckpt.load_checkpoint(path), weights_only=True)
        was_training, outputs = task.training, []
        n = num_batches(loader, self.limit_predict_batches)
        task.eval()
        try:
            with no_grad():
                self._hook("on_predict_start")
                for batch_idx, batch in enumerate(loader):
                    if batch_idx >= n:
                        break
                    check_batch(batch, batch_idx, "predict")
                    with self._autocast():
                        outputs.append(task.predict_step(move_batch(batch, self.device),
                                                         batch_idx))
                    self._check_interrupt()
                self._hook("on_predict_end")
        finally:
            task.train(was_training)
        return outputs
