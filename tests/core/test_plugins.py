"""ktrain.plugins discovery (fake distributions on sys.path), `ktrain plugins` and
`ktrain plugins new` end to end (scaffold -> discoverable -> builds through the registry)."""
import os
import subprocess
import sys
import textwrap

import ktrain
import pytest
import typer
from ktrain import plugins
from ktrain.cli.plugins_cmd import app as plugins_app
from ktrain.cli.plugins_cmd import scaffold
from ktrain.registry import DATASETS, MODELS, UnknownComponentError
from typer.testing import CliRunner


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv("KTRAIN_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    plugins.reset_plugins()
    before = set(sys.modules)
    yield
    plugins.reset_plugins()
    for m in set(sys.modules) - before:
        if m.startswith(("ktrain_fake", "ktrain_myplug")):
            del sys.modules[m]


def _fake_dist(site, dist, version, eps: dict[str, str]):
    """A minimal installed distribution: <dist>-<version>.dist-info with entry points."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "[ktrain.plugins]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """Three plugins: a good one, one whose register raises, one that cannot import."""
    site = tmp_path / "site"
    pkg = site / "ktrain_fakegood"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        IMPORTED = True

        class FakeNet:
            def __init__(self, width=4):
                self.width = width

        def register(registries):
            registries.models.register("fakenet", FakeNet)
            registries.datasets.register("fakedata", "ktrain_fakegood.data:make")
            registries.MODELS.register("vision.clash", FakeNet)  # explicit namespace kept
    """))
    (pkg / "data.py").write_text("def make(n=3):\n    return list(range(n))\n")
    bad = site / "ktrain_fakebad"
    bad.mkdir()
    (bad / "__init__.py").write_text(textwrap.dedent("""
        def register(registries):
            registries.models.register("halfway", dict)
            raise RuntimeError("boom in register")
    """))
    _fake_dist(site, "ktrain-fakegood", "1.2.3", {"fakegood": "ktrain_fakegood:register"})
    _fake_dist(site, "ktrain-fakebad", "0.0.1", {"fakebad": "ktrain_fakebad:register",
                                                  "fakemissing": "ktrain_nonexistent:register"})
    monkeypatch.syspath_prepend(str(site))
    return site


def test_lazy_nothing_imported_until_miss(fake_plugins):
    assert "ktrain_fakegood" not in sys.modules
    MODELS.get("mlp")                        # core hit: no plugin loading
    assert "ktrain_fakegood" not in sys.modules and not plugins.plugins_loaded()
    net = MODELS.build({"name": "fakenet", "width": 7})     # miss -> autoload
    assert net.width == 7 and "ktrain_fakegood" in sys.modules
    assert MODELS.resolve_name("fakenet") == "fakegood.fakenet"
    assert DATASETS.build({"name": "fakegood.fakedata", "n": 2}) == [0, 1]


def test_broken_plugins_reported_others_work(fake_plugins):
    infos = {p.name: p for p in plugins.load_plugins()}
    good, bad, missing = infos["fakegood"], infos["fakebad"], infos["fakemissing"]
    assert good.ok and good.distribution == "ktrain-fakegood" and good.version == "1.2.3"
    assert good.components == {"models": ["fakegood.fakenet", "vision.clash"],
                               "datasets": ["fakegood.fakedata"]}
    assert not bad.ok and "RuntimeError: boom in register" in bad.error
    assert "halfway" not in " ".join(MODELS.names())     # rolled back
    assert not missing.ok and "ModuleNotFoundError" in missing.error
    assert MODELS.get("fakenet") is not None
    # loaded once
    assert plugins.load_plugins() == plugins.loaded_plugins()


def test_disable_autoload(fake_plugins, monkeypatch):
    monkeypatch.setenv("KTRAIN_DISABLE_PLUGIN_AUTOLOAD", "1")
    with pytest.raises(UnknownComponentError):
        MODELS.get("fakenet")
    assert "ktrain_fakegood" not in sys.modules and plugins.loaded_plugins() == []
    plugins.load_plugins()                   # explicit loading still works
    assert MODELS.get("fakenet").__name__ == "FakeNet"


def test_broken_known_plugin_named_in_unknown_error(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _fake_dist(site, "ktrain-vision", "0.1.0", {"vision": "ktrain_fake_vision_gone:register"})
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(UnknownComponentError) as e:
        MODELS.get("resnet18")
    assert "installed but failed to load" in str(e.value)
    assert "ktrain_fake_vision_gone" in str(e.value)


def _cli():
    app = typer.Typer()
    app.add_typer(plugins_app, name="plugins")

    @app.command()
    def noop():  # a second command so that "plugins" stays a sub-command
        pass

    return app


def test_plugins_command_lists(fake_plugins):
    r = CliRunner().invoke(_cli(), ["plugins"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    out = r.output
    for s in ("fakegood", "ktrain-fakegood", "1.2.3", "fakegood.fakenet", "fakegood.fakedata",
              "fakebad", "broken", "boom in register", "fakemissing"):
        assert s in out, (s, out)
    r = CliRunner().invoke(_cli(), ["plugins", "--verbose"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "Traceback" in r.output


def test_plugins_new_rejects_bad_names(tmp_path):
    r = CliRunner().invoke(_cli(), ["plugins", "new", "Bad Name!", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "invalid plugin name" in r.output
    scaffold("dup", tmp_path)
    r = CliRunner().invoke(_cli(), ["plugins", "new", "dup", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "not empty" in r.output


def test_plugins_new_end_to_end(tmp_path, monkeypatch):
    r = CliRunner().invoke(_cli(), ["plugins", "new", "myplug", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    root = tmp_path / "ktrain-myplug"
    assert (root / "pyproject.toml").read_text().count('myplug = "ktrain_myplug:register"') == 1
    for f in ("ktrain_myplug/__init__.py", "ktrain_myplug/models.py",
              "ktrain_myplug/datasets.py", "tests/test_ktrain_myplug.py", "README.md"):
        assert (root / f).is_file(), f
    # what `pip install -e` would give: the source on sys.path plus a dist-info with the
    # entry point of the generated pyproject
    import tomllib

    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    eps = meta["entry-points"]["ktrain.plugins"]
    site = tmp_path / "site"
    _fake_dist(site, meta["name"], meta["version"], eps)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.syspath_prepend(str(site))

    r = CliRunner().invoke(_cli(), ["plugins"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "myplug" in r.output and "myplug.example_net" in r.output
    assert "ktrain-myplug" in r.output and "0.1.0" in r.output
    info = {p.name: p for p in plugins.loaded_plugins()}["myplug"]
    assert info.ok and info.components == {"models": ["myplug.example_net"],
                                           "datasets": ["myplug.example_data"]}
    ds = DATASETS.build({"name": "example_data", "n_samples": 20})
    x, _ = ds[0]
    model = MODELS.build({"name": "example_net", "in_features": 8, "num_classes": 2})
    assert tuple(model(ktrain.stack([x, x])).shape) == (2, 2)

    # the generated test passes against this layout
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(root)]))
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(root / "tests")], capture_output=True, text=True, env=env,
                       cwd=root, check=False)
    assert p.returncode == 0, p.stdout + p.stderr


def _can_pip_install_editable():
    try:
        import setuptools  # noqa: F401
        import wheel  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _can_pip_install_editable(),
                    reason="needs setuptools and wheel for an offline editable install")
def test_plugins_new_pip_install_in_venv(tmp_path):
    root = scaffold("venvplug", tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "-e", str(root)], check=True, timeout=120)
    out = subprocess.run([str(py), "-c", "from ktrain.cli.plugins_cmd import app; app()"],
                         capture_output=True, text=True, env=dict(os.environ, COLUMNS="200"),
                         timeout=120, check=False)
    assert "venvplug.example_net" in out.stdout, out.stdout + out.stderr


def test_direct_registration_is_attributed(tmp_path, monkeypatch):
    site = tmp_path / "site"
    pkg = site / "ktrain_fakedirect"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from ktrain.registry import LOSSES

        def register(registries):
            LOSSES.register("fakedirect_loss", dict)
    """))
    _fake_dist(site, "ktrain-fakedirect", "2.0", {"fakedirect": "ktrain_fakedirect:register"})
    monkeypatch.syspath_prepend(str(site))
    info = {p.name: p for p in plugins.load_plugins()}["fakedirect"]
    assert info.ok and info.components == {"losses": ["fakedirect_loss"]}
    from ktrain.registry import LOSSES
    assert "plugin 'fakedirect'" in LOSSES.entries()["fakedirect_loss"].origin
    plugins.reset_plugins()
    assert "fakedirect_loss" not in LOSSES


def test_register_tables_namespaces_and_records_each_entry():
    from ktrain.plugins import PluginInfo, _registries_for, _rollback
    from ktrain.registry import MODELS, TASKS

    info = PluginInfo("tbl")
    regs = _registries_for(info)
    try:
        regs.register_tables(models={"net_a": "ktrain.models:MLP"},
                             tasks={"task_a": "ktrain.train:ClassificationTask"})
        assert "tbl.net_a" in MODELS.names() and "tbl.task_a" in TASKS.names()
        assert info.components == {"models": ["tbl.net_a"], "tasks": ["tbl.task_a"]}
        with pytest.raises(AttributeError):
            regs.register_tables(widgets={"w": "x:y"})
    finally:
        _rollback(info)
    assert "tbl.net_a" not in MODELS.names()
