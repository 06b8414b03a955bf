"""A config never runs arbitrary code unless the user says so: ``_target_`` under ``ktrain
fit``/``eval``/``predict``/``generate``/``fit --resume`` (the issue's payload), the
``allow_targets``/``--allow-target`` opt-in recorded in the run, and ``--trust-config``
for a run directory someone sent."""
from pathlib import Path

import numpy as np
import pytest
import yaml
from ktrain.cli import app
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
FAST = ["trainer=fast", "data.n_samples=200"]
PAYLOAD_KEY = "model.payload._target_"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def _err(r):
    return r.stderr if hasattr(r, "stderr") else r.output


def _run_dir(r):
    assert r.exit_code == 0, (r.output, _err(r), r.exception)
    return Path(r.stdout.strip().splitlines()[-1])


def _refused(r, key=PAYLOAD_KEY, target="os.system"):
    assert r.exit_code == 2, (r.output, _err(r), r.exception)
    err = _err(r)
    assert key in err and target in err and "Traceback" not in r.output, err
    assert not Path("MARKER").exists(), "the payload ran"
    return err


def _payload():
    return {"_target_": "builtins.dict",
            "payload": {"_target_": "os.system", "_args_": ["touch MARKER"]}}


def _config(tmp_path, name="c.yaml", **top):
    """A config file of the shipped MLP experiment with ``top`` keys replaced."""
    text = Path(CONF).read_text()
    if "model" in top:  # the config's own model section, not merged into the shipped one
        text = text.replace("  - model: mlp\n", "")
    body = yaml.safe_dump(top, sort_keys=False) if top else ""
    path = tmp_path / name
    path.write_text(f"{text}\n{body}".replace("defaults:", f"# {name}\ndefaults:", 1))
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One tiny run with ktrain components only (shared; tests copy it to tamper)."""
    import os

    here, env = os.getcwd(), os.environ.get("KTRAIN_DISABLE_PLUGIN_AUTOLOAD")
    root = tmp_path_factory.mktemp("fitted")
    os.chdir(root)
    os.environ["KTRAIN_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # as conftest does for each test
    try:
        run = _run_dir(invoke("fit", CONF, *FAST, "-q"))
    finally:
        os.chdir(here)
        if env is None:
            del os.environ["KTRAIN_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["KTRAIN_DISABLE_PLUGIN_AUTOLOAD"] = env
    return root / run


def _tampered(fitted, tmp_path, **changes):
    """A copy of the fitted run whose config.yaml got ``changes`` (as if received)."""
    import shutil

    run = tmp_path / "received"
    shutil.copytree(fitted, run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg.update(changes)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return run


@pytest.fixture
def my_pkg(tmp_path, monkeypatch):
    """A user's own package with a model factory (``my_pkg.make_mlp``)."""
    pkg = tmp_path / "pkgs" / "my_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from ktrain.models import MLP  # re-exported: my_pkg.MLP\n\n"
        "def make_mlp(in_features, num_classes):\n"
        "    return MLP(in_features=in_features, num_classes=num_classes, hidden=[8])\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    return {"_target_": "my_pkg.make_mlp", "in_features": 16, "num_classes": 4}


# ------------------------------------------------------------------------ fit
def test_fit_refuses_the_issue_payload(tmp_path):
    err = _refused(invoke("fit", _config(tmp_path, model=_payload()), *FAST))
    assert "allow_targets" in err and "--allow-target" in err
    assert not list(Path("outputs").rglob("*.ckpt")) and not Path("outputs").exists()


def test_config_command_refuses_it_too(tmp_path):
    _refused(invoke("config", _config(tmp_path, model=_payload())))


@pytest.mark.parametrize("model, key", [
    ({"_target_": "ktrain.nn.Sequential",
      "_args_": [{"_target_": "os.system", "_args_": ["touch MARKER"]}]},
     "model._args_[0]._target_"),
    ({"name": "mlp", "in_features": 16, "num_classes": 4,
      "activation": {"_target_": "os.system", "_partial_": True, "_args_": ["touch MARKER"]}},
     "model.activation._target_"),
    ({"_target_": "ktrain.train.run.os.system", "_args_": ["touch MARKER"]}, "model._target_"),
])
def test_fit_refuses_args_partial_and_reexports(tmp_path, model, key):
    _refused(invoke("fit", _config(tmp_path, model=model), *FAST), key=key)


def test_a_ktrain_target_still_works(tmp_path):
    model = {"_target_": "ktrain.nn.Linear", "in_features": 16, "out_features": 4}
    run = _run_dir(invoke("fit", _config(tmp_path, model=model), *FAST, "-q"))
    assert yaml.safe_load((run / "config.yaml").read_text())["allow_targets"] == []
    r = invoke("eval", run)                  # ktrain-only targets open without any flag
    assert r.exit_code == 0, (r.output, _err(r))


def test_allow_targets_and_allow_target_are_recorded(tmp_path, my_pkg):
    path = _config(tmp_path, model=my_pkg)
    r = invoke("fit", path, *FAST, "-q")
    _refused(r, key="model._target_", target="my_pkg.make_mlp")
    run = _run_dir(invoke("fit", path, *FAST, "-q", "--allow-target", "my_pkg"))
    assert yaml.safe_load((run / "config.yaml").read_text())["allow_targets"] == ["my_pkg"]
    both = _config(tmp_path, "d.yaml", model=my_pkg, allow_targets=["my_pkg"])
    run = _run_dir(invoke("fit", both, *FAST, "-q", "--allow-target", "other_pkg"))
    saved = yaml.safe_load((run / "config.yaml").read_text())["allow_targets"]
    assert saved == ["my_pkg", "other_pkg"]
    r = invoke("fit", path, *FAST, "--allow-target", "my pkg")
    assert r.exit_code == 2 and "--allow-target" in _err(r)


# ------------------------------------------------------------------------ a received run
@pytest.mark.parametrize("cmd", ["eval", "predict", "generate"])
def test_opening_a_run_refuses_the_payload_even_if_its_config_allows_it(
        fitted, tmp_path, cmd):
    run = _tampered(fitted, tmp_path, model=_payload(), allow_targets=["builtins", "os"])
    extra = []
    if cmd == "predict":
        np.save(tmp_path / "x.npy", np.zeros((2, 16), np.float32))
        extra = [tmp_path / "x.npy"]
    err = _refused(invoke(cmd, run, *extra))
    assert "--trust-config" in err and "not honoured" in err


def test_resume_refuses_the_payload(fitted, tmp_path):
    run = _tampered(fitted, tmp_path, model=_payload(), allow_targets=["builtins", "os"])
    err = _refused(invoke("fit", run / "config.yaml", "--resume", run))
    assert "--trust-config" in err


def test_a_received_run_with_allow_targets_needs_trust(fitted, tmp_path, my_pkg):
    model = yaml.safe_load((fitted / "config.yaml").read_text())["model"]
    model = {"_target_": "my_pkg.MLP", **{k: v for k, v in model.items() if k != "name"}}
    run = _tampered(fitted, tmp_path, model=model, allow_targets=["my_pkg"])
    err = _refused(invoke("eval", run), key="model._target_", target="my_pkg.MLP")
    assert "allow_targets ['my_pkg'] are not honoured" in err
    _refused(invoke("eval", run, "--allow-target", "other"), key="model._target_",
             target="my_pkg.MLP")
    for flags in (["--trust-config"], ["--allow-target", "my_pkg"]):
        r = invoke("eval", run, *flags)
        assert r.exit_code == 0, (flags, r.output, _err(r))
