"""``ktrain fit`` / ``ktrain config`` (ktrain.cli.fit_cmd) and ktrain.train.run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from ktrain.cli.fit_cmd import register
from ktrain.config import compose_config, validate
from ktrain.train.checkpoint import load_checkpoint
from ktrain.train.run import find_latest_run, new_run_dir, run_from_config
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
FAST = ["trainer=fast", "data.n_samples=200"]


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    register(a)
    return a


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _err(r):
    return r.stderr if hasattr(r, "stderr") else r.output


def _run_dir(r):
    assert r.exit_code == 0, (r.output, _err(r), r.exception)
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.is_dir(), r.stdout
    return path


def _step(run_dir):
    return load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"]


# ------------------------------------------------------------------------ fit
def test_fit_writes_the_run_directory(app, tmp_path):
    r = invoke(app, "fit", CONF, *FAST, "optim.lr=0.0123")
    run = _run_dir(r)
    assert run.parent == Path("outputs") / "mlp_synthetic"
    assert len(run.name.split("_")) == 3  # date_time_microseconds
    for name in ("config.yaml", "overrides.yaml", "metrics.csv", "metrics.jsonl",
                 "checkpoints/last.ckpt"):
        assert (run / name).is_file(), name
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["optim"]["lr"] == pytest.approx(0.0123)     # the override took effect
    assert cfg["trainer"]["max_epochs"] == 2 and cfg["data"]["n_samples"] == 200
    assert cfg["seed"] == 0
    assert yaml.safe_load((run / "overrides.yaml").read_text()) == [*FAST, "optim.lr=0.0123"]
    assert "val/accuracy" in r.stdout
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows and any("val/loss" in row for row in rows)
    assert _step(run) == 8                                  # 2 epochs x 4 batches


def test_fit_prints_the_final_metrics_once(app):
    """With the progress bar the metrics come as its tables only (no second key/value
    list); without it as the list; the run directory is always the last line."""
    r = invoke(app, "fit", CONF, *FAST, "trainer.enable_progress_bar=true")
    run = _run_dir(r)
    lines = r.stdout.strip().splitlines()
    assert "final metrics" in r.stdout and "test metrics" in r.stdout
    assert [line for line in lines if line.startswith("val/accuracy")] == []
    assert sum("val/accuracy " in line and "|" in line for line in lines) == 1  # table row
    assert lines[-1] == str(run)
    r = invoke(app, "fit", CONF, *FAST)                     # trainer=fast: no progress bar
    lines = r.stdout.strip().splitlines()
    assert "final metrics" not in r.stdout
    assert [line.split()[0] for line in lines[:-1]] == [
        "test/accuracy", "test/loss", "train/accuracy", "train/loss", "val/accuracy",
        "val/loss"]
    assert lines[-1] == str(_run_dir(r))


def test_two_runs_do_not_collide(app):
    a = _run_dir(invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=1", "--quiet"))
    b = _run_dir(invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=1", "--quiet"))
    assert a != b and a.parent == b.parent


def test_resume_auto_continues_the_latest_run(app):
    first = _run_dir(invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=1", "-q"))
    assert _step(first) == 4
    r = invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=3", "--resume", "auto", "-q")
    again = _run_dir(r)
    assert again == first                                   # same run directory
    assert _step(again) == 12                               # continued from step 4
    steps = [json.loads(x).get("step") for x in
             (again / "metrics.jsonl").read_text().splitlines()]
    assert max(s for s in steps if s is not None) >= 11
    # a run directory (or a checkpoint file) given explicitly
    r = invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=4", "--resume", str(first), "-q")
    assert _run_dir(r) == first and _step(first) == 16


def test_output_dir_option(app, tmp_path):
    run = _run_dir(invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=1", "-q",
                          "--output-dir", tmp_path / "elsewhere"))
    assert run.parent == tmp_path / "elsewhere" / "mlp_synthetic"
    assert find_latest_run(tmp_path / "elsewhere", "mlp_synthetic") == run


# ------------------------------------------------------------------------ config
def test_config_prints_the_composed_yaml(app):
    r = invoke(app, "config", CONF, "optim=adam", "optim.lr=0.0042")
    assert r.exit_code == 0, _err(r)
    cfg = yaml.safe_load(r.stdout)
    assert cfg["optim"]["name"] == "adam" and cfg["optim"]["lr"] == pytest.approx(0.0042)
    assert cfg["model"]["in_features"] == 16                 # interpolations resolved
    assert not Path("outputs").exists()                      # nothing is run


# ------------------------------------------------------------------------ user errors
@pytest.mark.parametrize("cmd", ["fit", "config"])
@pytest.mark.parametrize("args, expected", [
    (["missing.yaml"], "config file not found"),
    ([CONF, "optim=adamx"], "Available options in 'optim': adam, sgd"),
    ([CONF, "optim.lr"], "Error parsing override 'optim.lr'"),
    ([CONF, "model.hidd=3"], "Could not override 'model.hidd'"),
    ([CONF, "optim.lr=fast"], "optim.lr: expected a float, got 'fast'"),
    ([CONF, "+trainer.max_epoch=3"], "did you mean 'max_epochs'"),
])
def test_user_errors_exit_2(app, cmd, args, expected):
    r = invoke(app, cmd, *args)
    assert r.exit_code == 2, (r.output, r.exception)
    assert expected in _err(r)
    assert "Traceback" not in r.output
    assert _err(r).strip().count("\n") == 0                 # one paragraph


def test_bad_yaml_exit_2(app, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults:\n  - model: mlp\nseed: [1, 2\n")
    r = invoke(app, "fit", bad)
    assert r.exit_code == 2 and "line" in _err(r) and "Traceback" not in r.output


@pytest.mark.parametrize("override, expected", [
    ("model.name=nope", "unknown model 'nope'"),
    ("optim.name=sgdd", "unknown optimizer 'sgdd'. Did you mean: sgd?"),
    ("sched.name=foo", "unknown scheduler 'foo'"),
    ("+data.bogus=1", "unexpected keyword argument 'bogus'"),
    ("+model.widthh=3", "cannot build"),
    ("task.loss=hinge", "unknown loss 'hinge'"),
])
def test_build_errors_exit_2_before_training(app, override, expected):
    r = invoke(app, "fit", CONF, *FAST, override)
    assert r.exit_code == 2, (r.output, r.exception)
    assert expected in _err(r) and "Traceback" not in r.output
    assert not list(Path("outputs").rglob("*.ckpt"))


def test_resume_errors_exit_2(app, tmp_path):
    r = invoke(app, "fit", CONF, *FAST, "--resume", "auto")
    assert r.exit_code == 2 and "no previous run" in _err(r)
    r = invoke(app, "fit", CONF, *FAST, "--resume", tmp_path / "nope")
    assert r.exit_code == 2 and "no such run directory" in _err(r)


def test_runtime_failure_exits_1_and_debug_shows_traceback(app):
    # inputs of 16 features into a model expecting 3: fails inside training
    args = ["fit", CONF, *FAST, "model.in_features=3", "-q"]
    r = invoke(app, *args)
    assert r.exit_code == 1, (r.output, r.exception)
    assert "the run failed" in _err(r) and "Traceback" not in _err(r)
    r = invoke(app, *args, "--debug")
    assert r.exit_code == 1 and "Traceback" in _err(r)


# ------------------------------------------------------------------------ library + subprocess
def test_run_from_config_library(tmp_path):
    run = validate(compose_config(CONF, [*FAST, "trainer.max_epochs=1", "seed=3"]))
    d = new_run_dir(tmp_path / "out", run.experiment)
    metrics = run_from_config(run, d, overrides=["seed=3"])
    assert set(metrics) >= {"train/loss", "val/loss", "val/accuracy"}
    saved = yaml.safe_load((d / "config.yaml").read_text())
    assert saved["seed"] == 3
    assert validate(saved).optim.lr == run.optim.lr         # the saved config round-trips


def test_subprocess_fit(tmp_path):
    env = dict(os.environ, KTRAIN_DISABLE_PLUGIN_AUTOLOAD="1")
    r = subprocess.run([sys.executable, "-m", "ktrain.cli.fit_cmd", "fit", CONF, *FAST,
                        "trainer.max_epochs=1", "--quiet"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    run = tmp_path / r.stdout.strip().splitlines()[-1]
    assert (run / "checkpoints" / "last.ckpt").is_file()
    r = subprocess.run([sys.executable, "-m", "ktrain.cli.fit_cmd", "fit", CONF,
                        "optim=adamx"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 2 and "Available options" in r.stderr
    assert "Traceback" not in r.stderr


def test_run_log_captures_the_console(tmp_path, monkeypatch):
    """The run directory keeps a log of what the run printed (progress lines, tables)."""
    monkeypatch.chdir(tmp_path)
    from ktrain.config import compose_config, validate
    from ktrain.train.run import run_from_config

    cfg = validate(compose_config(CONF, ["trainer=fast", "data.n_samples=120",
                                          "trainer.enable_progress_bar=true"]))
    run_from_config(cfg, run_dir=tmp_path / "run")
    log = (tmp_path / "run" / "run.log").read_text()
    assert "run started" in log and "epoch" in log


def test_fit_writes_every_artefact(tmp_path, monkeypatch):
    """Config, overrides, log, metrics (CSV, JSONL, TensorBoard), plots and checkpoints."""
    monkeypatch.chdir(tmp_path)
    from ktrain.config import compose_config, validate
    from ktrain.train.run import run_from_config

    overrides = ["data.n_samples=120", "trainer.max_epochs=2", "trainer.log_every_n_steps=1"]
    cfg = validate(compose_config(CONF, overrides))
    run = tmp_path / "run"
    metrics = run_from_config(cfg, run_dir=run, overrides=overrides,
                              enable_progress_bar=False)
    assert "val/accuracy" in metrics
    for name in ("config.yaml", "overrides.yaml", "run.log", "metrics.csv", "metrics.jsonl",
                 "loss.png", "checkpoints/last.ckpt"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert any((run / "tensorboard").rglob("events.out.tfevents*"))
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args", [["--resume", "auto"], ["+resume=auto"],
                                  ["model.name=nope"], ["+data.bogus=1"]])
def test_failed_start_leaves_no_empty_run_directory(app, tmp_path, args):
    """--resume auto with no checkpoint yet, or a build error: exit 2, and no (empty) run
    directory is left under the output root."""
    r = invoke(app, "fit", CONF, *FAST, *args, "-o", tmp_path / "out")
    assert r.exit_code == 2, (r.output, r.exception)
    assert "Traceback" not in r.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))
    (tmp_path / "out" / "mlp_synthetic").mkdir(parents=True)   # an existing experiment dir
    r = invoke(app, "fit", CONF, *FAST, *args, "-o", tmp_path / "out")
    assert r.exit_code == 2 and list((tmp_path / "out").rglob("*")) == \
        [tmp_path / "out" / "mlp_synthetic"]
