"""Compose a run config from any YAML file with Hydra's Compose API.

``compose_config("conf/mlp_synthetic.yaml", ["optim=adam", "optim.lr=0.01"])`` composes
the file's defaults list and the overrides (Hydra syntax: ``key=value``, ``+key=value``,
``~key``, ``group=option``). The file may live anywhere: ktrain's shipped ``conf/``
directory is appended to Hydra's search path, so a YAML outside ``conf/`` can use the
shipped groups (``- model: mlp``). Every user error comes back as one
:class:`~ktrain.config.ConfigError`, and Hydra's global state is cleared afterwards, also
after errors (an app initialised around the call, e.g. a ``hydra.main`` job, is restored).
"""
from __future__ import annotations

import os
import weakref
from pathlib import Path

from .schema import ConfigError, RunConfig, to_container

__all__ = ["compose_config", "conf_dir", "plugin_conf_dirs", "load_run_config", "save_run_config", "to_yaml"]

_OVERRIDES: dict = {}  # id(composed cfg) -> overrides, for save_run_config


def conf_dir():
    """ktrain's shipped config directory (``$KTRAIN_CONF_DIR`` overrides it), or None."""
    env = os.environ.get("KTRAIN_CONF_DIR")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve()  # <root>/src/core/ktrain/app/config/compose.py
    for cand in (here.parents[5] / "conf" if len(here.parents) > 5 else None,
                 here.parents[2] / "conf"):  # source checkout; conf/ packaged in ktrain/
        if cand is not None and cand.is_dir():
            return cand
    return None


def _clear_hydra(restore=None):
    from hydra.core.global_hydra import GlobalHydra

    gh = GlobalHydra.instance()
    gh.clear()
    if restore is not None:
        gh.initialize(restore)


def _current_hydra():
    """The Hydra app already initialised around this call (e.g. a ``hydra.main`` job), to
    hand back afterwards; None in the usual case."""
    from hydra.core.global_hydra import GlobalHydra

    gh = GlobalHydra.instance()
    return gh.hydra if gh.is_initialized() else None


def _yaml_error(exc, fallback_file):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
    if mark is not None:
        where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}"
    else:
        where = str(fallback_file)
    context = getattr(exc, "context", None)
    detail = f"{context}: {problem}" if context else problem
    return ConfigError(f"bad YAML in {where}: {detail}")


def _read_yaml(path):
    """The file's content (to find its own hydra.searchpath), with YAML errors reported."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=get_yaml_loader())
    except yaml.YAMLError as e:
        raise _yaml_error(e, path) from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"bad config file {path}: expected a mapping at the top level, got "
                          f"a {type(data).__name__}")
    return data or {}


def _hydra_message(exc):
    text = str(exc).strip()
    override = getattr(exc, "override", None)
    if override is not None and "Error parsing override" not in text:
        text = f"Error parsing override '{override}'\n{text}"
    # the search-path listing is noise for a user (it is always the same two entries)
    if "Config search path:" in text:
        text = text.split("Config search path:")[0].rstrip()
    cause = exc.__cause__
    if cause is not None:
        extra = str(cause).strip().split("\n")[0]
        if extra and extra not in text:
            text += f"\n{extra}"
    return text


def _missing_plugin_hint(text):
    """For Hydra's "Could not find 'model/textcnn'": which plugin provides that group
    option, and the pip command that installs it; None when none is known to. An
    installed plugin's conf/ is on Hydra's search path already, so the option is looked
    for in the conf/ folders of a source checkout's first-party plugins (not installed)."""
    import re

    from ...plugins import FIRST_PARTY, install_hint

    m = re.search(r"Could not find '([\w./-]+)/([\w.-]+)'", text)
    if not m:
        return None
    group, option = m.group(1), m.group(2)
    if group in ("hydra/sweeper", "hydra/launcher"):
        return (f"the {option} {group.split('/')[1]} is a Hydra plugin that is not "
                f'installed: pip install "ktrain[sweep]".')
    root = conf_dir().parent if conf_dir() is not None else None
    if root is None:
        return None
    for key, (dist, path, _) in FIRST_PARTY.items():
        base = root / path
        if base.is_dir() and \
                any(base.glob(f"*/conf/{group}/{option}.yaml")):
            return (f"'{group}/{option}' comes from the {key} plugin ({dist}), which is not "
                    f"installed: {install_hint(key)}.")
    return None


def plugin_conf_dirs() -> list[Path]:
    """The ``conf/`` folders of the installed plugins (``<package>/conf`` of each
    ``ktrain.plugins`` entry point's top-level package), found without importing them."""
    import importlib.util

    from ...plugins import discover

    out = []
    try:
        eps = discover()
    except Exception:  # noqa: BLE001 - broken metadata: no plugin configs
        return out
    for ep in eps:
        top = ep.value.split(":")[0].split(".")[0].strip()
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        for loc in (spec.submodule_search_locations or []) if spec else []:
            cand = Path(loc) / "conf"
            if cand.is_dir() and cand.resolve() not in out:
                out.append(cand.resolve())
    return out


def group_dirs(path) -> list[Path]:
    """The folders whose sub-folders are config groups for the YAML file ``path``."""
    return [d for d in [Path(path).parent, conf_dir(), *plugin_conf_dirs()] if d is not None]


def _with_shipped_searchpath(overrides, content, path):
    """``overrides`` with ktrain's conf/ and the plugins' conf/ folders appended to
    Hydra's search path: after the file's own directory and the file's
    ``hydra.searchpath``, or inside a ``hydra.searchpath=`` override when one is given."""
    dirs = [d for d in [conf_dir(), *plugin_conf_dirs()] if d is not None and d != path.parent]
    if not dirs:
        return list(overrides)
    entries = [d.as_uri() for d in dirs]
    out, merged = [], False
    for o in overrides:
        key, _, value = o.partition("=")
        value = value.strip()
        if key.lstrip("+") == "hydra.searchpath" and value.startswith("[") \
                and value.endswith("]"):
            inner = value[1:-1].strip()
            extra = [e for e in entries if e not in inner]
            if extra:
                o = f"{key}=[{','.join(([inner] if inner else []) + extra)}]"
            merged = True
        out.append(o)
    if not merged:
        own = [str(s) for s in ((content.get("hydra") or {}).get("searchpath") or [])]
        extra = [e for e in entries if e not in own]
        if extra:
            out.append(f"hydra.searchpath=[{','.join(own + extra)}]")
    return out


def _schema_paths():
    """The key paths a validated config always has (``trainer.limit_test_batches`` ...):
    section -> field names, plus the top-level scalar fields under ``""``."""
    import dataclasses
    import typing

    from .schema import _hints

    out = {"": set()}
    for f in dataclasses.fields(RunConfig):
        tp = _hints(RunConfig)[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        cls = next((a for a in args if dataclasses.is_dataclass(a)), None)
        if cls is None:
            out[""].add(f.name)
        else:
            out[f.name] = {g.name for g in dataclasses.fields(cls) if g.name != "kwargs"}
    return out


def schema_overrides(overrides, group_dirs=()):
    """``overrides`` with each plain ``key=value`` of a schema key (one that ``ktrain
    config`` prints: ``trainer.limit_test_batches``, ``data.drop_last``, ``resume`` ...)
    turned into Hydra's ``++key=value`` (set it, whether or not the composed YAML has
    it), so that no printed key needs a leading ``+``. Group selections (``optim=adam``),
    prefixed overrides and unknown keys (typos: still reported) are kept as given; a
    top-level key that is also a config group in ``group_dirs`` is kept too."""
    paths = _schema_paths()
    out = []
    for o in overrides:
        key, eq, _ = o.partition("=")
        key = key.strip()
        if not eq or key[:1] in ("+", "~") or "@" in key or "/" in key:
            out.append(o)
            continue
        head, dot, rest = key.partition(".")
        if dot:
            known = head in paths and head != "" and rest in paths[head]
        else:
            known = key in paths[""] and not any((Path(d) / key).is_dir()
                                                 for d in group_dirs)
        out.append(f"++{o.lstrip()}" if known else o)
    return out


def compose_config(config_path, overrides=(), return_hydra_config=False):
    """The composed ``DictConfig`` of the YAML file ``config_path`` with ``overrides``.

    ``experiment`` defaults to the file's stem when the file does not set it. Raises
    :class:`ConfigError` for a missing file, bad YAML (with the line), an unknown group
    option (Hydra's "Available options in 'optim': ..."), or a bad override."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(overrides, str):
        overrides = [overrides]
    overrides = [str(o) for o in overrides]
    path = Path(os.fspath(config_path)).expanduser()
    if path.suffix == "" and not path.exists():
        for suffix in (".yaml",):
            if path.with_suffix(suffix).is_file():
                path = path.with_suffix(suffix)
                break
    if not path.is_file():
        what = "is a directory, not a YAML file" if path.is_dir() else "not found"
        raise ConfigError(f"config file {what}: {path}")
    if path.suffix != ".yaml":
        raise ConfigError(f"config file must end in .yaml (Hydra's config suffix): {path}")
    path = path.resolve()
    content = _read_yaml(path)

    hydra_overrides = _with_shipped_searchpath(
        schema_overrides(overrides, group_dirs(path)), content, path)
    outer = _current_hydra()
    _clear_hydra()
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base="1.3",
                                   job_name="ktrain"):
            cfg = compose(config_name=path.stem,
                          overrides=hydra_overrides,
                          return_hydra_config=return_hydra_config)
    except yaml.YAMLError as e:
        raise _yaml_error(e, path) from None
    except (HydraException, OmegaConfBaseException) as e:
        text = _hydra_message(e)
        hint = _missing_plugin_hint(text)
        raise ConfigError(f"{hint} {text}" if hint else text) from None
    except (ValueError, TypeError, KeyError) as e:  # e.g. a malformed defaults list
        raise ConfigError(f"cannot compose {path}: {e}") from None
    finally:
        _clear_hydra(restore=outer)
    if "experiment" not in cfg:
        with open_dict(cfg):
            cfg.experiment = path.stem
    OmegaConf.set_struct(cfg, False)
    _OVERRIDES[id(cfg)] = list(overrides)
    weakref.finalize(cfg, _OVERRIDES.pop, id(cfg), None)
    return cfg


def _as_plain(cfg, resolve=True):
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, RunConfig):
        return to_container(cfg)
    if isinstance(cfg, (DictConfig, ListConfig)):
        from omegaconf.errors import OmegaConfBaseException

        try:
            return OmegaConf.to_container(cfg, resolve=resolve, throw_on_missing=False)
        except OmegaConfBaseException:
            return OmegaConf.to_container(cfg, resolve=False)
    return to_container(cfg)


def to_yaml(cfg, resolve=True):
    """YAML text of a composed config (DictConfig, dict or RunConfig), interpolations
    resolved."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(_as_plain(cfg, resolve)))


def save_run_config(cfg, run_dir, overrides=None):
    """Write ``config.yaml`` (the composed, resolved config) and ``overrides.yaml`` (the
    overrides it was composed with; by default those given to :func:`compose_config`)
    into ``run_dir``; returns the two paths. Files are written atomically."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if overrides is None:
        overrides = _OVERRIDES.get(id(cfg), [])
    from omegaconf import OmegaConf

    paths = []
    for name, text in (("config.yaml", to_yaml(cfg)),
                       ("overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(
                           [str(o) for o in overrides])))):
        target = run_dir / name
        tmp = target.with_name(f".{name}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)  # no half-written leftover
            if e.filename is None:
                e.filename = str(target)
            raise
        paths.append(target)
    return tuple(paths)


def load_run_config(run_dir):
    """The ``DictConfig`` saved by :func:`save_run_config` in ``run_dir`` (or a file)."""
    from omegaconf import OmegaConf

    path = Path(run_dir)
    if path.is_dir():
        path = path / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"no saved config: {path} not found")
    _read_yaml(path)  # readable errors for a damaged file
    return OmegaConf.load(path)
