"""``ModelCheckpoint``: keep the best ``k`` checkpoints by a monitored metric, plus ``last``.

Semantics follow Lightning's ``ModelCheckpoint``. Every file is written through
``trainer.save_checkpoint(path)`` (atomic: a crash never leaves a half-written file), and
files that fall out of the top ``k`` are deleted. The ranking is part of the callback's
``state_dict``, so a resumed run keeps deleting the right files.

When it saves
-------------
* ``every_n_train_steps=n``: after every ``n``-th optimizer step (``on_train_batch_end``).
* ``every_n_epochs=n``: at the end of every ``n``-th epoch. By default (``None``) this is
  1, or 0 (off) when ``every_n_train_steps`` is given, as in Lightning.
* "End of an epoch" is ``on_validation_end`` when validation runs during the fit, so the
  monitored validation metrics are fresh, and ``on_train_epoch_end`` otherwise;
  ``save_on_train_epoch_end=True/False`` forces one or the other.
* ``save_last=True`` writes ``last.ckpt`` at every one of these points (at every epoch end
  even when ``every_n_epochs`` skips that epoch), and once more at ``on_train_end`` when
  training stopped at a step that has none (``Timer``, ``EarlyStopping`` or ``max_steps``
  in mid-epoch), so a run can always resume from ``last``.

File names
----------
``filename`` is a template over ``epoch``, ``step`` and any metric in
``trainer.callback_metrics``, with format specs: ``'{epoch}-{val/accuracy:.3f}'``. With
``auto_insert_metric_name`` (default) each field is written as ``name=value``
(``epoch=3-val_accuracy=0.912.ckpt``) unless the template already spells ``name=`` in
front of it. Path separators in the result (metric names such as ``val/accuracy``)
become ``_`` so a name never creates sub-directories. A name that already exists on disk
(from an earlier run) gets a ``-v1``, ``-v2`` ... suffix instead of being overwritten.

Non-finite scores
-----------------
A NaN or infinite ``monitor`` value never enters the top ``k``: a diverged run never
replaces a finite ``best`` checkpoint (``last.ckpt`` is still written).

Resuming
--------
The callback's state carries a run id that every checkpoint of the run records. When a
run resumes, the checkpoints of that run which the restored ranking does not hold (a
top-k file written after the checkpoint being resumed, or one whose deletion a kill cut
short) are removed, as are the temporary files of writes a kill cut short: the resumed
run writes the same files an uninterrupted run would, never a stale ``step=40`` file or
a ``-v1`` twin of the same step.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import uuid

from ._common import is_fitting, is_global_zero, is_sanity_checking, run_dir, state_key_of, to_float
from .base import Callback

__all__ = ["ModelCheckpoint"]

# '{name}', '{name:spec}', '{name!r:spec}'; names may hold '/', '.', '-' (metric names)
_FIELD = re.compile(r"\{([^{}:!]+)(![rsa])?(?::([^{}]*))?\}")


class ModelCheckpoint(Callback):
    """Save checkpoints during ``fit``: the top ``save_top_k`` by ``monitor``, and ``last``.

    Args:
        dirpath: directory of the checkpoints (default ``<trainer.log_dir>/checkpoints``).
        filename: name template without extension (default ``'epoch={epoch}-step={step}'``).
        monitor: metric name in ``trainer.callback_metrics`` to rank by (``None``: no
            ranking; with ``save_top_k=1`` the latest checkpoint is kept).
        mode: ``'min'`` or ``'max'``: whether a smaller or larger ``monitor`` is better.
        save_top_k: how many ranked checkpoints to keep (-1: all, 0: none).
        save_last: also write ``last.ckpt`` at every save point and epoch end.
        every_n_epochs, every_n_train_steps, save_on_train_epoch_end: when to save
            (see the module docstring).
        auto_insert_metric_name: write template fields as ``name=value``.
        verbose: print a line for every save.

    Attributes: ``best_model_path``, ``best_model_score``, ``best_k_models`` (path ->
    score), ``kth_best_model_path``, ``kth_value``, ``last_model_path``, ``current_score``.

    Example::

        ModelCheckpoint(monitor="val/accuracy", mode="max", save_top_k=3,
                        filename="{epoch}-{val/accuracy:.3f}")
    """

    CHECKPOINT_JOIN_CHAR = "-"
    CHECKPOINT_NAME_LAST = "last"
    FILE_EXTENSION = ".ckpt"
    DEFAULT_FILENAME = "epoch={epoch}-step={step}"

    def __init__(self, dirpath=None, filename: str | None = None, monitor: str | None = None,
                 mode: str = "min", save_top_k: int = 1, save_last: bool = True,
                 every_n_epochs: int | None = None, every_n_train_steps: int | None = None,
                 save_on_train_epoch_end: bool | None = None,
                 auto_insert_metric_name: bool = True, verbose: bool = False):
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}")
        if save_top_k < -1:
            raise ValueError(f"ModelCheckpoint: save_top_k must be >= -1, got {save_top_k}")
        if monitor is None and save_top_k not in (-1, 0, 1):
            raise ValueError(
                f"ModelCheckpoint(save_top_k={save_top_k}, monitor=None) is not a valid "
                "configuration: there is no quantity to rank the top k by. Set monitor= or "
                "use save_top_k in (-1, 0, 1).")
        for name, v in (("every_n_epochs", every_n_epochs),
                        ("every_n_train_steps", every_n_train_steps)):
            if v is not None and v < 0:
                raise ValueError(f"ModelCheckpoint: {name} must be >= 0, got {v}")
        self.dirpath = os.fspath(dirpath) if dirpath is not None else None
        self.filename = filename
        self.monitor = monitor
        self.mode = mode
        self.save_top_k = int(save_top_k)
        self.save_last = bool(save_last)
        self.every_n_train_steps = int(every_n_train_steps or 0)
        if every_n_epochs is None:
            every_n_epochs = 0 if self.every_n_train_steps else 1
        self.every_n_epochs = int(every_n_epochs)
        self.save_on_train_epoch_end = save_on_train_epoch_end
        self.auto_insert_metric_name = auto_insert_metric_name
        self.verbose = verbose

        self.best_k_models: dict[str, float] = {}
        self.kth_best_model_path = ""
        self.kth_value = math.inf if mode == "min" else -math.inf
        self.best_model_path = ""
        self.best_model_score: float | None = None
        self.last_model_path = ""
        self.current_score: float | None = None
        self._last_global_step_saved = 0  # no checkpoint before the first optimizer step
        self._last_epoch_save = None  # (global_step, epoch) of the last epoch-end save
        self._last_step_of_last = None  # global_step at the last write of last.ckpt
        self._val_runs = 0
        self._pending_state: dict | None = None
        self._run_id = ""  # the same for every checkpoint of one run, resumes included

    @property
    def state_key(self) -> str:
        return state_key_of(self, monitor=self.monitor, mode=self.mode,
                            every_n_train_steps=self.every_n_train_steps,
                            every_n_epochs=self.every_n_epochs)

    # ------------------------------------------------------------------ hooks
    def setup(self, trainer, task, stage: str) -> None:
        if stage == "fit":  # before a resume restores it (on_fit_start comes after)
            self._val_runs = 0
        if self.dirpath is None:
            self.dirpath = os.fspath(run_dir(trainer) / "checkpoints")
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    def on_fit_start(self, trainer, task) -> None:
        if not self._run_id:
            self._run_id = uuid.uuid4().hex

    def on_load_checkpoint(self, trainer, task, checkpoint) -> None:
        """A resume: remove what the run wrote after the checkpoint (see the module
        docstring). Runs after every callback has loaded its state."""
        if not is_global_zero(trainer) or not self._run_id or self.dirpath is None \
                or not os.path.isdir(self.dirpath):
            return
        from ..checkpoint import load_checkpoint, remove_partial_writes

        remove_partial_writes(self.dirpath)
        kept = set()
        for cb in trainer.callbacks:
            if isinstance(cb, ModelCheckpoint):
                kept |= {os.path.abspath(p) for p in (*cb.best_k_models, cb.best_model_path,
                                                      cb.last_model_path) if p}
        own = getattr(trainer, "checkpoint_dir", None)
        if own:
            kept |= {os.path.abspath(os.path.join(own, n))
                     for n in ("last.ckpt", "interrupted.ckpt")}
        resumed = getattr(trainer, "_resumed_from", None)
        if resumed:
            kept.add(os.path.abspath(resumed))
        key = self.state_key
        for name in sorted(os.listdir(self.dirpath)):
            path = os.path.abspath(os.path.join(self.dirpath, name))
            if not name.endswith(self.FILE_EXTENSION) or path in kept or \
                    not os.path.isfile(path):
                continue
            try:
                state = (load_checkpoint(path).get("callbacks") or {}).get(key) or {}
            except Exception:  # noqa: BLE001 - not a checkpoint of ours: leave it
                continue
            if state.get("run_id") == self._run_id:
                self._remove(trainer, path)

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx: int) -> None:
        n = self.every_n_train_steps
        step = trainer.global_step
        if n <= 0 or step % n or self._skip(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        self._save_topk(trainer, candidates, strict=True)
        self._save_last(trainer, candidates)

    def on_train_end(self, trainer, task) -> None:
        if (self.save_last and is_fitting(trainer) and trainer.global_step > 0
                and trainer.global_step != self._last_step_of_last):
            self._save_last(trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer, task) -> None:
        if self._save_at_train_epoch_end():
            self._save_at_epoch_end(trainer, strict=self.save_on_train_epoch_end is True)

    def on_validation_end(self, trainer, task) -> None:
        if not is_fitting(trainer) or is_sanity_checking(trainer):
            return
        self._val_runs += 1
        if not self._save_at_train_epoch_end():
            self._save_at_epoch_end(trainer, strict=True)

    # ------------------------------------------------------------------ decisions
    def _save_at_train_epoch_end(self) -> bool:
        if self.save_on_train_epoch_end is not None:
            return bool(self.save_on_train_epoch_end)
        # Lightning's rule: save where validation ends when the fit validates
        return self._val_runs == 0

    def _skip(self, trainer) -> bool:
        return (not is_fitting(trainer) or is_sanity_checking(trainer)
                or trainer.global_step == self._last_global_step_saved)

    def _save_at_epoch_end(self, trainer, strict: bool) -> None:
        if not is_fitting(trainer) or is_sanity_checking(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        n = self.every_n_epochs
        if n > 0 and (trainer.current_epoch + 1) % n == 0 and not self._skip(trainer):
            # strict=False (automatic choice of the hook): a validation metric that is not
            # there yet is not an error here, validation saves once it has run
            if strict or self.monitor is None or self.monitor in candidates:
                self._save_topk(trainer, candidates, strict=True)
        key = (trainer.global_step, trainer.current_epoch)
        if self._last_epoch_save != key:
            self._save_last(trainer, candidates, force=True)
            self._last_epoch_save = key

    # ------------------------------------------------------------------ saving
    def _monitor_candidates(self, trainer) -> dict:
        metrics = getattr(trainer, "callback_metrics", None) or {}
        candidates = {k: to_float(v) for k, v in metrics.items()}
        candidates["epoch"] = int(trainer.current_epoch)
        candidates["step"] = int(trainer.global_step)
        return candidates

    def _save_topk(self, trainer, candidates: dict, strict: bool) -> None:
        if self.save_top_k == 0:
            return
        if self.monitor is None:
            self._save_none_monitor(trainer, candidates)
            return
        if self.monitor not in candidates:
            available = ", ".join(repr(k) for k in sorted(candidates)) or "none"
            raise KeyError(
                f"ModelCheckpoint(monitor={self.monitor!r}) could not find the monitored "
                f"metric in trainer.callback_metrics (available: {available}). HINT: log it "
                "from the task, or fix the name; validation metrics exist only after "
                "validation has run.")
        current = candidates[self.monitor]
        if self._check_top_k(current):
            self._update_best_and_save(trainer, current, candidates)
        elif self.verbose:
            print(f"Epoch {trainer.current_epoch}, global step {trainer.global_step}: "
                  f"{self.monitor!r} was not in top {self.save_top_k}")

    def _check_top_k(self, current: float) -> bool:
        if not math.isfinite(current):  # never replaces a finite best
            return False
        if self.save_top_k == -1 or len(self.best_k_models) < self.save_top_k:
            return True
        kth = self.best_k_models[self.kth_best_model_path]
        return current < kth if self.mode == "min" else current > kth

    def _update_best_and_save(self, trainer, current: float, candidates: dict) -> None:
        k = len(self.best_k_models) + 1 if self.save_top_k == -1 else self.save_top_k
        del_path = None
        if len(self.best_k_models) == k and k > 0:
            del_path = self.kth_best_model_path
            self.best_k_models.pop(del_path)
        if math.isnan(current):  # NaN ranks last
            current = math.inf if self.mode == "min" else -math.inf
        path = self._unique_path(candidates, del_path)
        self.current_score = current
        self.best_k_models[path] = current
        if len(self.best_k_models) == k:
            worst = max if self.mode == "min" else min
            self.kth_best_model_path = worst(self.best_k_models, key=self.best_k_models.get)
            self.kth_value = self.best_k_models[self.kth_best_model_path]
        best = min if self.mode == "min" else max
        self.best_model_path = best(self.best_k_models, key=self.best_k_models.get)
        self.best_model_score = self.best_k_models[self.best_model_path]
        if self.verbose:
            print(f"Epoch {trainer.current_epoch}, global step {trainer.global_step}: "
                  f"{self.monitor!r} reached {current:.5g} (best {self.best_model_score:.5g}), "
                  f"saving model to {path!r} as top {k}")
        self._save(trainer, path)
        if del_path and del_path != path:
            self._remove(trainer, del_path)

    def _save_none_monitor(self, trainer, candidates: dict) -> None:
        previous = self.best_model_path
        path = self._unique_path(candidates, previous if self.save_top_k == 1 else None)
        self.best_model_path = path
        self._save(trainer, path)
        if self.save_top_k == 1 and previous and previous != path:
            self._remove(trainer, previous)

    def _save_last(self, trainer, candidates: dict, force: bool = False) -> None:
        if not self.save_last:
            return
        if not force and self._skip_last(trainer):
            return
        path = self.format_checkpoint_name(candidates, self.CHECKPOINT_NAME_LAST)
        previous, self.last_model_path = self.last_model_path, path
        self._save(trainer, path)
        self._last_step_of_last = trainer.global_step
        if previous and previous != path and previous not in self.best_k_models \
                and previous != self.best_model_path:
            self._remove(trainer, previous)

    def _skip_last(self, trainer) -> bool:
        return not is_fitting(trainer) or is_sanity_checking(trainer)

    def _save(self, trainer, path: str) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        trainer.save_checkpoint(path)
        self._last_global_step_saved = trainer.global_step

    def _remove(self, trainer, path: str) -> None:
        if not is_global_zero(trainer):
            return
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------------ names
    def format_checkpoint_name(self, metrics: dict, filename: str | None = None,
                               ver: int | None = None) -> str:
        """The checkpoint path for ``metrics`` (a dict holding ``epoch``, ``step`` and the
        template's metrics); ``ver`` appends ``-v<ver>``."""
        template = (self.filename or self.DEFAULT_FILENAME) if filename is None else filename
        name = self._format(template, metrics)
        if ver is not None:
            name = f"{name}{self.CHECKPOINT_JOIN_CHAR}v{ver}"
        name = name.replace("/", "_").replace(os.sep, "_")
        if os.altsep:
            name = name.replace(os.altsep, "_")
        dirpath = self.dirpath if self.dirpath is not None else "."
        return os.path.join(dirpath, name + self.FILE_EXTENSION)

    def _format(self, template: str, metrics: dict) -> str:
        def field(m):
            name, conv, spec = m.group(1).strip(), m.group(2), m.group(3) or ""
            if name not in metrics:
                available = ", ".join(repr(k) for k in sorted(metrics)) or "none"
                raise KeyError(f"ModelCheckpoint: the filename template {template!r} uses "
                               f"{name!r}, which is not a logged metric (available: "
                               f"{available})")
            value = metrics[name]
            if conv:
                value = {"!r": repr, "!s": str, "!a": ascii}[conv](value)
            try:
                text = format(value, spec)
            except (ValueError, TypeError) as e:
                raise ValueError(f"ModelCheckpoint: cannot format {name}={value!r} with "
                                 f"spec {spec!r} in template {template!r}: {e}") from None
            prefix = template[:m.start()]
            if self.auto_insert_metric_name and not prefix.endswith(name + "="):
                text = f"{name}={text}"
            return text

        return _FIELD.sub(field, template)

    def _unique_path(self, candidates: dict, del_path: str | None) -> str:
        path = self.format_checkpoint_name(candidates)
        ver = 1
        while os.path.exists(path) and path != del_path:
            path = self.format_checkpoint_name(candidates, ver=ver)
            ver += 1
        return path

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "dirpath": self.dirpath,
            "best_model_score": self.best_model_score,
            "best_model_path": self.best_model_path,
            "current_score": self.current_score,
            "best_k_models": dict(self.best_k_models),
            "kth_best_model_path": self.kth_best_model_path,
            "kth_value": self.kth_value,
            "last_model_path": self.last_model_path,
            "run_id": self._run_id,
            # where epoch-end saves happen depends on it: a resumed run keeps the rule
            "val_runs": self._val_runs,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if self.dirpath is None:  # resolved in setup(); apply the state there
            self._pending_state = dict(state_dict)
            return
        saved_dir = state_dict.get("dirpath", self.dirpath)
        if saved_dir is not None and os.path.abspath(saved_dir) == os.path.abspath(self.dirpath):
            self.best_k_models = {str(k): float(v)
                                  for k, v in (state_dict.get("best_k_models") or {}).items()}
            self.kth_best_model_path = state_dict.get("kth_best_model_path", "") or ""
            self.kth_value = float(state_dict.get("kth_value", self.kth_value))
            self.last_model_path = state_dict.get("last_model_path", "") or ""
            score = state_dict.get("current_score")
            self.current_score = None if score is None else float(score)
        else:
            import warnings

            warnings.warn(f"ModelCheckpoint: the checkpoint was saved with dirpath "
                          f"{saved_dir!r}, this run uses {self.dirpath!r}; only the best "
                          "model path and score are restored (the top-k ranking starts anew)",
                          stacklevel=2)
        self._run_id = state_dict.get("run_id", "") or ""
        self._val_runs = int(state_dict.get("val_runs", self._val_runs))
        self.best_model_path = state_dict.get("best_model_path", "") or ""
        score = state_dict.get("best_model_score")
        self.best_model_score = None if score is None else float(score)
