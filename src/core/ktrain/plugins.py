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
    "autoload_enabled",
    "discover",
    "load_plugins",
    "loaded_plugins",
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
        # a name with a namespace of its own ("vision.resnet18") is kept as it is
        return name if "." in name else f"{self._info.name}.{name}"

    def register(self, name=None, target=None, **kw):
        reg = self._registry
        from .registry import _snake

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

    def __getattr__(self, item):
        return getattr(self._registry, item)

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
        for info in _loaded.values():
            _rollback(info)
        _loaded.clear()
        _done = False
