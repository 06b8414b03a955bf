"""Build transforms from config specs through ``ktrain.registry.TRANSFORMS``."""
from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["build_transforms"]


def _plain(spec):
    try:
        from omegaconf import OmegaConf
    except ImportError:  # pragma: no cover - omegaconf ships with the core
        return spec
    if OmegaConf.is_config(spec):
        return OmegaConf.to_container(spec, resolve=True)
    return spec


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _local_classes() -> dict:
    """snake_case name -> transform class, for every class this package exports: the
    fallback when the registry (the plugin's table) does not know a name."""
    from .. import transforms as T

    return {_snake(n): getattr(T, n) for n in T.__all__
            if isinstance(getattr(T, n), type) and n != "InterpolationMode"}


def _build_one(spec, where):
    from ktrain.registry import TRANSFORMS, UnknownComponentError

    if callable(spec) and not isinstance(spec, (str, Mapping)):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where}: a transform spec must be a name, a mapping "
                        f"{{name: ..., **args}}, a list of those or a callable; got "
                        f"{type(spec).__name__} {spec!r}")
    spec = dict(spec)
    if "transforms" in spec:  # compose / random_apply / random_choice take nested specs
        inner = spec["transforms"]
        if not isinstance(inner, (list, tuple)):
            raise TypeError(f"{where}: 'transforms' must be a list of transform specs")
        spec["transforms"] = [_build_one(s, f"{where}.transforms[{i}]")
                              for i, s in enumerate(inner)]
    try:
        return TRANSFORMS.build(spec)
    except UnknownComponentError:
        name = spec.get("name")
        cls = _local_classes().get(name.split(".")[-1]) if isinstance(name, str) else None
        if cls is None:
            raise
        return cls(**{k: v for k, v in spec.items() if k != "name"})


def build_transforms(spec, where: str = "transform"):
    """A callable from a transform spec: ``None`` -> ``None``; a callable is returned as is;
    a registry name (``"to_tensor"``) or mapping (``{name: random_crop, size: 32,
    padding: 4}`` / ``{_target_: ...}``) builds one transform; a list builds each entry and
    composes them in order (:class:`Compose`). OmegaConf containers are accepted.

        tf = build_transforms(["to_tensor", {"name": "normalize", "mean": [0.5],
                                             "std": [0.5]}])
    """
    from ._transforms import Compose

    spec = _plain(spec)
    if spec is None:
        return None
    if isinstance(spec, (list, tuple)):
        return Compose([_build_one(s, f"{where}[{i}]") for i, s in enumerate(spec)])
    return _build_one(spec, where)
