"""Plugin discovery through the ``ktrain.plugins`` entry-point group.

A plugin is a distribution declaring, in its pyproject.toml::

    [project.entry-points."ktrain.plugins"]
    vision = "ktrain_vision:register"

where ``register(registries)`` adds its components::

    def register(registries):
        registries.models.register("resnet18", "ktrain_vision.models:resnet18")
        registries.datasets.register("mnist", "ktrain_vision.datasets:MNIST")
        # or whole tables: registries.register_tables(models={...}, datasets={...})

Names a plugin registers are namespaced by its entry-point name (``vision.resnet18``;
a name that already holds a dot is kept as given) and also resolve bare (``resnet18``) when unique. Plugins are loaded once: on the first
registry lookup miss or when ``ktrain plugins`` runs; nothing is imported before. One
plugin failing is recorded (name, error) and the others still load.
``KTRAIN_DISABLE_PLUGIN_AUTOLOAD=1`` turns the automatic loading off (``load_plugins()``
still works when called explicitly).
"""
from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass, field
from types import SimpleNamespace

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "FIRST_PARTY",
    "MANIFEST",
    "autoload_enabled",
    "discover",
    "load_plugins",
    "loaded_plugins",
    "manifests",
    "plugin_hint",
    "reset_plugins",
]

ENTRY_POINT_GROUP = "ktrain.plugins"
DISABLE_ENV = "KTRAIN_DISABLE_PLUGIN_AUTOLOAD"


@dataclass
class PluginInfo:
    """What loading one plugin gave: ``components`` maps registry attribute
    (``"models"``) to the full names it registered; ``error`` is None when it loaded."""
    name: str
    value: str = ""
    distribution: str | None = None
    version: str | None = None
    components: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def n_components(self) -> int:
        return sum(len(v) for v in self.components.values())


_lock = threading.RLock()
_loaded: dict[str, PluginInfo] = {}
_done = False


def autoload_enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def discover():
    """The entry points of group ``ktrain.plugins`` (nothing imported)."""
    from importlib.metadata import entry_points

    eps = entry_points(group=ENTRY_POINT_GROUP)
    seen, out = set(), []
    for ep in eps:  # the same dist on sys.path twice gives duplicates: keep the first
        if ep.name in seen:
            continue
        seen.add(ep.name)
        out.append(ep)
    return out


class _NamespacedRegistry:
    """A plugin's view of one registry: names are prefixed with the plugin's namespace
    and recorded in its PluginInfo; everything else is forwarded."""

    def __init__(self, attr, registry, info: PluginInfo):
        self._attr, self._registry, self._info = attr, registry, info

    def _full(self, name: str) -> str:
        # a name with a namespace of its own ("vision.resnet18") is kept as it is, and so
        # is every key of a registry that is not namespaced (file extensions)
        if "." in name or not self._registry.namespaced:
            return name
        return f"{self._info.name}.{name}"

    def register(self, name=None, target=None, **kw):
        reg = self._registry
        from .registry import _snake

        if "aliases" in kw:
            al = kw["aliases"]
            kw["aliases"] = tuple(self._full(a) for a in ((al,) if isinstance(al, str) else al))

        def add(n, obj):
            full = self._full(n or _snake(obj.__name__))
            prev = reg._current_plugin
            reg._current_plugin = self._info.name
            try:
                reg.register(full, obj, **kw)
            finally:
                reg._current_plugin = prev
            lst = self._info.components.setdefault(self._attr, [])
            if full not in lst:
                lst.append(full)
            return obj

        if target is None and name is not None and not isinstance(name, str):
            return add(None, name)
        if target is None:
            return lambda obj: add(name, obj)
        return add(name, target)

    def alias(self, alias: str, name: str) -> None:
        self._registry.alias(self._full(alias), self._full(name))

    def __getattr__(self, item):
        return getattr(self._registry, item)

    def __contains__(self, name):
        return name in self._registry

    def __getitem__(self, name):
        return self._registry[name]

    def __repr__(self):
        return f"<{self._info.name} view of {self._registry!r}>"


def _registries_for(info: PluginInfo):
    from .registry import REGISTRIES

    views = {k: _NamespacedRegistry(k, r, info) for k, r in REGISTRIES.items()}
    return _Registries(**views, **{k.upper(): v for k, v in views.items()})


class _Registries(SimpleNamespace):
    """``registries.models`` / ``registries.MODELS`` / ``registries["models"]``, and
    ``registries.register_tables(models={"resnet18": "pkg.models:resnet18"}, ...)``."""

    def __getitem__(self, key):
        return getattr(self, key)

    def register_tables(self, **tables) -> None:
        """Register ``name -> target`` tables by registry attribute (``models=``,
        ``datasets=``, ``tasks=`` ...); an unknown attribute is an AttributeError."""
        for attr, table in tables.items():
            reg = getattr(self, attr)
            for name, target in table.items():
                reg.register(name, target)


def _rollback(info: PluginInfo) -> None:
    from .registry import REGISTRIES

    for attr, names in info.components.items():
        for n in names:
            REGISTRIES[attr].unregister(n)
    info.components = {}


def _load_one(ep) -> PluginInfo:
    from .registry import REGISTRIES

    info = PluginInfo(name=ep.name, value=getattr(ep, "value", ""))
    dist = getattr(ep, "dist", None)
    if dist is not None:
        try:
            info.distribution = dist.metadata["Name"]
            info.version = dist.version
        except Exception:  # noqa: BLE001, S110 - metadata is optional for listing
            pass
    before = {k: set(r.names()) for k, r in REGISTRIES.items()}
    prev = {k: r._current_plugin for k, r in REGISTRIES.items()}
    for r in REGISTRIES.values():  # direct MODELS.register(...) calls are attributed too
        r._current_plugin = ep.name
    try:
        fn = ep.load()
        if not callable(fn):
            raise TypeError(f"entry point {ep.value!r} is not callable (expected a "
                            f"register(registries) function)")
        fn(_registries_for(info))
    except (Exception, SystemExit) as e:  # noqa: BLE001 - one must not break the others
        info.error = f"{type(e).__name__}: {e}"
        info.traceback = traceback.format_exc()
    finally:
        for k, r in REGISTRIES.items():
            r._current_plugin = prev[k]
    # components = what appeared in the registries (through the view or directly)
    for k, r in REGISTRIES.items():
        new = [n for n in r.names() if n not in before[k]]
        listed = info.components.get(k, [])
        extra = sorted(n for n in new if n not in listed)
        if listed or extra:
            info.components[k] = [n for n in listed if n in new] + extra
    info.components = {k: v for k, v in info.components.items() if v}
    if info.error:
        _rollback(info)
    return info


def load_plugins(force: bool = False) -> list[PluginInfo]:
    """Load every ``ktrain.plugins`` entry point once (again with ``force=True``) and
    return their PluginInfos. Never raises for a broken plugin."""
    global _done
    with _lock:
        if _done and not force:
            return loaded_plugins()
        if force:
            for info in _loaded.values():
                _rollback(info)
            _loaded.clear()
        _done = True
        try:
            eps = discover()
        except Exception as e:  # noqa: BLE001 - broken metadata somewhere on sys.path
            _loaded["<discovery>"] = PluginInfo("<discovery>", error=f"{type(e).__name__}: {e}")
            return loaded_plugins()
        for ep in eps:
            if ep.name in _loaded:
                continue
            _loaded[ep.name] = _load_one(ep)
        return loaded_plugins()


def loaded_plugins() -> list[PluginInfo]:
    """The plugins loaded so far (does not trigger loading), sorted by name."""
    return [_loaded[k] for k in sorted(_loaded)]


def plugins_loaded() -> bool:
    return _done


def _autoload() -> bool:
    """Called by a registry on a lookup miss: loads plugins the first time (unless
    disabled). True when something new may have been registered."""
    if _done or not autoload_enabled():
        return False
    load_plugins()
    return True


def reset_plugins() -> None:
    """Forget loaded plugins and unregister their components (for tests)."""
    global _done
    with _lock:
        _manifests.clear()
        for info in _loaded.values():
            _rollback(info)
        _loaded.clear()
        _done = False


# ------------------------------------------------------------------ "install this plugin"
#: The file each plugin package ships beside its ``__init__.py`` (declared as package
#: data): ``{"provides": {"models": ["resnet18", ...], "datasets": [...], ...}}``, the
#: bare names (and aliases) it registers by registry attribute. Read without importing
#: the plugin, so a plugin that is installed but not loaded can still be named.
MANIFEST = "plugin.json"

#: The first-party plugin distributions, by namespace: (distribution, checkout path,
#: what they provide in general). Used only for a plugin that is not installed, whose
#: own table cannot be read; names of components are not copied here.
FIRST_PARTY: dict[str, tuple[str, str, str]] = {
    "vision": ("ktrain-vision", "src/vision", "image models, datasets and transforms"),
    "text": ("ktrain-text", "src/text", "text models, datasets and tasks"),
    "audio": ("ktrain-audio", "src/audio", "audio models, datasets, transforms, tasks "
                                            "and callbacks"),
}
#: the registry attributes each first-party domain provides entries of
_FIRST_PARTY_KINDS = {"vision": {"models", "datasets", "transforms"},
                      "text": {"models", "datasets", "tasks"},
                      "audio": {"models", "datasets", "transforms", "tasks", "callbacks"}}

_manifests: dict[str, dict] = {}


def install_hint(namespace: str) -> str:
    """The pip command of a first-party plugin (and its editable form from a checkout)."""
    dist, path, _ = FIRST_PARTY[namespace]
    return f"`pip install {dist}` (or, from a ktrain checkout: `pip install -e {path}`)"


def _read_manifest(ep) -> dict:
    """The plugin table of entry point ``ep``'s top-level package: from the distribution's
    file list when it has one (a wheel install), else from the package folder found by
    ``importlib.util.find_spec`` (editable installs), which imports nothing for a
    top-level name. {} when the plugin ships none."""
    import importlib.util
    import json
    from pathlib import Path

    top = str(getattr(ep, "value", "")).split(":")[0].split(".")[0].strip()
    if not top:
        return {}
    text = None
    dist = getattr(ep, "dist", None)
    try:
        for f in (dist.files or ()) if dist is not None else ():
            if f.parts == (top, MANIFEST):
                text = Path(dist.locate_file(f)).read_text(encoding="utf-8")
                break
        if text is None:
            spec = importlib.util.find_spec(top)
            for loc in (spec.submodule_search_locations or ()) if spec else ():
                p = Path(loc) / MANIFEST
                if p.is_file():
                    text = p.read_text(encoding="utf-8")
                    break
        data = json.loads(text) if text else {}
    except (OSError, ValueError, ImportError, AttributeError):
        return {}  # an unreadable table only costs the hint
    return data if isinstance(data, dict) else {}


def manifests() -> dict[str, dict]:
    """Entry-point name -> (distribution, provides) of every installed plugin, from the
    tables they ship (nothing imported; cached until :func:`reset_plugins`)."""
    with _lock:
        if not _manifests:
            try:
                eps = discover()
            except Exception:  # noqa: BLE001 - broken metadata: no hints
                eps = []
            for ep in eps:
                data = _read_manifest(ep)
                dist = getattr(ep, "dist", None)
                name = None
                try:
                    name = dist.metadata["Name"] if dist is not None else None
                except Exception:  # noqa: BLE001, S110 - metadata is optional for hints
                    pass
                provides = data.get("provides", {})
                _manifests[ep.name] = {
                    "distribution": name or data.get("distribution") or ep.name,
                    "provides": provides if isinstance(provides, dict) else {}}
            _manifests.setdefault("", {})  # "looked": an empty result is cached too
        return {k: v for k, v in _manifests.items() if k}


def _attr_of(registry) -> str | None:
    from .registry import REGISTRIES

    return next((k for k, r in REGISTRIES.items() if r is registry), None)


def plugin_hint(registry, name: str, generic: bool = True) -> str:
    """The sentence an unknown ``name`` of ``registry`` gets about plugins: which
    installed plugin's table lists it (and why it is not there: not loaded, failed to
    load, an older version), else, with ``generic``, one line per first-party plugin
    that is not installed and provides that kind of component. "" when none applies."""
    attr = _attr_of(registry)
    ns, _, bare = name.rpartition(".")
    installed = manifests()
    for ep_name, m in installed.items():
        if ns and ns != ep_name:
            continue
        names = m["provides"].get(attr, ())
        if bare not in names and name not in names:
            continue
        dist = m["distribution"]
        info = _loaded.get(ep_name)
        if info is not None and info.error:
            return (f"It is provided by the plugin {dist}, which is installed but failed "
                    f"to load: {info.error}")
        if info is not None:
            return (f"The plugin {dist} is installed but registers no {registry.name} of "
                    f"that name (an older version?).")
        why = (f"{DISABLE_ENV} is set: call ktrain.plugins.load_plugins()" if
               not autoload_enabled() else "call ktrain.plugins.load_plugins()")
        return (f"It is provided by the plugin {dist}, which is installed but not loaded "
                f"({why}).")
    for ep_name, m in installed.items():  # broken, and no table to tell: it may be it
        info = _loaded.get(ep_name)
        if info is not None and info.error and not m["provides"] and \
                (ns == ep_name or not ns):
            return (f"It may be provided by the plugin {m['distribution']}, which is "
                    f"installed but failed to load: {info.error}")
    if not generic and not ns:
        return ""
    dists = {m["distribution"] for m in installed.values()}
    lines = [f"{what[:1].upper()}{what[1:]} come from the {key} plugin: run "
             f"{install_hint(key)}." for key, (dist, _, what) in FIRST_PARTY.items()
             if dist not in dists and (not ns or ns == key)
             and attr in _FIRST_PARTY_KINDS.get(key, ())]
    if ns and ns in FIRST_PARTY and FIRST_PARTY[ns][0] in dists:
        return ""
    return " ".join(lines)
