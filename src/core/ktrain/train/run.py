"""Build and train everything a validated run config describes (what ``ktrain fit`` runs).

    from ktrain.config import compose_config, validate
    from ktrain.train.run import run_from_config, new_run_dir

    cfg = compose_config("conf/mlp_synthetic.yaml", ["trainer=fast"])
    run = validate(cfg)
    metrics = run_from_config(run, new_run_dir("outputs", run.experiment))

Building (datasets, loaders, model, task, optimizer/scheduler, callbacks, loggers) happens
before anything trains; every problem found there is a user error and is raised as a
:class:`~ktrain.config.ConfigError` (or a registry error such as
``UnknownComponentError``), never as a failure half-way through training.
"""
from __future__ import annotations

import sys

import datetime

import contextlib

import datetime as _dt
import functools
import inspect
import os
import warnings
from pathlib import Path

from ..config import ConfigError, RunConfig, save_run_config
from ..registry import (
    CALLBACKS,
    DATASETS,
    LOGGERS,
    MODELS,
    OPTIMIZERS,
    SCHEDULERS,
    TASKS,
    RegistryError,
)

__all__ = ["find_latest_run", "new_run_dir", "resolve_resume", "run_from_config"]

_LOADER_KEYS = ("batch_size", "num_workers", "shuffle", "pin_memory", "drop_last")
LAST_CKPT = os.path.join("checkpoints", "last.ckpt")


# ------------------------------------------------------------------------ run directories
def new_run_dir(output_root, experiment) -> Path:
    """Create and return ``<output_root>/<experiment>/<YYYY-mm-dd_HH-MM-SS_ffffff>/``
    (microseconds, and a retry on a clash, so runs started together never share one)."""
    base = _experiment_dir(output_root, experiment)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_dir_error(base, e) from None
    while True:
        stamp = _dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
        path = base / stamp
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise output_dir_error(path, e) from None


def _experiment_dir(output_root, experiment) -> Path:
    """``<output_root>/<experiment>``; a ConfigError when the experiment name would lead
    outside the output root (``experiment=../../x``, an absolute path)."""
    root = Path(output_root)
    base = root / str(experiment)
    if not base.resolve().is_relative_to(root.resolve()) or base.resolve() == root.resolve():
        raise ConfigError(f"experiment: {str(experiment)!r} would put the run directory "
                          f"outside the output directory {root}; use a plain name")
    return base


def output_dir_error(path, exc) -> ConfigError:
    """A user error naming the output path that cannot be written and why (a file where
    a directory is expected, no permission, a full disk)."""
    import errno

    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "the file system is read-only",
              errno.ENOTDIR: "a part of the path is a file, not a directory",
              errno.EEXIST: "a file of that name exists where a directory is expected"}
    code = getattr(exc, "errno", None)
    why = reason.get(code) or getattr(exc, "strerror", None) or str(exc)
    where = getattr(exc, "filename", None) or path
    hint = "free some space or choose another --output-dir" if code in (
        errno.ENOSPC, errno.EDQUOT) else "choose another --output-dir"
    return ConfigError(f"cannot write to the output directory: {where}: {why} ({hint})")


def find_latest_run(output_root, experiment):
    """The newest run directory of ``experiment`` holding ``checkpoints/last.ckpt`` (or
    ``interrupted.ckpt``), or None."""
    base = Path(output_root) / str(experiment)
    if not base.is_dir():
        return None
    runs = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.name,
                  reverse=True)
    for p in runs:
        ck = p / "checkpoints"
        if (ck / "last.ckpt").is_file() or (ck / "interrupted.ckpt").is_file():
            return p
    return None


def resolve_resume(resume, output_root, experiment):
    """``(run_dir, ckpt_path)`` for ``resume``: 'auto' (the latest run of ``experiment``
    under ``output_root``), a run directory, or a checkpoint file. ``ckpt_path`` is
    'last' for a run directory (its newest of last/interrupted.ckpt). Raises ConfigError
    when there is nothing to resume."""
    if resume is None:
        return None, None
    resume = str(resume)
    if resume == "auto":
        run = find_latest_run(output_root, experiment)
        if run is None:
            raise ConfigError(f"--resume auto: no previous run of experiment "
                              f"{experiment!r} with a checkpoint under "
                              f"{Path(output_root) / str(experiment)}; start one without "
                              f"--resume first, or give a run directory or checkpoint path.")
        return run, "last"
    path = Path(resume).expanduser()
    if path.is_dir():
        ck = path / "checkpoints"
        if not ((ck / "last.ckpt").is_file() or (ck / "interrupted.ckpt").is_file()):
            raise ConfigError(f"--resume {resume}: the directory has no checkpoints/last.ckpt "
                              f"(is it a ktrain run directory?)")
        return path, "last"
    if path.is_file():
        parent = path.parent
        run = parent.parent if parent.name == "checkpoints" else parent
        return run, str(path.resolve())
    raise ConfigError(f"--resume {resume}: no such run directory or checkpoint file "
                      f"(use 'auto' for the latest run of the experiment)")


# ------------------------------------------------------------------------ builders
def _user_error(what, exc):
    if isinstance(exc, (ConfigError, RegistryError)):
        return exc
    return ConfigError(f"cannot build the {what}: {exc}")


def _build_dataset(data_cfg: dict, split: str):
    cfg = {k: v for k, v in data_cfg.items() if k not in _LOADER_KEYS}
    if "split" not in data_cfg and not _takes_split(cfg):
        if split != "train":  # a dataset without splits: no validation set
            return None
        return DATASETS.build(cfg)
    return DATASETS.build({**cfg, "split": split})


def _takes_split(cfg) -> bool:
    """Whether the dataset builder of ``cfg`` accepts a ``split`` argument (its
    signature; a ``**kwargs`` builder is given one)."""
    if "_target_" in cfg:
        from ..registry import _resolve_target

        target = _resolve_target(cfg["_target_"], "dataset")
    else:
        target = DATASETS.get(cfg.get("name"))
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "split" or p.kind == p.VAR_KEYWORD for p in params)


def make_loader(ds, data: dict, train: bool):
    """The DataLoader of ``ds`` for the ``data`` config section: loader keys from the
    config (``shuffle`` only for training); the dataset's own ``collate_fn`` attribute
    and ``build_batch_sampler(batch_size, shuffle, drop_last)`` method are used when it
    has them (padding collates, length-bucketing samplers of the text/audio plugins)."""
    from ..utils.data import DataLoader

    kw = {k: data[k] for k in _LOADER_KEYS if k in data}
    if not train:
        kw["shuffle"], kw["drop_last"] = False, False
    collate = getattr(ds, "collate_fn", None)
    if callable(collate):
        kw["collate_fn"] = collate
    make_sampler = getattr(ds, "build_batch_sampler", None)
    if callable(make_sampler):
        kw["batch_sampler"] = make_sampler(batch_size=int(kw.pop("batch_size", 32)),
                                           shuffle=bool(kw.pop("shuffle", train)),
                                           drop_last=bool(kw.pop("drop_last", False)))
    return DataLoader(ds, **kw)


def _usable(ds):
    return ds is not None and (not hasattr(ds, "__len__") or len(ds) > 0)


def _build_loaders(run: RunConfig):
    data = run.data.to_dict()
    try:
        train_ds = _build_dataset(data, "train")
        val_ds = _build_dataset(data, "val")
    except Exception as e:  # noqa: BLE001 - all of it is the user's dataset config
        raise _user_error(f"dataset (data: {data.get('name') or data.get('_target_')})",
                          e) from None
    if train_ds is not None and hasattr(train_ds, "__len__") and len(train_ds) == 0:
        raise ConfigError("the training split of the dataset is empty (data.n_samples too "
                          "small?)")
    try:
        train = make_loader(train_ds, data, train=True)
        val = make_loader(val_ds, data, train=False) if _usable(val_ds) else None
    except (ValueError, TypeError) as e:
        raise _user_error("data loaders (data.batch_size/num_workers/...)", e) from None
    return train, val


def _build_test_loader(run: RunConfig):
    """The loader of the dataset's ``test`` split, or None when the dataset has none
    (no ``split`` argument, an unknown split, or an empty one)."""
    data = run.data.to_dict()
    try:
        ds = _build_dataset(data, "test")
    except Exception:  # noqa: BLE001 - no test split is not an error
        return None
    if not _usable(ds):
        return None
    return make_loader(ds, data, train=False)


def check_model(model, run: RunConfig):
    """A ConfigError when a built model has a parameter with no element (a layer of width
    0 from the config: ``model.hidden=[0]``), which would train silently on nothing."""
    named = getattr(model, "named_parameters", None)
    if named is None:
        return
    for pname, p in named():
        if p.numel() == 0:
            name = run.model.name or run.model.kwargs.get("_target_")
            zeros = [f"model.{k}={v}" for k, v in run.model.kwargs.items()
                     if (isinstance(v, int) and not isinstance(v, bool) and v <= 0)
                     or (isinstance(v, list) and any(isinstance(x, int) and x <= 0
                                                     for x in v))]
            hint = f" (check {', '.join(zeros)})" if zeros else ""
            raise ConfigError(f"the model (model: {name}) has a parameter with no elements: "
                              f"{pname} of shape {tuple(p.shape)}; a layer width is 0"
                              f"{hint}")


def _first(names, n=3) -> str:
    names = list(names)
    more = f", ... ({len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def check_checkpoint(path, task, run: RunConfig | None = None) -> dict:
    """The checkpoint at ``path``, read and checked against ``task``'s weights. A
    ConfigError (a user error: exit 2) when the file is not a readable ktrain checkpoint
    (corrupt, truncated, some other format) or holds the weights of another model: the
    message counts the missing, unexpected and mis-shaped keys and names the first few,
    instead of listing every key."""
    from .checkpoint import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except (ValueError, RuntimeError, OSError, KeyError, TypeError) as e:
        text = str(e).removeprefix("load: ")
        raise ConfigError(f"cannot use the checkpoint {path}: {text} (is it a ktrain "
                          f"checkpoint, and complete?)") from None
    saved, own = ckpt.get("state_dict") or {}, task.state_dict()
    if not isinstance(saved, dict):
        raise ConfigError(f"cannot use the checkpoint {path}: its state_dict is not a mapping")
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    shape = [f"{k} {tuple(getattr(saved[k], 'shape', ()))} vs {tuple(own[k].shape)}"
             for k in own
             if k in saved and tuple(getattr(saved[k], "shape", ())) != tuple(own[k].shape)]
    if not (missing or unexpected or shape):
        return ckpt
    parts = [f"{len(v)} {what} key{'s' if len(v) > 1 else ''}{extra} ({_first(v)})"
             for what, v, extra in (("missing", missing, ""),
                                    ("unexpected", unexpected, ""),
                                    ("mis-shaped", shape, ", checkpoint vs model")) if v]
    name = ""
    if run is not None:
        name = f" (model: {run.model.name or run.model.kwargs.get('_target_')})"
    raise ConfigError(f"the checkpoint {path} is of another model than the config's{name}: "
                      f"{'; '.join(parts)}. Use it with the config of the run that "
                      f"trained it")


def _check_train_batches(loader, run: RunConfig):
    """A ConfigError when an epoch would have no training batch at all (drop_last with a
    batch larger than the split, a fractional limit_train_batches rounding to 0)."""
    from ._data import num_batches

    try:
        n_total = len(loader)
    except TypeError:  # an iterable dataset: its length is unknown until it ends
        return
    n = num_batches(loader, run.trainer.limit_train_batches)
    if n > 0:
        return
    size = len(loader.dataset) if hasattr(loader.dataset, "__len__") else "?"
    d = run.data
    if n_total == 0:
        raise ConfigError(f"an epoch would have no training batch: the training split has "
                          f"{size} samples, data.batch_size={d.batch_size} and "
                          f"data.drop_last={str(d.drop_last).lower()} (lower data.batch_size or set "
                          f"data.drop_last=false)")
    raise ConfigError(f"an epoch would have no training batch: "
                      f"trainer.limit_train_batches={run.trainer.limit_train_batches} of "
                      f"{n_total} batches (training split of {size} samples, "
                      f"data.batch_size={d.batch_size}) rounds down to 0")


def _registry_optimizer(cfg, params):
    """The optimizer of the ``optim:`` section (built once, by the task at fit time)."""
    try:
        return OPTIMIZERS.build(dict(cfg), params)
    except Exception as e:  # noqa: BLE001 - a bad value of the user's config
        raise _user_error(f"optimizer (optim: {cfg!r})", e) from None


def _registry_scheduler(cfg, optimizer):
    """The scheduler config of the ``sched:`` section for the task."""
    from ._supervised import SCHEDULE_KEYS

    kw = dict(cfg)
    extra = {k: kw.pop(k) for k in SCHEDULE_KEYS if k in kw}
    try:
        return {"scheduler": SCHEDULERS.build(kw, optimizer), **extra}
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"scheduler (sched: {cfg!r})", e) from None


def _optimizer_spec(run: RunConfig):
    spec = {k: v for k, v in run.optim.to_dict().items() if v is not None}
    return spec


def _sched_spec(run: RunConfig):
    if run.sched is None:
        return None
    return {k: v for k, v in run.sched.to_dict().items() if v is not None}


def _check_optim(model, opt_spec, sched_spec):
    """Check the optimizer and scheduler names and arguments through the registries
    (signatures only: nothing is built), so that mistakes are reported before training;
    returns the factories the task builds them with, once."""
    from ._supervised import SCHEDULE_KEYS

    try:
        OPTIMIZERS.check(opt_spec, model.parameters())
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"optimizer (optim: {opt_spec!r})", e) from None
    opt_factory = functools.partial(_registry_optimizer, opt_spec)
    if sched_spec is None:
        return opt_factory, None
    try:
        SCHEDULERS.check({k: v for k, v in sched_spec.items() if k not in SCHEDULE_KEYS},
                         None)  # the optimizer's place: a signature check needs no value
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"scheduler (sched: {sched_spec!r})", e) from None
    return opt_factory, functools.partial(_registry_scheduler, sched_spec)


def _build_task(run: RunConfig, model):
    from ._supervised import ClassificationTask, RegressionTask

    opt_spec, sched_spec = _check_optim(model, _optimizer_spec(run), _sched_spec(run))
    t = run.task
    kw = {"optimizer": opt_spec, "scheduler": sched_spec}
    if t.loss is not None:
        kw["loss"] = t.loss
    if t.metrics is not None:
        kw["metrics"] = list(t.metrics)
    try:
        if t.type == "regression":
            return RegressionTask(model, **kw)
        if t.type == "classification":
            return ClassificationTask(model, num_classes=t.num_classes,
                                      label_smoothing=t.label_smoothing, **kw)
    except (ValueError, TypeError) as e:
        raise _user_error(f"{t.type} task (task:)", e) from None
    # a task from the TASKS registry (a plugin's "language_modeling" ...)
    if t.num_classes is not None:
        kw["num_classes"] = t.num_classes
    if t.label_smoothing:
        kw["label_smoothing"] = t.label_smoothing
    try:
        return TASKS.build({"name": t.type, **t.kwargs, **kw}, model)
    except Exception as e:  # noqa: BLE001 - the task section is the user's config
        raise _user_error(f"task (task.type: {t.type})", e) from None


def _build_callbacks(run: RunConfig):
    out = []
    for i, cb in enumerate(run.trainer.callbacks):
        try:
            out.append(CALLBACKS.build(cb.to_dict()))
        except Exception as e:  # noqa: BLE001
            raise _user_error(f"callback trainer.callbacks[{i}]", e) from None
    return out


def _build_loggers(run: RunConfig, run_dir):
    spec = run.trainer.loggers
    if spec is None or spec is True:
        return None       # the Trainer's defaults: CSV + JSONL (+ TensorBoard)
    if spec is False:
        return False
    out = []
    for i, lg in enumerate(spec):
        cfg = {"name": lg} if isinstance(lg, str) else lg.to_dict()
        if run_dir is not None and "log_dir" not in cfg:
            cfg["log_dir"] = str(run_dir)
        try:
            out.append(LOGGERS.build(cfg))
        except Exception as e:  # noqa: BLE001
            raise _user_error(f"logger trainer.loggers[{i}]", e) from None
    return out


def build_trainer(run: RunConfig, run_dir=None, enable_progress_bar=None):
    """The :class:`~ktrain.train.Trainer` of ``run`` writing to ``run_dir``."""
    from .trainer import Trainer

    kw = run.trainer.to_kwargs()
    kw.pop("callbacks", None)
    kw.pop("loggers", None)
    if run_dir is not None:
        kw["default_root_dir"] = str(run_dir)
    if enable_progress_bar is not None:
        kw["enable_progress_bar"] = bool(enable_progress_bar) and kw["enable_progress_bar"]
    callbacks = _build_callbacks(run)
    loggers = _build_loggers(run, kw.get("default_root_dir"))
    try:
        return Trainer(callbacks=callbacks, loggers=loggers, seed=run.seed,
                       config=run.to_dict(), **kw)
    except (ValueError, TypeError) as e:
        raise _user_error("trainer (trainer:)", e) from None


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
    from ._state import seed_everything

    if run_dir is None:
        run_dir = run_cfg.trainer.default_root_dir or "ktrain_logs"
    run_dir = Path(run_dir)
    if resume is None and run_cfg.resume:
        resume = run_cfg.resume
    if resume is not None and resume != "last" and not Path(str(resume)).is_file():
        raise ConfigError(f"resume: checkpoint not found: {resume}")

    seed_everything(run_cfg.seed)  # model initialisation is reproducible too
    train_loader, val_loader = _build_loaders(run_cfg)
    try:
        model = MODELS.build(run_cfg.model.to_dict())
    except Exception as e:  # noqa: BLE001
        name = run_cfg.model.name or run_cfg.model.kwargs.get("_target_")
        raise _user_error(f"model (model: {name})", e) from None
    check_model(model, run_cfg)
    _check_train_batches(train_loader, run_cfg)
    task = _build_task(run_cfg, model)
    trainer = build_trainer(run_cfg, run_dir, enable_progress_bar=enable_progress_bar)
    if resume is not None:
        from .checkpoint import resolve_checkpoint_path

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
    from ._matplotlib import have_plots, notify_skipped

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
