"""Which ``_target_`` a config may build: ktrain's and the installed plugins' components,
and the modules the user allows; nothing else unless the user trusts the config (as
Hugging Face's ``trust_remote_code``).

A config, and above all a run directory someone sent you, must be as safe to open as its
safetensors weights. So a Hydra-style ``_target_`` at any depth (``model``, ``data``,
``optim``, callbacks, loggers, ``task``, inside ``_args_`` lists, with ``_partial_``)
may name:

* a component of ktrain or of an installed plugin (the top-level package of a
  ``ktrain.plugins`` entry point): a class, a function that a registry lists, or a tensor
  function (``ktrain.tensor``, ``ktrain.randn``, ``ktrain.nn.functional.relu``,
  ``ktrain.nn.init.*``); ktrain's machinery (registry, plugins, config, CLI,
  serialization, checkpoints, the run/eval/sweep drivers) and bound methods of objects
  are not components;
* anything under a module the user allows: ``allow_targets: [my_pkg]`` in the config or
  ``--allow-target my_pkg`` on the command line (``my_pkg`` and ``my_pkg.*``, never
  ``my_pkgevil``); in Python ``with allow_targets("my_pkg"): ...``;
* anything at all with ``--trust-config`` (``TargetPolicy(trust=True)``).

The dotted string is checked before anything is imported, and the object it resolves to
is checked again: ``ktrain.app.run.os.system`` is ``os.system`` and is refused.

A run directory that is *opened* (``eval``, ``predict``, ``generate``, ``fit --resume``,
and ``export``/``serve`` when they come) does not get the ``allow_targets`` recorded in
its own ``config.yaml``: whoever sent it wrote them. :func:`policy_for_run_dir` is the one
place that decides this; every command opening a run directory must build under it.

Two checks apply a policy: :func:`check_targets` walks a whole config before anything is
built (every problem with its key path: ``model.payload._target_``), and
:func:`ktrain.registry.build_from_target` checks each target it builds against the
policy made active with :func:`use_policy` (the strict default when none is), so
components that build nested configs themselves obey it too.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .config.schema import ConfigError
from .registry import RegistryError

__all__ = [
    "TargetPolicy",
    "UntrustedTargetError",
    "active_policy",
    "allow_targets",
    "check_hydra_node",
    "check_targets",
    "plugin_packages",
    "policy_for_run_dir",
    "use_policy",
    "valid_modules",
]


class UntrustedTargetError(ConfigError, RegistryError):
    """A ``_target_`` outside what the policy allows (a user error: exit code 2)."""


_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

#: ktrain modules that are machinery, not components: they build from strings, register
#: names, write files or run commands.
MACHINERY = ("ktrain.registry", "ktrain.plugins", "ktrain.target_policy", "ktrain.config",
             "ktrain.cli", "ktrain.serialization", "ktrain.train.checkpoint",
             "ktrain.app", "ktrain.train.run", "ktrain.train.evaluate", "ktrain.train.sweep",
             "ktrain._targets", "ktrain._moved", "ktrain._backend", "ktrain._threads")
#: modules whose plain functions are tensor functions (creation, ops, functional, init).
TENSOR_FUNCTIONS = ("ktrain.creation", "ktrain.random", "ktrain.ops", "ktrain.fft",
                    "ktrain.nn.functional", "ktrain.nn.init")

#: keys of Python's logging ``dictConfig`` that name a callable (Hydra's job logging).
_LOGGING_KEYS = ("class", "()")
#: packages whose objects Hydra's own launcher/sweeper/logging configs name.
_HYDRA_OWN = ("hydra", "hydra_plugins", "optuna", "logging", "colorlog")


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def valid_modules(modules, where: str = "allow_targets") -> tuple[str, ...]:
    """``modules`` as a tuple of dotted module names; a ConfigError naming ``where``
    (``allow_targets[1]``, ``--allow-target``) for anything else."""
    if modules is None:
        return ()
    if isinstance(modules, str):
        modules = [modules]
    out = []
    for i, m in enumerate(modules):
        if not isinstance(m, str) or not _MODULE.match(m.strip()):
            raise ConfigError(f"{where}[{i}]: expected a module name such as my_pkg or "
                              f"my_pkg.models, got {m!r}")
        if m.strip() not in out:
            out.append(m.strip())
    return tuple(out)


def plugin_packages() -> tuple[str, ...]:
    """Top-level packages of the installed ``ktrain.plugins`` entry points (read from
    metadata; nothing is imported)."""
    from .plugins import discover

    try:
        eps = discover()
    except Exception:  # noqa: BLE001 - broken metadata: no plugin is trusted
        return ()
    tops = {ep.value.split(":")[0].split(".")[0].strip() for ep in eps}
    return tuple(sorted(t for t in tops if _MODULE.match(t)))


@dataclass(frozen=True)
class TargetPolicy:
    """What a config's ``_target_`` may resolve to (see the module docstring).

    ``allow``: module prefixes allowed besides ktrain and the plugins; ``trust``: anything;
    ``honour_config``: whether the config's own ``allow_targets`` count (not for a run
    directory being opened); ``recorded``: those it listed, when not honoured (for the
    message); ``source``: what the config is, for messages (``run directory X``)."""

    allow: tuple[str, ...] = ()
    trust: bool = False
    honour_config: bool = True
    recorded: tuple[str, ...] = ()
    source: str | None = None

    def with_config(self, config_allow) -> TargetPolicy:
        """The policy for a config whose ``allow_targets`` is ``config_allow``."""
        config_allow = tuple(m for m in (config_allow or ()) if isinstance(m, str))
        if self.honour_config:
            merged = self.allow + tuple(m for m in config_allow if m not in self.allow)
            return dataclasses.replace(self, allow=merged)
        return dataclasses.replace(self, recorded=config_allow)

    # ------------------------------------------------------------------ the checks
    def check_path(self, path) -> None:
        """Refuse ``path`` (a ``_target_`` string) before anything is imported."""
        if self.trust:
            return
        if not isinstance(path, str) or not _MODULE.match(path.replace(":", ".")):
            raise UntrustedTargetError(f"{path!r} is not an import path (pkg.module.Name)")
        dotted = path.replace(":", ".")
        if any(p.startswith("__") for p in dotted.split(".")):
            raise UntrustedTargetError(f"{path!r} names a dunder attribute, which is never a "
                                       f"component")
        if _under(dotted, self.allow):
            return
        if _under(dotted, ("ktrain",) + plugin_packages()):
            return
        raise UntrustedTargetError(f"{path!r} is not a component of ktrain or of an "
                                   f"installed plugin{self._hint(dotted)}")

    def check_object(self, path, obj) -> None:
        """Refuse what ``path`` resolved to when it is not a component (a re-export of
        ``os.system``, ktrain's machinery, a bound method ...)."""
        if self.trust or not isinstance(path, str):
            return
        dotted = path.replace(":", ".")
        if _under(dotted, self.allow):
            return  # a module the user trusts, and whatever it re-exports
        full, kind = _describe(obj)
        if _under(full, self.allow):
            return
        trusted = ("ktrain",) + plugin_packages()
        shown = f" (it is {full})" if full != dotted else ""
        if not _under(full, trusted):
            raise UntrustedTargetError(f"{path!r} resolves to {full}, which is not a "
                                       f"component of ktrain or of an installed plugin"
                                       f"{self._hint(full)}")
        module = _module_of(obj)
        if _under(module, MACHINERY):
            raise UntrustedTargetError(f"{path!r}{shown} is part of ktrain's machinery "
                                       f"({module}), not a component{self._hint(module)}")
        if kind == "class":
            return
        if kind == "function" and (_under(module, TENSOR_FUNCTIONS) or _registered(obj)):
            return
        what = {"function": "a function that no registry lists (a component is a class, "
                            "a registered function or a tensor function)",
                "method": "a method, not a class or a function",
                "module": "a module, not a class or a function"}.get(
            kind, f"an object ({type(obj).__name__}), not a class or a function")
        raise UntrustedTargetError(f"{path!r}{shown} is {what}{self._hint(module)}")

    def problem(self, path) -> str | None:
        """Why ``path`` may not be built, or None (also None when it does not import: the
        build reports that)."""
        from .registry import locate

        try:
            self.check_path(path)
            if self.trust:
                return None
            try:
                obj = locate(path)
            except Exception:  # noqa: BLE001 - not importable: the build says so
                return None
            self.check_object(path, obj)
        except UntrustedTargetError as e:
            return str(e)
        return None

    def _hint(self, name: str) -> str:
        """How to allow ``name``: its top-level package (``os``), or for a part of a
        trusted package the module itself (``ktrain_vision.io``)."""
        top = name if _under(name, ("ktrain",) + plugin_packages()) else name.split(".")[0]
        if not self.honour_config:
            src = f" ({self.source})" if self.source else ""
            text = (f"; this config comes from a run directory{src}: if you trust it, pass "
                    f"--trust-config (or --allow-target {top})")
            listed = [m for m in self.recorded if _under(name, (m,))]
            if listed:
                text += (f"; its allow_targets {listed} are not honoured for a run "
                         f"directory you open")
            return text
        return (f"; if you trust it, allow it with allow_targets: [{top}] in the config or "
                f"--allow-target {top} on the command line")


def _module_of(obj) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    if inspect.ismethod(obj):
        obj = obj.__func__
    mod = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) \
        else None
    if not isinstance(mod, str):
        mod = type(obj).__module__
    return mod or "builtins"


def _describe(obj) -> tuple[str, str]:
    """``(full dotted name, kind)`` of a located object: kind is class, function (a plain
    module-level function or a classmethod of a class), method, module or object."""
    if inspect.ismodule(obj):
        return obj.__name__, "module"
    if inspect.isclass(obj):
        return f"{_module_of(obj)}.{obj.__qualname__}", "class"
    if inspect.ismethod(obj):
        owner = obj.__self__
        name = f"{_module_of(obj)}.{getattr(obj.__func__, '__qualname__', '?')}"
        if inspect.isclass(owner):  # a classmethod: the class decides
            _, kind = _describe(owner)
            return name, kind
        return name, "method"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        qual = getattr(obj, "__qualname__", getattr(obj, "__name__", "?"))
        self_ = getattr(obj, "__self__", None)
        if inspect.isbuiltin(obj) and self_ is not None and not inspect.ismodule(self_):
            return f"{_module_of(obj)}.{qual}", "method"
        # Class.method reached through the class is an unbound method, not a component
        kind = "function" if "." not in qual.replace("<locals>.", "") else "method"
        return f"{_module_of(obj)}.{qual}", kind
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}", "object"


def _registered(fn) -> bool:
    """Whether a registry lists ``fn`` (a model or dataset factory function)."""
    from . import plugins
    from .registry import REGISTRIES, locate

    if plugins.autoload_enabled():
        plugins.load_plugins()
    name = getattr(fn, "__name__", None)
    for reg in REGISTRIES.values():
        for e in reg.entries().values():
            if e.target is fn or e.resolved is fn:
                return True
            if isinstance(e.target, str) and e.target.replace(":", ".").rsplit(".", 1)[-1] \
                    == name:
                try:
                    if locate(e.target) is fn:
                        return True
                except Exception:  # noqa: BLE001, S112 - a broken entry lists nothing
                    continue
    return False


# ------------------------------------------------------------------------ policies
def policy_for_run_dir(allow_targets=(), trust_config: bool = False,
                       run_dir=None) -> TargetPolicy:
    """The policy for opening a run directory (eval, predict, generate, ``fit --resume``;
    export and serve must call it too): ktrain and the installed plugins, plus the
    modules given on this command line (``--allow-target``); the ``allow_targets``
    recorded in the run's own config.yaml are *not* honoured (whoever sent the directory
    wrote them), unless ``trust_config`` (``--trust-config``) trusts the whole config."""
    return TargetPolicy(allow=valid_modules(allow_targets, "--allow-target"),
                        trust=bool(trust_config), honour_config=False,
                        source=str(run_dir) if run_dir is not None else None)


_ACTIVE: contextvars.ContextVar[TargetPolicy | None] = contextvars.ContextVar(
    "ktrain_target_policy", default=None)
_DEFAULT = TargetPolicy()


def active_policy() -> TargetPolicy:
    """The policy :func:`ktrain.registry.build_from_target` applies now (the strict
    default, ktrain and the installed plugins, when none was made active)."""
    return _ACTIVE.get() or _DEFAULT


@contextlib.contextmanager
def use_policy(policy: TargetPolicy):
    """Build under ``policy`` inside the ``with`` block."""
    token = _ACTIVE.set(policy)
    try:
        yield policy
    finally:
        _ACTIVE.reset(token)


def allow_targets(*modules):
    """``with allow_targets("my_pkg"): MODELS.build({"_target_": "my_pkg.Net"})``: the
    active policy plus these modules (Python's counterpart of ``--allow-target``)."""
    base = active_policy()
    extra = valid_modules(modules, "allow_targets")
    return use_policy(dataclasses.replace(
        base, allow=base.allow + tuple(m for m in extra if m not in base.allow)))


# ------------------------------------------------------------------------ config walks
def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def check_targets(cfg, policy: TargetPolicy, root: str = "") -> list[str]:
    """One ``"key.path._target_: why"`` line per ``_target_`` in ``cfg`` (a plain
    dict/list tree, at any depth, ``_args_`` lists included) that ``policy`` refuses."""
    problems: list[str] = []
    stack = [(root, cfg)]
    while stack:  # iterative: a deep config must not hit the recursion limit
        path, node = stack.pop()
        if isinstance(node, Mapping):
            if "_target_" in node:
                why = policy.problem(node["_target_"])
                if why:
                    problems.append(f"{_join(path, '_target_')}: {why}")
            stack.extend((_join(path, str(k)), v) for k, v in reversed(list(node.items()))
                         if k != "_target_")
        elif isinstance(node, (list, tuple)):
            stack.extend((_join(path, i), v) for i, v in reversed(list(enumerate(node))))
    return problems


def check_hydra_node(hydra_cfg, policy: TargetPolicy) -> list[str]:
    """Problems of the ``hydra`` node a ``hydra.main`` run (``ktrain sweep``) would
    instantiate: ``hydra.callbacks`` and other ``_target_`` s obey ``policy`` (Hydra's
    launcher/sweeper classes and optuna's samplers are accepted), and the callables
    named by its logging configs (``class``, ``()``) must be Hydra's or ``logging``'s."""
    own = dataclasses.replace(policy, allow=policy.allow + _HYDRA_OWN)
    problems = []
    for key in ("launcher", "sweeper"):
        node = hydra_cfg.get(key) if isinstance(hydra_cfg, Mapping) else None
        problems += check_targets(node, own, f"hydra.{key}")
    rest = {k: v for k, v in (hydra_cfg or {}).items()
            if k not in ("launcher", "sweeper", "job_logging", "hydra_logging")}
    problems += check_targets(rest, policy, "hydra")
    for key in ("job_logging", "hydra_logging"):
        stack = [(f"hydra.{key}", (hydra_cfg or {}).get(key))]
        while stack:
            path, node = stack.pop()
            if isinstance(node, Mapping):
                for k, v in node.items():
                    if k in _LOGGING_KEYS and isinstance(v, str):
                        why = None if _under(v, own.allow) else (
                            f"{v!r} is not a logging class of Python or Hydra"
                            f"{policy._hint(v)}")
                        if why and not policy.trust:
                            problems.append(f"{_join(path, k)}: {why}")
                    else:
                        stack.append((_join(path, str(k)), v))
            elif isinstance(node, (list, tuple)):
                stack.extend((_join(path, i), v) for i, v in enumerate(node))
    return problems
