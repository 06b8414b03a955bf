"""ktrain.app: the same run from Python as from the CLI, the old import paths, and the
layering (the engine never imports the application layer)."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from ktrain import app
from ktrain.cli.fit_cmd import register
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
FAST = ["trainer=fast", "data.n_samples=200", "optim.lr=0.05"]
KTRAIN = ROOT / "src" / "core" / "ktrain"


def _files(run_dir):
    """The run directory's files (a TensorBoard event file by its folder: its name holds
    the time, host and process)."""
    return sorted(str(p.relative_to(run_dir)).split("events.out.tfevents")[0]
                  for p in run_dir.rglob("*") if p.is_file())


def test_fit_from_python_writes_what_the_cli_writes(tmp_path):
    res = app.fit(CONF, FAST, output_dir=tmp_path / "py", enable_progress_bar=False)
    assert res.run_dir.is_dir() and res.run_dir.parent == tmp_path / "py" / "mlp_synthetic"
    assert "val/accuracy" in res.metrics
    cli = typer.Typer()
    register(cli)
    r = CliRunner().invoke(cli, ["fit", CONF, *FAST, "-o", str(tmp_path / "cli"), "-q"])
    assert r.exit_code == 0, r.output
    cli_dir = Path(r.stdout.strip().splitlines()[-1])
    assert _files(res.run_dir) == _files(cli_dir)
    for name in ("config.yaml", "overrides.yaml"):
        assert yaml.safe_load((res.run_dir / name).read_text()) == \
            yaml.safe_load((cli_dir / name).read_text())
    py_rows = [json.loads(s) for s in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    cli_rows = [json.loads(s) for s in (cli_dir / "metrics.jsonl").read_text().splitlines()]
    drop = ("time", "timestamp", "wall", "elapsed", "duration")
    assert [{k: v for k, v in row.items() if not any(d in k for d in drop)} for row in py_rows] \
        == [{k: v for k, v in row.items() if not any(d in k for d in drop)} for row in cli_rows]
    # the other commands are one call each too
    ev = app.evaluate(res.run_dir, split="val", write=False)
    assert ev["metrics"]["val/accuracy"] == pytest.approx(res.metrics["val/accuracy"])
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((2, 16), np.float32))
    preds = app.predict(res.run_dir, [str(tmp_path / "x.npy")], output=tmp_path / "p.json")
    assert len(preds) == 2 and (tmp_path / "p.json").is_file()
    from ktrain.config import ConfigError

    with pytest.raises(ConfigError, match="--split must be"):
        app.evaluate(res.run_dir, split="train")


def test_fit_user_error_creates_nothing(tmp_path):
    from ktrain.config import ConfigError

    with pytest.raises(ConfigError):
        app.fit(CONF, ["trainer.max_epoch=1"], output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert "optim:" in app.config_yaml(CONF, ["trainer=fast"])


def test_old_import_paths_give_the_same_modules():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ktrain.train.confusion as old_conf
        import ktrain.train.evaluate as old_eval
        import ktrain.train.run as old_run
        import ktrain.train.sweep as old_sweep
        from ktrain.train.evaluate import register_reader
        from ktrain.train.run import run_from_config

    import ktrain.app.confusion
    import ktrain.app.evaluation
    import ktrain.app.multirun
    import ktrain.app.run
    import ktrain.config

    assert old_run is ktrain.app.run and run_from_config is ktrain.app.run.run_from_config
    assert old_eval is ktrain.app.evaluation and register_reader is \
        ktrain.app.evaluation.register_reader
    assert old_sweep is ktrain.app.multirun and old_conf is ktrain.app.confusion
    assert ktrain.app.run.__spec__.name == "ktrain.app.run"   # the alias left no trace
    assert ktrain.config.ConfigError is ktrain.app.run.ConfigError
    import ktrain.app.config.compose
    import ktrain.config.compose

    assert ktrain.config is ktrain.app.config
    assert ktrain.config.compose is ktrain.app.config.compose   # one module, not two


def test_ktrain_config_stays_a_supported_name():
    code = ("import warnings; import ktrain\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    from ktrain.config import ConfigError\n"
            "    import ktrain.config.schema\n"
            "print(len([x for x in w if x.category is DeprecationWarning]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "0"


def test_an_old_path_warns_once_with_the_new_one():
    code = ("import warnings; warnings.simplefilter('always'); import ktrain\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    import ktrain.train.run\n"
            "print([str(x.message) for x in w if x.category is DeprecationWarning])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "ktrain.train.run moved to ktrain.app.run" in out


ENGINE = ("train", "nn", "optim", "ops", "autograd", "utils", "distributions", "metrics",
          "amp", "cuda", "fft.py", "_tensor.py", "_backend.py", "creation.py",
          "serialization", "registry.py", "plugins.py", "_targets.py", "_core_components.py")


def _imports_app(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = ".".join(path.relative_to(KTRAIN.parent).with_suffix("").parts[:-1])
    bad = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        bad += [n for n in names if n == "ktrain.app" or n.startswith("ktrain.app.")]
    return bad


def test_the_engine_never_imports_the_application_layer():
    found = {}
    for entry in ENGINE:
        p = KTRAIN / entry
        for f in ([p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []):
            bad = _imports_app(f)
            if bad:
                found[str(f.relative_to(KTRAIN))] = bad
    assert not found, found


def test_the_plugins_import_no_app_internals():
    found = {}
    for plugin in ("vision", "text", "audio"):
        for f in sorted((ROOT / "src" / plugin).rglob("*.py")):
            text = f.read_text(encoding="utf-8")
            if "ktrain.app" in text or "ktrain.cli" in text:
                found[str(f.relative_to(ROOT))] = True
    assert not found, found


def test_app_files_are_small():
    for f in sorted((KTRAIN / "app").glob("*.py")):
        n = len(f.read_text(encoding="utf-8").splitlines())
        assert n <= 600, (f.name, n)


def test_a_target_into_the_app_machinery_is_refused():
    from ktrain.registry import MODELS
    from ktrain.target_policy import UntrustedTargetError

    for path in ("ktrain.app.run.os.system", "ktrain.train.run.os.system"):
        with pytest.raises(UntrustedTargetError):
            MODELS.build({"_target_": path, "_args_": ["true"]})
