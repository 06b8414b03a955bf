"""Building a component from a Hydra-style ``_target_`` and checking arguments against a
signature; the registry errors. Part of :mod:`ktrain.registry`, which re-exports every
public name here (import them from there)."""
from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping
from typing import Any

# ----------------------------------------------------------------------------- errors
class RegistryError(LookupError):
    """Base class of registry errors (a user error: the message says what to do)."""

    def __str__(self):  # KeyError-like subclasses would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnknownComponentError(RegistryError, KeyError, ValueError):
    """No component of that name (after loading plugins). Also a ValueError, as a bad
    name given to a task or a builder always was."""


class AmbiguousComponentError(RegistryError, KeyError, ValueError):
    """A bare name matches several namespaced components."""


class DuplicateComponentError(RegistryError, ValueError):
    """A name registered twice."""


class ComponentArgumentError(RegistryError, TypeError):
    """The keyword arguments do not fit the component's signature."""


class ComponentImportError(RegistryError, ImportError):
    """A lazy ``module:attr`` target could not be imported."""


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
