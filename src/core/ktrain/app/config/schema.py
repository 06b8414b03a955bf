"""Typed schemas of a composed run config, and :func:`validate`.

The composed config (an OmegaConf ``DictConfig`` or a plain dict) is checked against the
dataclasses below *before* anything is built or run. Every problem is collected and
reported at once in one :class:`ConfigError`, each line naming the full key path, what
was expected and what was found::

    optim.lr: expected a float, got 'fast' (str)
    data.batch_size: missing required value (???)
    trainer.max_epoch: unknown key; did you mean 'max_epochs'?

Component sections (``model``, ``data``, ``optim``, ``sched``, callbacks, loggers) are
"open": besides their typed fields they accept any extra keyword argument, which lands in
``kwargs`` and is checked later against the component's signature by the registry.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

__all__ = [
    "ComponentConfig",
    "ConfigError",
    "DataConfig",
    "OptimConfig",
    "RunConfig",
    "SchedConfig",
    "TaskConfig",
    "TrainerConfig",
    "to_container",
    "validate",
]

MISSING_VALUE = "???"


class ConfigError(ValueError):
    """A user error in a config: missing file, bad YAML, bad override, failed validation.

    ``problems`` holds one line per problem (the message joins them)."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems) if problems is not None else [str(message)]


# --------------------------------------------------------------------------- schemas
@dataclass
class ComponentConfig:
    """A registry component: ``name`` (or Hydra's ``_target_``) plus free keyword args."""

    __open__ = True
    name: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self):
        return _component_dict(self)


@dataclass
class DataConfig:
    """A dataset/datamodule from the registry plus loader settings."""

    __open__ = True
    name: str | None = None
    batch_size: int = 32
    num_workers: int = 0
    shuffle: bool = True
    pin_memory: bool = False
    drop_last: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self):
        return _component_dict(self)


@dataclass
class OptimConfig:
    """An optimizer by registry name; extra keys (``betas``, ``nesterov`` ...) allowed."""

    __open__ = True
    name: str = MISSING_VALUE
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self):
        return _component_dict(self)


@dataclass
class SchedConfig:
    """A learning-rate scheduler by registry name, with how often it steps."""

    __open__ = True
    name: str = MISSING_VALUE
    interval: Literal["epoch", "step"] = "epoch"
    frequency: int = 1
    monitor: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self):
        return _component_dict(self)


@dataclass
class TaskConfig:
    """What is learned: ``type`` is ``classification`` (:class:`ktrain.train.
    ClassificationTask`), ``regression`` or any name of the ``TASKS`` registry (a plugin's
    ``language_modeling`` ...); extra keys are keyword arguments of that task."""

    __open__ = True
    type: str = "classification"
    loss: str | None = None
    metrics: list[str] | None = None
    num_classes: int | None = None
    label_smoothing: float = 0.0
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self):
        return _component_dict(self)


@dataclass
class TrainerConfig:
    """Arguments of :class:`ktrain.train.Trainer` (``seed`` is the run's top-level one)."""

    max_epochs: int | None = None
    max_steps: int = -1
    device: str = "cpu"
    precision: Literal["32", "32-true", "16-mixed", "16", "bf16-mixed", "bf16"] = "32"
    accumulate_grad_batches: int = 1
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: Literal["norm", "value"] = "norm"
    val_check_interval: int | float = 1.0
    check_val_every_n_epoch: int | None = 1
    log_every_n_steps: int = 50
    default_root_dir: str | None = None
    deterministic: bool = False
    enable_progress_bar: bool = True
    enable_checkpointing: bool = True
    enable_plots: bool = True
    enable_nan_guard: bool = True
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    limit_test_batches: int | float | None = None
    limit_predict_batches: int | float | None = None
    num_sanity_val_steps: int = 0
    checkpoint_every_n_steps: int | None = None
    num_threads: int | Literal["auto"] | None = "auto"
    profiler: Literal["simple", "advanced"] | None = None
    callbacks: list[ComponentConfig] = field(default_factory=list)
    loggers: bool | list[str | ComponentConfig] | None = None

    def to_kwargs(self):
        """Keyword arguments for ``Trainer(...)`` (callbacks/loggers left as configs)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass
class RunConfig:
    """The whole composed run: what ``ktrain fit`` builds and trains."""

    experiment: str = MISSING_VALUE
    seed: int = 0
    model: ComponentConfig = MISSING_VALUE
    data: DataConfig = MISSING_VALUE
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam"))
    sched: SchedConfig | None = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    resume: str | None = None
    #: modules whose ``_target_`` s this config may build besides ktrain's and the
    #: installed plugins' (``[my_pkg]``: ``my_pkg`` and ``my_pkg.*``); see
    #: :mod:`ktrain.target_policy`. Not honoured when a run directory is opened.
    allow_targets: list[str] = field(default_factory=list)

    def to_dict(self):
        return to_container(self)


def _component_dict(obj):
    out = {}
    for f in dataclasses.fields(obj):
        if f.name != "kwargs":
            out[f.name] = to_container(getattr(obj, f.name))
    out.update({k: to_container(v) for k, v in obj.kwargs.items()})
    return out


def to_container(obj):
    """Plain dicts/lists from a schema instance (component kwargs flattened back)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if getattr(obj, "__open__", False):
            return _component_dict(obj)
        return {f.name: to_container(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_container(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_container(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- validation
_UNIONS = (Union, types.UnionType)  # Optional[X] and X | None
_HINTS: dict = {}


def _hints(cls):
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _describe(tp):
    """A phrase for what type ``tp`` expects ('a float', 'one of ...')."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return "any value"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in _UNIONS:
        parts = [_describe(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return text + " or null" if type(None) in args else text
    if origin in (list, list):
        return f"a list of {_plural(args[0])}" if args else "a list"
    if origin in (dict, dict):
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping (a config section)"
    return {int: "an int", float: "a float", str: "a string", bool: "a boolean"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _plural(tp):
    d = _describe(tp)
    for art in ("an ", "a "):
        if d.startswith(art):
            return d[len(art):] + "s"
    return d


def _found(value):
    if isinstance(value, (dict, list)):
        kind = "mapping" if isinstance(value, dict) else "list"
        return f"a {kind}"
    return f"{value!r} ({type(value).__name__})"


def _join(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class _Checker:
    def __init__(self):
        self.problems = []

    def error(self, path, msg):
        self.problems.append(f"{path or '<root>'}: {msg}")

    def check(self, value, tp, path):
        """``(ok, converted)``; problems are recorded, never raised."""
        if isinstance(value, str) and value == MISSING_VALUE:
            self.error(path, f"missing required value (???); expected {_describe(tp)}")
            return False, None
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is Any:
            return True, value
        if origin in _UNIONS:
            if value is None:
                if type(None) in args:
                    return True, None
                self.error(path, f"expected {_describe(tp)}, got null")
                return False, None
            for alt in args:  # first alternative that accepts it, silently
                if alt is type(None):
                    continue
                sub = _Checker()
                ok, out = sub.check(value, alt, path)
                if ok:
                    return True, out
            # report through the alternative of matching shape, if any, else generically
            shaped = [a for a in args if a is not type(None) and self._shape_matches(value, a)]
            if len(shaped) == 1:
                return self.check(value, shaped[0], path)
            self.error(path, f"expected {_describe(tp)}, got {_found(value)}")
            return False, None
        if value is None:
            self.error(path, f"expected {_describe(tp)}, got null")
            return False, None
        if origin is Literal:
            if value in args and type(value) in {type(a) for a in args}:
                return True, value
            if isinstance(value, int) and not isinstance(value, bool) and \
                    all(isinstance(a, str) for a in args) and str(value) in args:
                return True, str(value)  # precision: 32 written without quotes
            hint = ""
            if isinstance(value, str):
                close = difflib.get_close_matches(value, [str(a) for a in args], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
            self.error(path, f"expected {_describe(tp)}, got {_found(value)}{hint}")
            return False, None
        if origin in (list, list):
            if not isinstance(value, (list, tuple)):
                self.error(path, f"expected {_describe(tp)}, got {_found(value)}")
                return False, None
            ok, out = True, []
            for i, item in enumerate(value):
                good, conv = self.check(item, args[0] if args else Any, _join(path, i))
                ok &= good
                out.append(conv)
            return ok, out
        if origin in (dict, dict):
            if not isinstance(value, dict):
                self.error(path, f"expected a mapping, got {_found(value)}")
                return False, None
            return True, dict(value)
        if dataclasses.is_dataclass(tp):
            return self.check_section(value, tp, path)
        if tp is bool:
            if isinstance(value, bool):
                return True, value
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return True, value
        elif tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True, float(value)
        elif tp is str:
            if isinstance(value, str):
                return True, value
        elif isinstance(value, tp):
            return True, value
        self.error(path, f"expected {_describe(tp)}, got {_found(value)}")
        return False, None

    @staticmethod
    def _shape_matches(value, tp):
        origin = typing.get_origin(tp)
        if isinstance(value, dict):
            return dataclasses.is_dataclass(tp) or origin in (dict, dict)
        if isinstance(value, (list, tuple)):
            return origin in (list, list)
        return False

    def check_section(self, value, cls, path):
        if not isinstance(value, dict):
            self.error(path, f"expected {_describe(cls)}, got {_found(value)}")
            return False, None
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        is_open = getattr(cls, "__open__", False)
        known = [n for n in fields if not (is_open and n == "kwargs")]
        ok, kwargs, values = True, {}, {}
        for key, val in value.items():
            key = str(key)
            if key in known:
                good, conv = self.check(val, hints[key], _join(path, key))
                ok &= good
                values[key] = conv
            elif is_open:
                if isinstance(val, str) and val == MISSING_VALUE:
                    self.error(_join(path, key), "missing required value (???)")
                    ok = False
                kwargs[key] = val
            else:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else \
                    f"; valid keys: {', '.join(known)}"
                self.error(_join(path, key), f"unknown key{hint}")
                ok = False
        for name in known:
            f = fields[name]
            if name in values:
                continue
            has_default = f.default is not dataclasses.MISSING or \
                f.default_factory is not dataclasses.MISSING
            if not has_default or (f.default_factory is dataclasses.MISSING
                                   and isinstance(f.default, str)
                                   and f.default == MISSING_VALUE):
                self.error(_join(path, name),
                           f"missing required value; expected {_describe(hints[name])}")
                ok = False
        if is_open and "name" in known and values.get("name") is None \
                and "_target_" not in kwargs and ok:
            self.error(_join(path, "name"), "missing required value; expected a string (a "
                       "registry name) or a '_target_' (a class path)")
            ok = False
        if not ok:
            return False, None
        if is_open:
            values["kwargs"] = kwargs
        return True, cls(**values)


def _plain(cfg):
    """A plain, resolved container from a DictConfig, a dict or a RunConfig."""
    if isinstance(cfg, RunConfig):
        return to_container(cfg)
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
        from omegaconf.errors import OmegaConfBaseException
    except ImportError:  # pragma: no cover - omegaconf comes with hydra-core
        return cfg
    if isinstance(cfg, DictConfig) and "hydra" in cfg:  # Hydra's own node, if kept
        cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    if isinstance(cfg, (DictConfig, ListConfig)):
        try:
            return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
        except OmegaConfBaseException as e:
            key = getattr(e, "full_key", None) or "<root>"
            msg = str(e).split("\n")[0]
            raise ConfigError(f"invalid config:\n  {key}: cannot resolve: {msg}",
                              [f"{key}: cannot resolve: {msg}"]) from None
    return cfg


def _target_problems(data, ok, run, target_policy):
    """Problems of the config's ``_target_`` s under ``target_policy`` (None: the config's
    own ``allow_targets`` on top of ktrain and the installed plugins) and of its
    ``allow_targets`` entries."""
    from ...target_policy import TargetPolicy, check_targets, valid_modules

    problems, allowed = [], []
    raw = run.allow_targets if ok else data.get("allow_targets")
    for i, m in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(m, str):
            continue  # reported by the type check
        try:
            allowed += valid_modules([m])
        except ConfigError:
            problems.append(f"allow_targets[{i}]: expected a module name such as my_pkg "
                            f"or my_pkg.models, got {m!r}")
    policy = (target_policy or TargetPolicy()).with_config(allowed)
    return problems, check_targets(data, policy)


def _check_trainer_counts(checker, tr):
    """Values that would train forever, or on nothing, without an error."""
    if tr.max_epochs is not None and (tr.max_epochs == 0 or tr.max_epochs < -1):
        checker.error("trainer.max_epochs", "expected an int >= 1, -1 (no epoch limit) or "
                      f"null, got {tr.max_epochs}")
    if tr.max_steps == 0 or tr.max_steps < -1:
        checker.error("trainer.max_steps", "expected an int >= 1 or -1 (no step limit), got "
                      f"{tr.max_steps}")
    for split in ("train", "val", "test", "predict"):
        key = f"limit_{split}_batches"
        v = getattr(tr, key)
        if v is None:
            continue
        if v < 0 or (isinstance(v, float) and v > 1):
            low = "(0, 1]" if split == "train" else "[0, 1]"
            checker.error(f"trainer.{key}", f"expected null, a fraction in {low} or a number "
                          f"of batches >= {int(split == 'train')}, got {v!r}")
        elif v == 0 and split == "train":
            checker.error(f"trainer.{key}", "0 trains on no batch at all; expected null, a "
                          "fraction in (0, 1] or a number of batches >= 1")
    if tr.log_every_n_steps < 1:
        checker.error("trainer.log_every_n_steps",
                      f"expected an int >= 1, got {tr.log_every_n_steps}")
    for key in ("check_val_every_n_epoch", "checkpoint_every_n_steps"):
        v = getattr(tr, key)
        if v is not None and v < 1:
            checker.error(f"trainer.{key}", f"expected an int >= 1 or null, got {v}")
    if tr.num_sanity_val_steps < -1:
        checker.error("trainer.num_sanity_val_steps",
                      f"expected an int >= 0 or -1 (all), got {tr.num_sanity_val_steps}")


def _check_experiment(checker, name):
    """The experiment names a folder under the output root: never one outside it."""
    import os.path
    import re

    parts = re.split(r"[\\/]+", name)
    if not name.strip() or os.path.isabs(name) or re.match(r"^[A-Za-z]:", name) \
            or any(p in ("..", ".", "") for p in parts) or "\0" in name:
        checker.error("experiment", "expected a name (or a relative path like group/name) "
                      f"inside the output directory, got {name!r}")


def validate(cfg, target_policy=None) -> RunConfig:
    """Check a composed config against :class:`RunConfig` and return the typed config.

    Every ``_target_`` (any depth, any section) must be allowed by ``target_policy``
    (a :class:`ktrain.target_policy.TargetPolicy`; None: ktrain, the installed plugins
    and the config's own ``allow_targets``).

    Raises one :class:`ConfigError` listing every problem (key path, expected, found);
    an :class:`~ktrain.target_policy.UntrustedTargetError` when a target is refused."""
    data = _plain(cfg)
    checker = _Checker()
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config: expected a mapping at the top level, got "
                          f"{_found(data)}")
    data = {k: v for k, v in data.items() if k != "hydra"}  # Hydra's own node, if kept
    ok, run = checker.check_section(data, RunConfig, "")
    if ok:
        t = run.task
        if t.type == "regression" and (t.num_classes is not None or t.label_smoothing):
            checker.error("task", "num_classes/label_smoothing apply only to task.type "
                          "'classification'")
        if t.type not in ("classification", "regression"):
            from ...registry import TASKS, RegistryError

            try:
                TASKS.resolve_name(t.type)
            except RegistryError as e:
                checker.error("task.type", str(e))
        elif t.kwargs:
            close = difflib.get_close_matches(next(iter(t.kwargs)), [
                "type", "loss", "metrics", "num_classes", "label_smoothing"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            checker.error(f"task.{next(iter(t.kwargs))}",
                          f"unknown key for task.type {t.type!r}{hint} (valid keys: type, "
                          "loss, metrics, num_classes, label_smoothing)")
        tr = run.trainer
        if tr.accumulate_grad_batches < 1:
            checker.error("trainer.accumulate_grad_batches",
                          f"expected an int >= 1, got {tr.accumulate_grad_batches}")
        v = tr.val_check_interval
        if (isinstance(v, float) and not 0 < v <= 1) or (isinstance(v, int) and v < 1):
            checker.error("trainer.val_check_interval", "expected a float in (0, 1] (fraction "
                          f"of an epoch) or an int >= 1 (batches), got {v!r}")
        _check_trainer_counts(checker, tr)
        _check_experiment(checker, run.experiment)
        if run.data.batch_size < 1:
            checker.error("data.batch_size", f"expected an int >= 1, got {run.data.batch_size}")
        if run.optim.lr < 0:
            checker.error("optim.lr", f"expected a float >= 0, got {run.optim.lr}")
    bad_allow, refused = _target_problems(data, ok, run, target_policy)
    checker.problems += bad_allow + refused
    if checker.problems:
        n = len(checker.problems)
        head = "invalid config" + (f" ({n} problems)" if n > 1 else "") + ":"
        if refused:
            from ...target_policy import UntrustedTargetError as error
        else:
            error = ConfigError
        raise error("\n  ".join([head] + checker.problems), checker.problems)
    return run
