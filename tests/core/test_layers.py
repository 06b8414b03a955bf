"""The layer order of ARCHITECTURE.md, checked on the source: no module of ``ktrain`` imports
a module of a layer above its own, not even inside a function (issue 13).

Imports are read with ``ast`` (module-level and function-local alike) and mapped to their
layer by top-level unit (``ops``, ``nn``, ``autograd`` ...), so files moving inside a layer
never break the test. Also: cupy/cupyx are imported only by ``_backend.py``, and the
plugins never import ``ktrain.cli``/``ktrain.app``.
"""
from __future__ import annotations

import ast
import pathlib
import re

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"
CORE = SRC / "core" / "ktrain"

# rank of each unit of the core: a module may import units of its own rank or lower
RANKS = {
    "_backend": 0, "_threads": 0, "_fast": 0, "_moved": 0,  # _moved: a finder that names modules as text
    "autograd": 1, "utils.hooks": 1, "utils": 1,  # utils/__init__ loads its parts lazily
    "backends": 1,
    "_tensor": 2, "_tensor_str": 2,
    "creation": 3,
    "amp": 4,  # autocast's cast policy, which ops consult; GradScaler needs only _tensor
    "ops": 5, "random": 5, "fft": 5, "serialization": 5,  # random: the seeding state ops use
    "cuda": 6, "distributions": 6, "utils.data": 6, "metrics": 6,
    "nn": 7, "_nn_aliases": 7,
    "optim": 8,
    "ao": 9, "jit": 9, "onnx": 9, "compile": 9,
    "profiler": 9,  # torch.profiler's API over the recorder in autograd.profiler
    "registry": 10, "plugins": 10, "config": 10, "target_policy": 10, "_core_components": 10,
    "_targets": 10,
    "datasets": 10, "models": 10,
    "distributed": 11,
    "train": 12,
    # the facade (``import ktrain`` in a function, ``from .. import __version__``) loads the
    # whole bottom of the library: allowed from the data layer up, never below it
    "ktrain": 6,
    "serve": 13, "app": 14, "cli": 15,
}
BOTTOM = ("_backend", "_threads", "_fast", "autograd", "utils.hooks", "_tensor", "_tensor_str",
          "creation", "amp", "ops")


def _module_of(path: pathlib.Path) -> tuple[str, bool]:
    rel = path.relative_to(CORE.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _exists(mod: str) -> bool:
    p = CORE.parent.joinpath(*mod.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def _unit(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1:
        return "ktrain"
    if parts[1] == "utils" and len(parts) > 2:
        return f"utils.{parts[2]}"
    return parts[1]


def _imports(path: pathlib.Path):
    """(line, imported ktrain module) for every import in the file, nested ones included."""
    mod, is_pkg = _module_of(path)
    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                yield node.lineno, sub if _exists(sub) else target


def _core_files():
    return sorted(p for p in CORE.rglob("*.py"))


def _violations(files):
    bad = []
    for path in files:
        mod, _ = _module_of(path)
        src = _unit(mod)
        if mod == "ktrain" or src not in RANKS:
            continue  # the package facade imports everything, lazily by design
        for line, target in _imports(path):
            if target != "ktrain" and not target.startswith("ktrain."):
                continue
            dst = _unit(target)
            if dst == src:
                continue
            if dst not in RANKS:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target} (no layer known)")
            elif RANKS[dst] > RANKS[src]:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target} "
                           f"({src} is below {dst})")
    return bad


def test_every_core_unit_has_a_layer():
    units = {_unit(_module_of(p)[0]) for p in _core_files()}
    assert not sorted(units - set(RANKS)), "add the new unit to RANKS (and to ARCHITECTURE.md)"


@pytest.mark.parametrize("unit", BOTTOM)
def test_bottom_layers_import_nothing_above(unit):
    files = [p for p in _core_files() if _unit(_module_of(p)[0]) == unit]
    assert files
    assert _violations(files) == []


def test_no_core_module_imports_a_layer_above_its_own():
    assert _violations(_core_files()) == []


def test_autograd_and_tensor_import_no_higher_module_even_lazily():
    # the cycle of issue 13: _tensor, creation, ops/_util, ops/indexing, autograd/engine, amp
    for rel, banned in [("autograd", ("_tensor", "creation", "ops", "amp", "nn")),
                        ("_tensor.py", ("creation", "ops", "amp", "nn", "utils")),
                        ("creation.py", ("ops", "amp", "nn")),
                        ("ops/_util.py", ("amp", "nn", "optim"))]:
        p = CORE / rel
        for f in (sorted(p.rglob("*.py")) if p.is_dir() else [p]):
            for line, target in _imports(f):
                assert _unit(target) not in banned or not target.startswith("ktrain."), \
                    f"{f.relative_to(SRC)}:{line} imports {target}"


def test_the_engine_does_not_know_amp_but_amp_brackets_backward():
    from ktrain.amp import autocast_mode
    from ktrain.autograd import engine

    assert (autocast_mode.STATE.suspend, autocast_mode.STATE.resume) in [
        tuple(b) for b in engine._brackets.values()]


_CUPY = re.compile(r"^\s*(import\s+cupy|import\s+cupyx|from\s+cupy|from\s+cupyx)\b", re.M)


def test_cupy_is_imported_only_by_backend():
    offenders = []
    for p in sorted(SRC.rglob("*.py")):
        if p == CORE / "_backend.py":
            continue
        text = p.read_text(encoding="utf-8")
        for m in _CUPY.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            offenders.append(f"{p.relative_to(SRC)}:{line}")
    assert offenders == []


def test_plugins_import_no_cli_or_app_internals():
    bad = []
    for pkg in ("vision", "text", "audio"):
        for p in sorted((SRC / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                bad += [f"{p.relative_to(SRC)}:{node.lineno} {n}" for n in names
                        if n.startswith(("ktrain.cli", "ktrain.app"))]
    assert bad == []
