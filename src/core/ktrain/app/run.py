"""Build and train everything a validated run config describes (what ``ktrain fit`` runs).

    from ktrain.config import compose_config, validate
    from ktrain.app.run import run_from_config, new_run_dir

    cfg = compose_config("conf/mlp_synthetic.yaml", ["trainer=fast"])
    run = validate(cfg)
    metrics = run_from_config(run, new_run_dir("outputs", run.experiment))

Building (datasets, loaders, model, task, optimizer/scheduler, callbacks, loggers) happens
before anything trains; every problem found there is a user error and is raised as a
:class:`~ktrain.config.ConfigError` (or a registry error such as
``UnknownComponentError``), never as a failure half-way through training.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import warnings
from pathlib import Path

from .config import ConfigError, RunConfig, save_run_config
from ..registry import MODELS  # noqa: F401 - a name of ktrain.train.run before the split
from .build import (  # noqa: F401 - names of ktrain.train.run before the split
    _LOADER_KEYS,
    _build_callbacks,
    _build_dataset,
    _build_loaders,
    _build_loggers,
    _build_task,
    _build_test_loader,
    _check_optim,
    _check_train_batches,
    _first,
    _optimizer_spec,
    _registry_optimizer,
    _registry_scheduler,
    _sched_spec,
    _takes_split,
    _usable,
    _user_error,
    build_model,
    build_trainer,
    check_checkpoint,
    check_model,
    make_loader,
)
from .rundir import (  # noqa: F401
    LAST_CKPT,
    _experiment_dir,
    find_latest_run,
    new_run_dir,
    output_dir_error,
    resolve_resume,
)

__all__ = ["find_latest_run", "new_run_dir", "resolve_resume", "run_from_config"]


# ------------------------------------------------------------------------ the run
class _Tee:
    """A text stream that writes to the original stream and to the run's log file."""

    def __init__(self, stream, log):
        self._stream, self._log = stream, log

    def write(self, text):
        self._log.write(text)
        return self._stream.write(text)

    def flush(self):
        self._log.flush()
        self._stream.flush()


class _SafeLog:
    """The run's log file, written in append mode; a write that fails (a full disk) turns
    it off instead of failing the run's printing, so the error itself still reaches the
    terminal. What was logged before is never rewritten."""

    def __init__(self, fh):
        self._fh, self.error = fh, None

    def write(self, text):
        if self.error is None:
            try:
                self._fh.write(text)
            except OSError as e:
                self.error = e

    def flush(self):
        if self.error is None:
            try:
                self._fh.flush()
            except OSError as e:
                self.error = e

    def __getattr__(self, name):  # isatty, encoding, fileno ... of the real stream
        return getattr(self._stream, name)


@contextlib.contextmanager
def _tee_output(path):
    """Copy everything printed during the run (progress lines, tables, warnings) to
    ``path`` (appending, so a resumed run keeps the earlier log)."""
    try:
        fh = open(path, "a", encoding="utf-8")
    except OSError as e:
        raise output_dir_error(path, e) from None
    log = _SafeLog(fh)
    log.write(f"--- run started {_dt.datetime.now().isoformat(timespec='seconds')} ---\n")
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        try:
            fh.close()
        except OSError:  # the buffered tail cannot be written (full disk): keep the rest
            pass


def run_from_config(run_cfg: RunConfig, run_dir=None, overrides=(), resume=None,
                    enable_progress_bar=None, target_policy=None) -> dict:
    """Build everything ``run_cfg`` describes and fit it; returns the final metrics
    (name -> float: ``train/loss``, ``val/accuracy`` ...).

    ``run_dir``: the run directory (``config.yaml``, ``overrides.yaml``, metrics,
    ``checkpoints/``); None: ``trainer.default_root_dir`` or ``./ktrain_logs``.
    ``resume``: None, 'last' (the run directory's latest checkpoint) or a checkpoint path;
    ``run_cfg.resume`` is used when not given. ``enable_progress_bar=False`` turns the
    progress bar off whatever the config says (``--quiet``).
    ``target_policy``: what the config's ``_target_`` s may build (a
    :class:`ktrain.target_policy.TargetPolicy`; None: ktrain, the installed plugins and
    ``run_cfg.allow_targets``); every target is checked before anything is built, and
    everything is built under it.
    """
    from ..target_policy import TargetPolicy, UntrustedTargetError, check_targets, use_policy

    if not isinstance(run_cfg, RunConfig):
        raise TypeError(f"run_from_config needs a validated RunConfig (ktrain.config."
                        f"validate), got {type(run_cfg).__name__}")
    policy = (target_policy or TargetPolicy()).with_config(run_cfg.allow_targets)
    refused = check_targets(run_cfg.to_dict(), policy)
    if refused:
        raise UntrustedTargetError("\n  ".join(["invalid config:"] + refused), refused)
    with use_policy(policy):
        try:
            return _fit_run(run_cfg, run_dir, overrides, resume, enable_progress_bar)
        except OSError as e:
            root = Path(run_dir if run_dir is not None else
                        run_cfg.trainer.default_root_dir or "ktrain_logs")
            if _is_output_error(e, root):
                raise output_dir_error(root, e) from e
            raise


def _is_output_error(exc, run_dir) -> bool:
    """Whether ``exc`` is the run directory failing to take a write (full, read-only, not
    a directory) rather than, say, a dataset file that cannot be read."""
    import errno

    code = getattr(exc, "errno", None)
    name = getattr(exc, "filename", None)
    inside = name is not None and Path(os.path.abspath(name)).is_relative_to(
        Path(os.path.abspath(run_dir)))
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return name is None or inside
    return inside and code in (errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST,
                               errno.EISDIR)


def _fit_run(run_cfg: RunConfig, run_dir, overrides, resume, enable_progress_bar) -> dict:
    from ..train._state import seed_everything

    if run_dir is None:
        run_dir = run_cfg.trainer.default_root_dir or "ktrain_logs"
    run_dir = Path(run_dir)
    if resume is None and run_cfg.resume:
        resume = run_cfg.resume
    if resume is not None and resume != "last" and not Path(str(resume)).is_file():
        raise ConfigError(f"resume: checkpoint not found: {resume}")

    seed_everything(run_cfg.seed)  # model initialisation is reproducible too
    train_loader, val_loader = _build_loaders(run_cfg)
    model = build_model(run_cfg)
    _check_train_batches(train_loader, run_cfg)
    task = _build_task(run_cfg, model)
    trainer = build_trainer(run_cfg, run_dir, enable_progress_bar=enable_progress_bar)
    if resume is not None:
        from ..train.checkpoint import resolve_checkpoint_path

        with warnings.catch_warnings():  # trainer.fit says it again when it starts anew
            warnings.simplefilter("ignore")
            path = resolve_checkpoint_path(trainer, resume)
        if path is not None:
            check_checkpoint(path, task, run_cfg)

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_dir_error(run_dir, e) from None
    save_run_config(run_cfg, run_dir, overrides=list(overrides))
    with _tee_output(run_dir / "run.log"):
        if run_cfg.trainer.enable_plots:
            _note_missing_plots(trainer, run_dir)
        trainer.fit(task, train_loader, val_loader, ckpt_path=resume)
        metrics = _floats(trainer.callback_metrics)
        if trainer.interrupted or trainer.global_rank != 0:
            return metrics
        test_loader = _build_test_loader(run_cfg)
        if test_loader is not None:  # the final weights on the held-out test split
            trainer.test(task, test_loader)
            metrics.update({k: v for k, v in _floats(trainer.callback_metrics).items()
                            if k.startswith("test/")})
        _write_final(run_dir, metrics)
        if run_cfg.trainer.enable_plots:
            _write_confusion(task, trainer, test_loader or val_loader, run_dir,
                             "test" if test_loader is not None else "val")
    return metrics


def _floats(values) -> dict:
    """The entries of ``values`` that convert to float (metric tensors, numbers)."""
    out = {}
    for k, v in (values or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def _write_final(run_dir, metrics):
    from ..serialization import atomic_write_text, json_dumps

    atomic_write_text(Path(run_dir) / "metrics.json",
                      json_dumps(dict(sorted(metrics.items())), indent=2) + "\n")


def _note_missing_plots(trainer, run_dir):
    """Without matplotlib (the 'plots' extra), say up front, once for the run, which PNGs
    it will not draw; the plot writers that come later stay quiet."""
    from ..train._matplotlib import have_plots, notify_skipped

    if getattr(trainer, "global_rank", 0) == 0 and not have_plots():
        notify_skipped(["loss.png", "metrics.png", "lr.png", "confusion_matrix.png"],
                       key=("run", str(Path(run_dir).resolve())))


def _write_confusion(task, trainer, loader, run_dir, split):
    """confusion_matrix.csv/.png of a multi-class run on ``split`` (never fails the run)."""
    if loader is None:
        return
    from .confusion import confusion_matrix, write_confusion_matrix

    try:
        cm = confusion_matrix(task, loader, device=trainer.device)
        if cm is not None:
            classes = getattr(loader.dataset, "classes", None)
            write_confusion_matrix(cm, run_dir, classes=classes, title=split)
    except Exception as e:  # noqa: BLE001 - a plot must not lose the finished run
        import warnings

        warnings.warn(f"could not write the confusion matrix: {type(e).__name__}: {e}",
                      stacklevel=2)
