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

    LOSSES.register("cross_entropy", "ktrain.nn:CrossEntropyLoss", aliases=("ce",),
                    tags=("classification",))

The registries are the only way a name becomes a component: one per kind (models,
datasets, transforms, losses, metrics, optimizers, schedulers, callbacks, loggers, tasks,
predict readers, grid writers), the core's entries in :mod:`ktrain._core_components`.
Aliases point at one canonical entry (listed with it; a duplicate is an error); tags
say which built-in task a loss or metric fits. :meth:`Registry.check` validates a name
and its arguments against the signature without building anything.

Names may be namespaced (``vision.resnet18``); a bare name (``resnet18``) resolves when
exactly one namespaced entry ends with it, and the loose form (``StepLR``, ``Adam``:
case and ``_``/``-`` ignored) when it is unambiguous. Plugins (``ktrain.plugins``)
register under their entry-point name as namespace; they are loaded on the first lookup
miss. An unknown name raises :class:`UnknownComponentError` listing what exists and the
close matches; which plugin provides it comes from the table each installed plugin
ships (:func:`ktrain.plugins.plugin_hint`), or, for first-party plugins that are not
installed, a line per distribution.

A ``_target_`` builds only what :mod:`ktrain.target_policy` allows (ktrain, installed
plugins, modules the user allows: ``from ktrain.target_policy import allow_targets``).

Importing this module is cheap: core components are registered as string targets.
"""
from __future__ import annotations

import difflib
import fnmatch
import inspect
import os
import re
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

__all__ = [
    "CALLBACKS",
    "DATASETS",
    "GRID_WRITERS",
    "LOGGERS",
    "LOSSES",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "PREDICT_READERS",
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


from ._targets import (  # noqa: E402,F401 - the errors and _target_ building, re-exported
    AmbiguousComponentError,
    ComponentArgumentError,
    ComponentImportError,
    DuplicateComponentError,
    RegistryError,
    UnknownComponentError,
    _check_arguments,
    _resolve_target,
    _to_dict,
    build_from_target,
    locate,
)


# ------------------------------------------------------------------------------ helpers
def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()



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



# ----------------------------------------------------------------------------- registry
def _norm(name: str) -> str:
    """The loose form of a name: lower case, without ``_``/``-``/spaces (``StepLR`` and
    ``step_lr`` -> ``steplr``)."""
    return re.sub(r"[_\-\s]", "", name).lower()


@dataclass
class _Entry:
    name: str
    target: Any                  # callable, or "module:attr" string (lazy)
    origin: str                  # where it was registered (for duplicate errors)
    plugin: str | None = None    # plugin (entry-point name) that registered it
    help: str = ""
    aliases: tuple = ()          # other names of this entry (registered explicitly)
    tags: frozenset = frozenset()  # e.g. the task kinds a loss or metric fits, "batched"
    resolved: Any = field(default=None, repr=False)


class Registry:
    """A name -> builder mapping for one kind of component (``Registry("model")``).

    An alias (``ce`` for ``cross_entropy``) points at one canonical entry: listing shows
    canonical names, lookups and did-you-mean consider both, an alias taken twice is a
    :class:`DuplicateComponentError`. Lookup order: the exact name or alias, then a bare
    name matching one namespaced entry (``resnet18`` -> ``vision.resnet18``), then the
    loose form (case and ``_``/``-`` ignored: ``StepLR``, ``Adam``) when unambiguous.
    ``namespaced=False``: plugins register names as given (file extensions ...)."""

    def __init__(self, name: str, *, plural: str | None = None, namespaced: bool = True):
        self.name = name                   # singular kind: "model", "dataset" ...
        self.plural = plural or name + "s"
        self.namespaced = namespaced
        self._entries: dict[str, _Entry] = {}
        self._aliases: dict[str, str] = {}          # alias -> canonical name
        self._current_plugin: str | None = None     # set by ktrain.plugins while loading

    # ------------------------------------------------------------------ registration
    def register(self, name=None, target=None, *, aliases=(), tags=(), override: bool = False,
                 help: str = "", _origin: str | None = None):
        """Register ``target`` under ``name`` (and ``aliases``). As a decorator:
        ``@R.register("name")``, ``@R.register()`` or ``@R.register`` (name = snake_case
        of the object's name). ``target`` may be a ``"module:attr"`` string, imported on
        first use. ``tags``: free labels a user of the registry filters on (the task
        kinds a loss fits, a reader returning ready batches ...)."""
        def add(n, obj):
            self._add(n, obj, override, help, _origin, aliases, tags)
            return obj

        if target is None and name is not None and not isinstance(name, str):
            return add(_snake(name.__name__), name)  # bare decorator @R.register
        if target is None:
            return lambda obj: add(name or _snake(obj.__name__), obj)
        return add(name if name is not None else _snake(target.__name__), target)

    def _add(self, name, target, override, help, origin, aliases=(), tags=()):
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"invalid {self.name} name {name!r}")
        if not (callable(target) or isinstance(target, str)):
            raise TypeError(f"{self.name} {name!r}: target must be callable or a "
                            f"'module:attr' string, got {type(target).__name__}")
        aliases = (aliases,) if isinstance(aliases, str) else tuple(aliases)
        origin = origin or _caller_origin()
        if self._current_plugin:
            origin = f"plugin {self._current_plugin!r} ({origin})"
        old = self._entries.get(name)
        if name in self._aliases and not override:
            raise DuplicateComponentError(
                f"{self.name} {name!r} is already an alias of {self._aliases[name]!r}; "
                f"now registered as a name at {origin}. Choose another name.")
        if old is not None and not override:
            same = old.target is target or (isinstance(target, str) and old.target == target)
            if same and set(aliases) <= set(old.aliases):
                return  # re-registering the very same thing (module re-import) is harmless
            if not same:
                raise DuplicateComponentError(
                    f"{self.name} {name!r} is already registered (first registered by "
                    f"{old.origin}); now registered again at {origin}. Choose another "
                    f"name, or pass override=True to replace it.")
        for a in aliases:
            self._check_alias(a, name, origin, override)
        if old is not None:
            aliases = tuple(dict.fromkeys(old.aliases + aliases)) if old.target is target \
                else aliases
            for a in old.aliases:
                self._aliases.pop(a, None)
        self._entries[name] = _Entry(name, target, origin, self._current_plugin, help,
                                     aliases, frozenset(tags))
        for a in aliases:
            self._aliases[a] = name

    def _check_alias(self, alias, name, origin, override=False):
        if not isinstance(alias, str) or not alias or alias != alias.strip():
            raise ValueError(f"invalid {self.name} alias {alias!r}")
        if alias == name:
            raise ValueError(f"{self.name} {name!r}: an alias equal to the name")
        taken = self._aliases.get(alias)
        if (alias in self._entries or (taken is not None and taken != name)) and not override:
            what = f"a {self.name} name" if alias in self._entries else f"an alias of {taken!r}"
            raise DuplicateComponentError(
                f"{self.name} alias {alias!r} (for {name!r}, at {origin}) is already "
                f"{what}. Choose another alias.")

    def alias(self, alias: str, name: str) -> None:
        """Make ``alias`` another name of the registered ``name``."""
        e = self._entries.get(name)
        if e is None:
            raise UnknownComponentError(f"cannot alias {alias!r}: no {self.name} {name!r}")
        if self._aliases.get(alias) == name:
            return
        self._check_alias(alias, name, _caller_origin())
        e.aliases = e.aliases + (alias,)
        self._aliases[alias] = name

    def unregister(self, name: str) -> None:
        e = self._entries.pop(name, None)
        for a in (e.aliases if e is not None else ()):
            self._aliases.pop(a, None)

    # ------------------------------------------------------------------------ lookup
    def _find(self, name: str) -> _Entry | None:
        e = self._entries.get(name)
        if e is not None:
            return e
        if name in self._aliases:
            return self._entries[self._aliases[name]]
        if not self.namespaced:  # keys such as file extensions: exact names only
            return None
        if "." not in name:
            cands = {k for k in self._entries if k.rsplit(".", 1)[-1] == name}
            cands |= {c for a, c in self._aliases.items() if a.rsplit(".", 1)[-1] == name}
            if len(cands) == 1:
                return self._entries[cands.pop()]
            if len(cands) > 1:
                raise AmbiguousComponentError(
                    f"{self.name} name {name!r} is ambiguous: it matches "
                    f"{', '.join(sorted(cands))}. Use the full (namespaced) name.")
        loose = _norm(name)
        cands = {k for k in self._entries if loose in (_norm(k), _norm(k.rsplit(".", 1)[-1]))}
        cands |= {c for a, c in self._aliases.items()
                  if loose in (_norm(a), _norm(a.rsplit(".", 1)[-1]))}
        return self._entries[cands.pop()] if len(cands) == 1 else None

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

    def entry(self, name: str) -> _Entry:
        """The entry ``name`` (or an alias) refers to: ``.name``, ``.aliases``, ``.tags``."""
        return self._entry(name)

    def _unknown_message(self, name: str) -> str:
        names = self.names()
        known = set(names) | set(self._aliases)
        bare = sorted({n.rsplit(".", 1)[-1] for n in known} | known)
        close = difflib.get_close_matches(name, bare, n=3, cutoff=0.6)
        if not close and "." in name:
            close = difflib.get_close_matches(name.rsplit(".", 1)[-1], bare, n=3, cutoff=0.6)
        msg = f"unknown {self.name} {name!r}."
        from . import plugins

        hint = plugins.plugin_hint(self, name, generic=not close)
        if hint:
            msg += " " + hint
        if close:
            msg += f" Did you mean: {', '.join(close)}?"
        shown = [self._with_aliases(n) for n in names]
        if len(shown) > 40:
            shown = shown[:40] + [f"... ({len(names) - 40} more)"]
        msg += f" Available {self.plural}: {', '.join(shown) or '(none)'}."
        return msg

    def _with_aliases(self, name: str) -> str:
        al = self._entries[name].aliases
        return f"{name} ({', '.join(al)})" if al else name

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

    def __getitem__(self, name: str):
        return self.get(name)

    def resolve_name(self, name: str) -> str:
        """The full registered name ``name`` refers to (``resnet18`` -> ``vision.resnet18``)."""
        return self._entry(name).name

    def _split_cfg(self, cfg):
        if isinstance(cfg, str):
            cfg = {"name": cfg}
        cfg = _to_dict(cfg)
        if "_target_" in cfg:
            if "name" in cfg and cfg["name"] is None:
                del cfg["name"]  # a schema section's unset name, not an argument
            return None, cfg
        if "name" not in cfg:
            raise ComponentArgumentError(
                f"a {self.name} config needs a 'name' (one of: {', '.join(self.names())}) "
                f"or a '_target_'; got keys {sorted(cfg)}")
        return cfg.pop("name"), cfg

    def build(self, cfg, *args, **kwargs):
        """Build from a name (``"mlp"``) or a mapping ``{name: mlp, **kwargs}`` /
        ``{_target_: "pkg.mod.Class", **kwargs}``; extra ``*args``/``**kwargs`` (e.g.
        ``params=`` for an optimizer) are passed along and take precedence."""
        name, cfg = self._split_cfg(cfg)
        if name is None:
            return build_from_target(cfg, *args, what=f"{self.name} {cfg['_target_']!r}",
                                     **kwargs)
        target = self.get(name)
        cfg.update(kwargs)
        _check_arguments(f"{self.name} {self.resolve_name(name)!r}", target, args, cfg)
        return target(*args, **cfg)

    def check(self, cfg, *args, **kwargs) -> str | None:
        """Check, without building anything, that ``cfg`` names a registered component
        and that its arguments (with ``*args``/``**kwargs``) fit its signature; raises as
        :meth:`build` would. A ``_target_`` is checked against the target policy and
        imported, not called. Returns the full name (None for a ``_target_``)."""
        name, cfg = self._split_cfg(cfg)
        if name is None:  # the policy check and the import, no call
            path = cfg.pop("_target_")
            what = f"{self.name} {path!r}"
            target = _resolve_target(path, what)
            for k in ("_partial_", "_recursive_", "_convert_", "_args_"):
                if k in cfg:
                    return None  # built as Hydra would: its own checks then
            _check_arguments(what, target, args, {**cfg, **kwargs})
            return None
        target = self.get(name)
        full = self.resolve_name(name)
        _check_arguments(f"{self.name} {full!r}", target, args, {**cfg, **kwargs})
        return full

    def signature(self, name: str):
        return inspect.signature(self.get(name))

    # --------------------------------------------------------------------- listing
    def names(self) -> list[str]:
        """The canonical names, sorted (aliases: :meth:`aliases`)."""
        return sorted(self._entries)

    def aliases(self, name: str | None = None):
        """The aliases of ``name`` (a tuple), or of every entry (name -> tuple)."""
        if name is not None:
            return self._entry(name).aliases
        return {n: e.aliases for n, e in sorted(self._entries.items()) if e.aliases}

    def tagged(self, tag: str) -> list[str]:
        """The canonical names of the entries carrying ``tag``."""
        return [n for n in self.names() if tag in self._entries[n].tags]

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
            return isinstance(name, str) and self._find(name) is not None
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
#: lower-case file extension (``".npy"``; ``":text"`` for literal inputs) ->
#: ``reader(path, context) -> array`` of ``ktrain predict``; tag ``"batched"``: the reader
#: returns a ready batch (no sample-shape check, dtype kept)
PREDICT_READERS = Registry("predict reader", namespaced=False)
#: extension -> ``writer(records, path, context) -> Path`` of ``ktrain predict --grid``
GRID_WRITERS = Registry("grid writer", namespaced=False)

#: attribute name -> registry; what a plugin's ``register(registries)`` receives (as attributes)
REGISTRIES: dict[str, Registry] = {
    "models": MODELS, "datasets": DATASETS, "transforms": TRANSFORMS, "losses": LOSSES,
    "optimizers": OPTIMIZERS, "schedulers": SCHEDULERS, "metrics": METRICS,
    "callbacks": CALLBACKS, "loggers": LOGGERS, "tasks": TASKS,
    "predict_readers": PREDICT_READERS, "grid_writers": GRID_WRITERS,
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
        if r.name == k or r.name.replace(" ", "_") == k:
            return r
    raise KeyError(f"no registry {kind!r}; registries: {', '.join(REGISTRIES)}")


# --------------------------------------------------------------- core registrations (lazy)
from . import _core_components  # noqa: E402,F401 - fills the registries (string targets)
