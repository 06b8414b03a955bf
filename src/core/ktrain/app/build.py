"""The components of a validated run config: datasets, loaders, model checks, task,
optimizer/scheduler (checked through the registries, built once by the task), callbacks,
loggers, trainer. Every problem found here is a user error
(:class:`~ktrain.config.ConfigError` or a registry error), raised before anything trains."""
from __future__ import annotations

import functools
import inspect

from .config import ConfigError, RunConfig
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

__all__ = ["build_model", "build_trainer", "check_checkpoint", "check_model", "make_loader"]

_LOADER_KEYS = ("batch_size", "num_workers", "shuffle", "pin_memory", "drop_last")


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


def build_model(run: RunConfig):
    """The model of ``run`` from the MODELS registry; a build failure becomes a user error
    naming the model, and an empty layer a ConfigError (:func:`check_model`)."""
    try:
        model = MODELS.build(run.model.to_dict())
    except Exception as e:  # noqa: BLE001
        name = run.model.name or run.model.kwargs.get("_target_")
        raise _user_error(f"model (model: {name})", e) from None
    check_model(model, run)
    return model


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
    from ..train.checkpoint import load_checkpoint

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
    from ..train._data import num_batches

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
    from ..train._supervised import SCHEDULE_KEYS

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
    from ..train._supervised import SCHEDULE_KEYS

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
    from ..train._supervised import ClassificationTask, RegressionTask

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
    from ..train.trainer import Trainer

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


