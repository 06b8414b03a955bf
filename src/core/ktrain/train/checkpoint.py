"""Trainer checkpoints: everything a run needs to continue exactly where it stopped.

A checkpoint is a dict written with ``ktrain.save`` (safetensors + JSON, atomic):

* ``state_dict``: the task's parameters and buffers;
* ``optimizer_states``, ``lr_schedulers`` (one per scheduler config), ``grad_scaler``;
* ``epoch``, ``global_step`` and ``loops`` (``trainer.progress.state_dict()``): the
  position (``batches_done`` inside the epoch, ``epoch_completed``), the number of
  batches per epoch, the BLAS thread count and ``epoch_start``: the
  generator states the epoch's shuffle was drawn from, so that a resumed epoch draws
  the same permutation and skips its first ``batches_done`` batches without loading them;
* ``rng_states``: ktrain (CPU and the device's CUDA generator), numpy and Python;
* ``accumulated_grads``: gradients of an unfinished accumulation window (if any);
* ``callbacks`` (by ``state_key``), ``loggers`` (by name, for loggers with a
  ``state_dict``), ``callback_metrics`` and ``results`` (running epoch sums of
  ``Task.log``), ``config`` (the run config) and ``ktrain_version``.

Callbacks and the task may add entries in ``on_save_checkpoint(checkpoint)`` and read
them back in ``on_load_checkpoint(checkpoint)``.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence

from .. import __version__
from ..serialization import load, save
from ._state import capture_rng

__all__ = ["FORMAT", "FORMAT_VERSION", "plain_config", "dump_checkpoint", "save_checkpoint",
           "load_checkpoint", "restore_checkpoint", "resolve_checkpoint_path",
           "callback_state_keys", "remove_partial_writes", "restart_run_files"]

FORMAT = "ktrain.train.checkpoint"
FORMAT_VERSION = 1
# the temporary name of an atomic write (ktrain.serialization): '.<name>.<12 hex>.tmp'
_PARTIAL = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def remove_partial_writes(directory) -> list:
    """Remove the temporary files that writes killed before their rename left in
    ``directory`` (a resume does it); returns their paths."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(directory, name)
        if _PARTIAL.match(name) and os.path.isfile(path):
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass
    return removed


def plain_config(config):
    """``config`` as plain dicts and lists (e.g. an OmegaConf DictConfig), so that
    checkpoints and loggers can store it; None stays None."""
    if config is None or isinstance(config, (str, bytes, int, float, bool)):
        return config
    if isinstance(config, Mapping) or hasattr(config, "items"):
        return {k: plain_config(v) for k, v in config.items()}
    if isinstance(config, Sequence):
        return [plain_config(v) for v in config]
    return config


def callback_state_keys(callbacks) -> list:
    """One key per callback: its ``state_key``, with ``#n`` added to repeated keys."""
    keys, seen = [], {}
    for cb in callbacks:
        k = getattr(cb, "state_key", type(cb).__qualname__)
        n = seen.get(k, 0)
        seen[k] = n + 1
        keys.append(k if n == 0 else f"{k}#{n}")
    return keys


def _call(objs, hook, *args):
    for obj in objs:
        fn = getattr(obj, hook, None)
        if fn is not None:
            fn(*args)


def dump_checkpoint(trainer, weights_only: bool = False) -> dict:
    """The checkpoint dict of ``trainer``'s current state (see the module docstring)."""
    t, task = trainer, trainer.task
    ckpt = {"format": FORMAT, "format_version": FORMAT_VERSION, "ktrain_version": __version__,
            "epoch": t.current_epoch, "global_step": t.global_step,
            "state_dict": task.state_dict(), "config": plain_config(t.config)}
    if not weights_only:
        ckpt["loops"] = t.progress.state_dict(t.num_training_batches, t._threads.chosen)
        ckpt["optimizer_states"] = [o.state_dict() for o in t.optimizers]
        ckpt["lr_schedulers"] = [c["scheduler"].state_dict() for c in t.lr_scheduler_configs]
        if t.scaler is not None:
            ckpt["grad_scaler"] = t.scaler.state_dict()
        ckpt["rng_states"] = capture_rng(t.device)
        ckpt["callbacks"] = {k: cb.state_dict() for k, cb in
                             zip(callback_state_keys(t.callbacks), t.callbacks)
                             if hasattr(cb, "state_dict")}
        ckpt["loggers"] = {getattr(lg, "name", type(lg).__name__): lg.state_dict()
                           for lg in t.loggers if hasattr(lg, "state_dict")}
        ckpt["callback_metrics"] = dict(t.callback_metrics)
        ckpt["results"] = t.fit_loop.results.state_dict()
        grads = [p.grad for p in task.parameters()]
        if any(g is not None for g in grads):
            ckpt["accumulated_grads"] = [None if g is None else g.detach() for g in grads]
        _call(t.callbacks, "on_save_checkpoint", t, task, ckpt)
    task.on_save_checkpoint(ckpt)
    return ckpt


def save_checkpoint(trainer, path, weights_only: bool = False) -> str:
    """Write ``trainer``'s checkpoint to ``path`` atomically (parents are created)."""
    path = os.fspath(path)
    for lg in trainer.loggers:  # the metrics up to here are on disk with the checkpoint
        lg.save()
    ckpt = dump_checkpoint(trainer, weights_only)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save(ckpt, path)
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by a Trainer (a clear error for other files)."""
    ckpt = load(os.fspath(path), map_location="cpu")
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{path} is not a ktrain Trainer checkpoint (no 'state_dict'); to "
                         "load plain weights use task.load_state_dict(ktrain.load(path))")
    return ckpt


def resolve_checkpoint_path(trainer, ckpt_path):
    """The file meant by ``ckpt_path``: None, a path, 'last' (the newest of
    ``checkpoints/last.ckpt``, ``checkpoints/interrupted.ckpt`` and the callbacks'
    ``last_model_path``; None with a warning when there is none) or 'best' (the
    callbacks' ``best_model_path``)."""
    if ckpt_path is None:
        return None
    if ckpt_path == "last":
        found = [os.path.join(trainer.checkpoint_dir, n) for n in ("last.ckpt", "interrupted.ckpt")]
        found += [getattr(cb, "last_model_path", None) for cb in trainer.callbacks]
        found = [p for p in found if p and os.path.isfile(p)]
        if not found:
            warnings.warn(f"ckpt_path='last': no checkpoint in {trainer.checkpoint_dir}; "
                          "starting from scratch (the run directory's metric files start "
                          "anew)", stacklevel=3)
            return None
        return max(found, key=os.path.getmtime)
    if ckpt_path == "best":
        best = [getattr(cb, "best_model_path", None) for cb in trainer.callbacks]
        best = [p for p in best if p and os.path.isfile(p)]
        if not best:
            raise ValueError("ckpt_path='best': no callback has a best_model_path (is a "
                             "ModelCheckpoint with a monitor configured?)")
        return best[0]
    path = os.fspath(ckpt_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def restart_run_files(trainer) -> None:
    """A resume that found no checkpoint starts from scratch: what a run killed before
    its first checkpoint wrote (metric rows, partial writes) goes, as a resume from a
    checkpoint drops what was written after it."""
    remove_partial_writes(trainer.checkpoint_dir)
    for lg in trainer.loggers:
        if hasattr(lg, "load_state_dict"):
            lg.load_state_dict({})


def restore_checkpoint(trainer, ckpt: dict, weights_only: bool = False) -> None:
    """Load ``ckpt`` into ``trainer`` (its task, optimizers, schedulers, scaler, loop
    position, callbacks, loggers and metrics). RNG states are applied by the fit loop,
    at the point of the epoch where they were taken."""
    t, task = trainer, trainer.task
    task.load_state_dict(ckpt["state_dict"])
    if weights_only:
        task.on_load_checkpoint(ckpt)
        return
    missing = [k for k in ("loops", "optimizer_states", "rng_states") if k not in ckpt]
    if missing:
        raise ValueError(f"cannot resume training from this checkpoint: it lacks {missing} "
                         "(saved with weights_only=True?)")
    opt_states, sched_states = ckpt["optimizer_states"], ckpt.get("lr_schedulers", [])
    if len(opt_states) != len(t.optimizers) or len(sched_states) != len(t.lr_scheduler_configs):
        raise ValueError(f"the checkpoint has {len(opt_states)} optimizer(s) and "
                         f"{len(sched_states)} scheduler(s) but configure_optimizers() gave "
                         f"{len(t.optimizers)} and {len(t.lr_scheduler_configs)}")
    for opt, st in zip(t.optimizers, opt_states):
        opt.load_state_dict(st)
        if int(ckpt.get("global_step", 0)) > 0:
            # the optimizer did step before the checkpoint: no "scheduler.step() before
            # optimizer.step()" warning when the resumed run steps a scheduler first
            opt._opt_called = True
    for cfg, st in zip(t.lr_scheduler_configs, sched_states):
        cfg["scheduler"].load_state_dict(st)
    if t.scaler is not None and ckpt.get("grad_scaler"):
        t.scaler.load_state_dict(ckpt["grad_scaler"])
    loops = ckpt["loops"]
    saved_n = loops.get("num_training_batches")
    if not loops["epoch_completed"] and loops["batches_done"] and saved_n is not None \
            and t.num_training_batches is not None and saved_n != float(t.num_training_batches):
        warnings.warn(f"resuming mid-epoch with {t.num_training_batches} batches per epoch but "
                      f"the checkpoint was taken with {saved_n:g}: the run will not continue "
                      "exactly", stacklevel=3)
    t.progress.load_state_dict(loops, ckpt["rng_states"])
    remove_partial_writes(t.checkpoint_dir)
    t._threads.resume_with(loops.get("blas_threads"))
    states = ckpt.get("callbacks", {})
    for k, cb in zip(callback_state_keys(t.callbacks), t.callbacks):
        if k in states and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(states[k])
    for lg in t.loggers:
        st = ckpt.get("loggers", {}).get(getattr(lg, "name", type(lg).__name__))
        if st is not None and hasattr(lg, "load_state_dict"):
            lg.load_state_dict(st)
    t.callback_metrics.update(ckpt.get("callback_metrics", {}))
    t.fit_loop.results.load_state_dict(ckpt.get("results", {}))
    grads = ckpt.get("accumulated_grads")
    if grads is not None:
        params = list(task.parameters())
        for p, g in zip(params, grads):
            p.grad = None if g is None else g.to(p.device)
    _call(t.callbacks, "on_load_checkpoint", t, task, ckpt)
    task.on_load_checkpoint(ckpt)
