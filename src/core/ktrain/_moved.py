"""Old import paths of modules that moved, kept working without the old package
importing the new one.

The config-driven application moved from ``ktrain.train`` (and ``ktrain.config``) to
``ktrain.app`` (issue 13: the engine must not import the application layer). ``import ktrain.train.run`` is
answered by a meta-path finder that gives the very module object ``ktrain.app.run``
(the same functions, the same globals, so ``mock.patch("ktrain.train.run.x")`` still
patches what runs) and warns with a :class:`DeprecationWarning` naming the new path
(``ktrain.config`` stays a supported name without a warning).
Installed by ``import ktrain``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module name -> new module name
MOVED: dict[str, str] = {
    "ktrain.train.run": "ktrain.app.run",
    "ktrain.train.evaluate": "ktrain.app.evaluation",
    "ktrain.train.sweep": "ktrain.app.multirun",
    "ktrain.train.confusion": "ktrain.app.confusion",
    "ktrain.config": "ktrain.app.config",
    "ktrain.config.compose": "ktrain.app.config.compose",
    "ktrain.config.schema": "ktrain.app.config.schema",
}
#: old names that stay supported without a warning: ``from ktrain.config import
#: ConfigError`` is how plugins and users name the user-error type
STABLE = frozenset({"ktrain.config", "ktrain.config.compose", "ktrain.config.schema"})


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new
        self.spec = None

    def create_module(self, spec):
        if spec.name not in STABLE:
            warnings.warn(f"{spec.name} moved to {self.new}; import it from there",
                          DeprecationWarning, stacklevel=3)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        # the import system stamped the alias spec on the module: give it back its own
        module.__spec__ = self.spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds each old name of :data:`MOVED` as an alias of the new module."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Put the finder first on ``sys.meta_path``, once: an old name such as
    ``ktrain.config.schema`` must not be found by the path finder in the new package's
    folder, which would load the file a second time as another module."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())


install()
