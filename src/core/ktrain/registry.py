"""Component registries: names -> builders for models, datasets, losses, optimizers ...

A component in a config is a registry name plus keyword arguments::

    MODELS.build({"name": "mlp", "in_features": 4, "num_classes": 3})
    OPTIMIZERS.build({"name": "sgd", "lr": 0.1}, params=model.parameters())
    with allow_targets("my_pkg"):                                  # Hydra style: only
        MODELS.build({"_target_": "my_pkg.models.Net", "width": 8})  # allowed modules

Registering::

    @MODELS.register("tiny")          # decorator
    class Tiny(nn.Module): ...
    MODELS.register("mlp", "ktrain.models:MLP")   # lazy "module:attr" target: imported on use

Names may be namespaced (``vision.resnet18``); a bare name (``resnet18``) resolves when
exactly one namespaced entry ends with it. Plugins (``ktrain.plugins``) register under
their entry-point name as namespace; they are loaded on the first lookup miss. An unknown
name raises :class:`UnknownComponentError` listing what exists, the close matches, and
the pip command when a known first-party plugin provides it.

A ``_target_`` builds only what :mod:`ktrain.target_policy` allows (ktrain, installed
plugins, modules the user allows: ``from ktrain.target_policy import allow_targets``).

Importing this module is cheap: core components are registered as string targets.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

__all__ = [
    "CALLBACKS",
    "DATASETS",
    "KNOWN_PLUGINS",
    "LOGGERS",
    "LOSSES",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "REGISTRIES",
    "SCHEDULERS",
    "TASKS",
    "TRANSFORMS",
    "AmbiguousComponentError",
    "ComponentArgumentError",
    "ComponentImportError",
    "DuplicateComponentError",
    "Registry",
    "RegistryError",
    "UnknownComponentError",
    "build_from_target",
    "get_registry",
    "locate",
    "registries",
]


# ----------------------------------------------------------------------------- errors
class RegistryError(LookupError):
    """Base class of registry errors (a user error: the message says what to do)."""

    def __str__(self):  # KeyError-like subclasses would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnknownComponentError(RegistryError, KeyError):
    """No component of that name (after loading plugins)."""


class AmbiguousComponentError(RegistryError, KeyError):
    """A bare name matches several namespaced components."""


class DuplicateComponentError(RegistryError, ValueError):
    """A name registered twice."""


class ComponentArgumentError(RegistryError, TypeError):
    """The keyword arguments do not fit the component's signature."""


class ComponentImportError(RegistryError, ImportError):
    """A lazy ``module:attr`` target could not be imported."""


# ------------------------------------------------------------------- first-party plugins
#: Known first-party plugins: namespace -> distribution, checkout path and what it provides
#: (by registry kind). Used only to say which pip command to run for an unknown name.
KNOWN_PLUGINS: dict[str, dict[str, Any]] = {
    "vision": {
        "distribution": "ktrain-vision",
        "path": "src/vision",
        "provides": {
            "model": ["lenet5", "convnet", "resnet20", "resnet32", "resnet44", "resnet56",
                      "resnet110", "resnet18", "resnet34", "resnet50", "resnet101",
                      "resnet152", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn",
                      "vgg16_bn", "vgg19_bn", "mobilenet_v2"],
            "dataset": ["mnist", "fashion_mnist", "kmnist", "emnist", "cifar10", "cifar100",
                        "svhn", "image_folder", "dataset_folder", "fake_data", "digits"],
            "transform": ["compose", "to_tensor", "pil_to_tensor", "to_dtype",
                          "convert_image_dtype", "normalize", "resize", "center_crop",
                          "random_crop", "random_resized_crop", "random_horizontal_flip",
                          "random_vertical_flip", "random_rotation", "random_affine",
                          "color_jitter", "grayscale", "random_grayscale", "gaussian_blur",
                          "random_erasing", "trivial_augment_wide", "rand_augment", "mixup",
                          "cutmix", "pad"],
        },
    },
    "text": {
        "distribution": "ktrain-text",
        "path": "src/text",
        "provides": {
            "model": ["text_cnn", "textcnn", "bilstm_classifier", "bigru_classifier",
                      "lstm_classifier", "rnn_classifier", "transformer_classifier",
                      "bag_of_words", "gpt", "char_gpt"],
            "dataset": ["text_classification", "text_folder", "language_modeling", "ag_news",
                        "imdb", "sst2", "wikitext2", "wikitext103"],
            "task": ["language_modeling"],
        },
    },
    "audio": {
        "distribution": "ktrain-audio",
        "path": "src/audio",
        "provides": {
            "model": ["m5", "kws_cnn", "kws_resnet", "ctc_recognizer"],
            "dataset": ["audio_folder", "fsdd", "speech_commands", "yesno", "librispeech"],
            "transform": ["spectrogram", "inverse_spectrogram", "griffin_lim", "mel_scale",
                          "mel_spectrogram", "mfcc", "amplitude_to_db", "resample",
                          "frequency_masking", "time_masking", "add_noise", "gain", "vol",
                          "fade", "random_time_shift", "pad_trim"],
            "task": ["ctc"],
            "callback": ["spectrogram_plot"],
        },
    },
}


def _known_plugin_for(kind: str, name: str):
    """(namespace, info) of a known first-party plugin providing ``name`` of ``kind``."""
    ns, _, bare = name.rpartition(".")
    bare = bare.lower()
    hits = []
    for key, info in KNOWN_PLUGINS.items():
        if ns and ns != key:
            continue
        provides = info["provides"]
        if bare in provides.get(kind, ()):
            return key, info
        if any(bare in names for names in provides.values()):
            hits.append((key, info))
    if ns and ns in KNOWN_PLUGINS and not hits:
        return ns, KNOWN_PLUGINS[ns]  # "vision.something": still the vision plugin
    return hits[0] if hits else None


def _install_hint(key: str, info: dict) -> str:
    return (f"`pip install {info['distribution']}` (or, from a ktrain checkout: "
            f"`pip install -e {info['path']}`)")


# ------------------------------------------------------------------------------ helpers
def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def locate(path: str) -> Any:
    """Import ``"pkg.mod:attr.sub"`` or ``"pkg.mod.Class"`` (longest importable prefix)."""
    if not isinstance(path, str) or not path:
        raise ComponentImportError(f"not an import path: {path!r}")
    if ":" in path:
        mod_name, _, attr = path.partition(":")
        obj = importlib.import_module(mod_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        return obj
    parts = path.split(".")
    err = None
    for i in range(len(parts), 0, -1):
        mod_name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(mod_name)
        except ModuleNotFoundError as e:
            # only swallow "this very prefix does not exist"; a missing dependency inside
            # an existing module is a real error
            if e.name and not (mod_name == e.name or mod_name.startswith(e.name + ".")):
                raise
            err = e
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError as e:
            raise ComponentImportError(f"cannot locate {path!r}: {e}") from e
        return obj
    raise ComponentImportError(f"cannot locate {path!r}: no importable module in it "
                               f"({err})")


def _caller_origin() -> str:
    """file:line of the first frame outside this module and ktrain.plugins."""
    here = {os.path.abspath(__file__)}
    plugins_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins.py")
    here.add(plugins_file)
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename) in here:
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


def _to_dict(cfg) -> dict:
    if isinstance(cfg, dict):
        return dict(cfg)
    try:  # OmegaConf DictConfig without importing omegaconf eagerly
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True)
    except ImportError:
        pass
    if isinstance(cfg, Mapping):
        return dict(cfg)
    if hasattr(cfg, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(cfg)
    raise TypeError(f"a component config must be a name or a mapping, got "
                    f"{type(cfg).__name__}: {cfg!r}")


def _accepted(target) -> tuple[inspect.Signature | None, list[str]]:
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None, []
    names = [p.name for p in sig.parameters.values()
             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return sig, names


def _check_arguments(what: str, target, args, kwargs) -> None:
    sig, names = _accepted(target)
    if sig is None:
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        msg = f"cannot build {what}: {e}."
        unknown = [k for k in kwargs if k not in names] if not any(
            p.kind == p.VAR_KEYWORD for p in sig.parameters.values()) else []
        for k in unknown:
            close = difflib.get_close_matches(k, names, n=1)
            if close:
                msg += f" Unknown argument {k!r}: did you mean {close[0]!r}?"
        required = [p.name for p in sig.parameters.values()
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL,
                                                               p.VAR_KEYWORD)]
        msg += f" Accepted arguments: {', '.join(names) or '(none)'}"
        if required:
            msg += f"; required: {', '.join(required)}"
        raise ComponentArgumentError(msg + ".") from None


def _resolve_target(target_path, what=None):
    """The object a ``_target_`` names, if the active target policy allows it
    (:mod:`ktrain.target_policy`: ktrain, installed plugins, allowed modules): the string
    is checked before anything is imported, the located object after."""
    from .target_policy import UntrustedTargetError, active_policy

    if not isinstance(target_path, str):
        return target_path  # a callable given by Python code, not by a config
    policy = active_policy()
    try:
        policy.check_path(target_path)
        try:
            target = locate(target_path)
        except ComponentImportError:
            raise
        except Exception as e:  # ImportError inside the module, AttributeError ...
            raise ComponentImportError(f"cannot import _target_ {target_path!r}: "
                                       f"{type(e).__name__}: {e}") from e
        policy.check_object(target_path, target)
    except UntrustedTargetError as e:
        raise UntrustedTargetError(f"{what or '_target_'}: {e}") from None
    return target


def build_from_target(cfg, *args, what: str | None = None, **kwargs):
    """Build a Hydra-style ``{"_target_": "pkg.mod.Class", ...}`` config.

    The target (and every nested one) must be allowed by the active target policy
    (:func:`ktrain.target_policy.active_policy`): a component of ktrain or of an
    installed plugin, or under a module allowed with ``allow_targets``; otherwise
    :class:`~ktrain.target_policy.UntrustedTargetError` is raised before anything is
    imported or called."""
    cfg = _to_dict(cfg)
    target_path = cfg.pop("_target_")
    target = _resolve_target(target_path, what)  # before any nested target is built
    partial = bool(cfg.pop("_partial_", False))
    recursive = bool(cfg.pop("_recursive_", True))
    cfg.pop("_convert_", None)
    if "_args_" in cfg:
        args = tuple(cfg.pop("_args_")) + tuple(args)
    if recursive:  # nested {_target_: ...} values are built first, as Hydra does
        def nested(v):
            if isinstance(v, Mapping) and "_target_" in v:
                return build_from_target(v)
            if isinstance(v, list):
                return [nested(i) for i in v]
            return v
        cfg = {k: nested(v) for k, v in cfg.items()}
        args = tuple(nested(a) for a in args)
    cfg.update(kwargs)
    what = what or f"_target_ {target_path!r}"
    if partial:
        import functools

        return functools.partial(target, *args, **cfg)
    _check_arguments(what, target, args, cfg)
    return target(*args, **cfg)


# ----------------------------------------------------------------------------- registry
@dataclass
class _Entry:
    name: str
    target: Any                  # callable, or "module:attr" string (lazy)
    origin: str                  # where it was registered (for duplicate errors)
    plugin: str | None = None    # plugin (entry-point name) that registered it
    help: str = ""
    resolved: Any = field(default=None, repr=False)


class Registry:
    """A name -> builder mapping for one kind of component (``Registry("model")``)."""

    def __init__(self, name: str, *, plural: str | None = None):
        self.name = name                   # singular kind: "model", "dataset" ...
        self.plural = plural or name + "s"
        self._entries: dict[str, _Entry] = {}
        self._current_plugin: str | None = None     # set by ktrain.plugins while loading

    # ------------------------------------------------------------------ registration
    def register(self, name=None, target=None, *, override: bool = False, help: str = "",
                 _origin: str | None = None):
        """Register ``target`` under ``name``. As a decorator: ``@R.register("name")``,
        ``@R.register()`` or ``@R.register`` (name = snake_case of the object's name).
        ``target`` may be a ``"module:attr"`` string, imported on first use."""
        if target is None and name is not None and not isinstance(name, str):
            obj = name  # bare decorator @R.register
            self._add(_snake(obj.__name__), obj, override, help, _origin)
            return obj
        if target is None:
            def deco(obj):
                self._add(name or _snake(obj.__name__), obj, override, help, _origin)
                return obj
            return deco
        if name is None:
            name = _snake(target.__name__)
        self._add(name, target, override, help, _origin)
        return target

    def _add(self, name, target, override, help, origin):
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"invalid {self.name} name {name!r}")
        if not (callable(target) or isinstance(target, str)):
            raise TypeError(f"{self.name} {name!r}: target must be callable or a "
                            f"'module:attr' string, got {type(target).__name__}")
        origin = origin or _caller_origin()
        if self._current_plugin:
            origin = f"plugin {self._current_plugin!r} ({origin})"
        old = self._entries.get(name)
        if old is not None and not override:
            if old.target is target or (isinstance(target, str) and old.target == target):
                return  # re-registering the very same thing (module re-import) is harmless
            raise DuplicateComponentError(
                f"{self.name} {name!r} is already registered (first registered by "
                f"{old.origin}); now registered again at {origin}. Choose another name, "
                f"or pass override=True to replace it.")
        self._entries[name] = _Entry(name, target, origin, self._current_plugin, help)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    # ------------------------------------------------------------------------ lookup
    def _find(self, name: str) -> _Entry | None:
        e = self._entries.get(name)
        if e is not None:
            return e
        if "." not in name:
            cands = [k for k in self._entries if k.rsplit(".", 1)[-1] == name]
            if len(cands) == 1:
                return self._entries[cands[0]]
            if len(cands) > 1:
                raise AmbiguousComponentError(
                    f"{self.name} name {name!r} is ambiguous: it matches "
                    f"{', '.join(sorted(cands))}. Use the full (namespaced) name.")
        return None

    def _entry(self, name: str) -> _Entry:
        if not isinstance(name, str):
            raise TypeError(f"{self.name} name must be a string, got {name!r}")
        e = self._find(name)
        if e is None:
            from . import plugins

            if plugins._autoload():       # first miss: load plugins, then look again
                e = self._find(name)
        if e is None:
            raise UnknownComponentError(self._unknown_message(name))
        return e

    def _unknown_message(self, name: str) -> str:
        names = self.names()
        bare = sorted({n.rsplit(".", 1)[-1] for n in names} | set(names))
        close = difflib.get_close_matches(name, bare, n=3, cutoff=0.6)
        if not close and "." in name:
            close = difflib.get_close_matches(name.rsplit(".", 1)[-1], bare, n=3, cutoff=0.6)
        msg = f"unknown {self.name} {name!r}."
        known = _known_plugin_for(self.name, name)
        if known is not None:
            key, info = known
            from . import plugins

            mine = [p for p in plugins.loaded_plugins()
                    if p.name == key or p.distribution == info["distribution"]]
            broken = [p for p in mine if p.error]
            if broken:
                msg += (f" It is provided by the plugin {info['distribution']}, which is "
                        f"installed but failed to load: {broken[0].error}")
            elif mine:
                msg += (f" The plugin {info['distribution']} is installed but registers no "
                        f"{self.name} of that name (an older version?).")
            else:
                msg += (f" It is provided by the plugin {info['distribution']}, which is not "
                        f"installed: run {_install_hint(key, info)}.")
        if close:
            msg += f" Did you mean: {', '.join(close)}?"
        shown = names if len(names) <= 40 else names[:40] + [f"... ({len(names) - 40} more)"]
        msg += f" Available {self.plural}: {', '.join(shown) or '(none)'}."
        return msg

    def get(self, name: str):
        """The builder (class or function) registered under ``name``."""
        e = self._entry(name)
        if e.resolved is None:
            if isinstance(e.target, str):
                try:
                    e.resolved = locate(e.target)
                except Exception as exc:
                    src = f" (from plugin {e.plugin!r})" if e.plugin else ""
                    raise ComponentImportError(
                        f"{self.name} {e.name!r}{src}: cannot import its target "
                        f"{e.target!r}: {type(exc).__name__}: {exc}") from exc
            else:
                e.resolved = e.target
        return e.resolved

    def resolve_name(self, name: str) -> str:
        """The full registered name ``name`` refers to (``resnet18`` -> ``vision.resnet18``)."""
        return self._entry(name).name

    def build(self, cfg, *args, **kwargs):
        """Build from a name (``"mlp"``) or a mapping ``{name: mlp, **kwargs}`` /
        ``{_target_: "pkg.mod.Class", **kwargs}``; extra ``*args``/``**kwargs`` (e.g.
        ``params=`` for an optimizer) are passed along and take precedence."""
        if isinstance(cfg, str):
            cfg = {"name": cfg}
        cfg = _to_dict(cfg)
        if "_target_" in cfg:
            if "name" in cfg and cfg["name"] is None:
                del cfg["name"]  # a schema section's unset name, not an argument
            return build_from_target(cfg, *args, what=f"{self.name} {cfg['_target_']!r}",
                                     **kwargs)
        if "name" not in cfg:
            raise ComponentArgumentError(
                f"a {self.name} config needs a 'name' (one of: {', '.join(self.names())}) "
                f"or a '_target_'; got keys {sorted(cfg)}")
        name = cfg.pop("name")
        target = self.get(name)
        cfg.update(kwargs)
        full = self.resolve_name(name)
        _check_arguments(f"{self.name} {full!r}", target, args, cfg)
        return target(*args, **cfg)

    def signature(self, name: str):
        return inspect.signature(self.get(name))

    # --------------------------------------------------------------------- listing
    def names(self) -> list[str]:
        return sorted(self._entries)

    def list(self, pattern: str | None = None) -> list[str]:
        """Registered names, optionally filtered by a glob (``"resnet*"``; matches the
        full or the bare name)."""
        names = self.names()
        if pattern is None:
            return names
        return [n for n in names if fnmatch.fnmatchcase(n, pattern)
                or fnmatch.fnmatchcase(n.rsplit(".", 1)[-1], pattern)]

    def entries(self) -> dict[str, _Entry]:
        return dict(self._entries)

    def __contains__(self, name) -> bool:
        try:
            return self._find(name) is not None
        except AmbiguousComponentError:
            return True

    def __iter__(self):
        return iter(self.names())

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return f"Registry({self.name!r}, {len(self)} entries)"


# ------------------------------------------------------------------------ the registries
MODELS = Registry("model")
DATASETS = Registry("dataset")
TRANSFORMS = Registry("transform")
LOSSES = Registry("loss", plural="losses")
OPTIMIZERS = Registry("optimizer")
SCHEDULERS = Registry("scheduler")
METRICS = Registry("metric")
CALLBACKS = Registry("callback")
LOGGERS = Registry("logger")
TASKS = Registry("task")

#: attribute name -> registry; what a plugin's ``register(registries)`` receives (as attributes)
REGISTRIES: dict[str, Registry] = {
    "models": MODELS, "datasets": DATASETS, "transforms": TRANSFORMS, "losses": LOSSES,
    "optimizers": OPTIMIZERS, "schedulers": SCHEDULERS, "metrics": METRICS,
    "callbacks": CALLBACKS, "loggers": LOGGERS, "tasks": TASKS,
}

#: the registries as a namespace: ``registries.models``, ``registries.MODELS`` ...
registries = SimpleNamespace(**REGISTRIES, **{k.upper(): v for k, v in REGISTRIES.items()})


def get_registry(kind: str) -> Registry:
    """A registry by plural or singular name (``"models"``, ``"model"``, ``"optim"``)."""
    aliases = {"optim": "optimizers", "sched": "schedulers", "data": "datasets",
               "loss": "losses", "criterion": "losses"}
    k = aliases.get(kind, kind)
    if k in REGISTRIES:
        return REGISTRIES[k]
    for r in REGISTRIES.values():
        if r.name == k:
            return r
    raise KeyError(f"no registry {kind!r}; registries: {', '.join(REGISTRIES)}")


# --------------------------------------------------------------- core registrations (lazy)
_CORE = "ktrain core"


def _core(reg: Registry, table: dict[str, str]) -> None:
    for name, target in table.items():
        reg.register(name, target, _origin=_CORE)


_L = "ktrain.nn.modules.loss:"
_core(LOSSES, {
    "cross_entropy": _L + "CrossEntropyLoss", "nll": _L + "NLLLoss", "mse": _L + "MSELoss",
    "l1": _L + "L1Loss", "bce": _L + "BCELoss", "bce_with_logits": _L + "BCEWithLogitsLoss",
    "smooth_l1": _L + "SmoothL1Loss", "huber": _L + "HuberLoss", "kl_div": _L + "KLDivLoss",
    "cosine_embedding": _L + "CosineEmbeddingLoss",
    "margin_ranking": _L + "MarginRankingLoss", "hinge_embedding": _L + "HingeEmbeddingLoss",
    "triplet_margin": _L + "TripletMarginLoss", "soft_margin": _L + "SoftMarginLoss",
    "multilabel_soft_margin": _L + "MultiLabelSoftMarginLoss",
    "gaussian_nll": _L + "GaussianNLLLoss", "poisson_nll": _L + "PoissonNLLLoss",
    "ctc": _L + "CTCLoss",
})
_core(OPTIMIZERS, {
    "sgd": "ktrain.optim:SGD", "adam": "ktrain.optim:Adam", "adamw": "ktrain.optim:AdamW",
    "adagrad": "ktrain.optim:Adagrad", "adadelta": "ktrain.optim:Adadelta",
    "adamax": "ktrain.optim:Adamax", "nadam": "ktrain.optim:NAdam",
    "radam": "ktrain.optim:RAdam", "rmsprop": "ktrain.optim:RMSprop",
    "lbfgs": "ktrain.optim:LBFGS",
})
_S = "ktrain.optim.lr_scheduler:"
_core(SCHEDULERS, {
    "step": _S + "StepLR", "multistep": _S + "MultiStepLR", "exponential": _S + "ExponentialLR",
    "cosine": _S + "CosineAnnealingLR", "cosine_warm_restarts": _S + "CosineAnnealingWarmRestarts",
    "onecycle": _S + "OneCycleLR", "cyclic": _S + "CyclicLR", "linear": _S + "LinearLR",
    "constant": _S + "ConstantLR", "polynomial": _S + "PolynomialLR",
    "plateau": _S + "ReduceLROnPlateau", "lambda": _S + "LambdaLR",
    "multiplicative": _S + "MultiplicativeLR", "sequential": _S + "SequentialLR",
    "chained": _S + "ChainedScheduler",
})
_M = "ktrain.metrics:"
_core(METRICS, {
    "accuracy": _M + "Accuracy", "precision": _M + "Precision", "recall": _M + "Recall",
    "f1": _M + "F1Score", "fbeta": _M + "FBetaScore", "confusion_matrix": _M + "ConfusionMatrix",
    "auroc": _M + "AUROC", "mse": _M + "MeanSquaredError", "mae": _M + "MeanAbsoluteError",
    "perplexity": _M + "Perplexity",
})
_C = "ktrain.train.callbacks:"
_core(CALLBACKS, {
    "model_checkpoint": _C + "ModelCheckpoint", "early_stopping": _C + "EarlyStopping",
    "lr_monitor": _C + "LearningRateMonitor", "grad_norm": _C + "GradientNormMonitor",
    "timer": _C + "Timer", "progress_bar": _C + "ProgressBar", "nan_guard": _C + "NaNGuard",
    "plots": _C + "PlotCallback",
})
_G = "ktrain.train.loggers:"
_core(LOGGERS, {"csv": _G + "CSVLogger", "jsonl": _G + "JSONLLogger",
                "tensorboard": _G + "TensorBoardLogger"})
_core(TASKS, {"classification": "ktrain.train:ClassificationTask",
              "regression": "ktrain.train:RegressionTask"})
_core(MODELS, {"mlp": "ktrain.models:MLP", "tiny_cnn": "ktrain.models:TinyCNN"})
_core(DATASETS, {"synthetic_classification": "ktrain.datasets:synthetic_classification",
                 "synthetic_regression": "ktrain.datasets:synthetic_regression"})
