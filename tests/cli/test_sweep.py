"""``ktrain sweep`` (ktrain.cli.sweep_cmd) and ktrain.train.sweep.

Real sweeps run in a subprocess (Hydra's job logging and CliRunner's captured stdout do
not mix); user errors are caught before Hydra runs and are tested with CliRunner."""
import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from ktrain.cli.sweep_cmd import register
from ktrain.config import ConfigError
from ktrain.train import sweep as sweep_lib
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
FAST = ["trainer=fast", "data.n_samples=120"]


def run_cli(*args, cwd):
    env = dict(os.environ, KTRAIN_DISABLE_PLUGIN_AUTOLOAD="1", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "ktrain.cli.sweep_cmd", "sweep",
                           *map(str, args)], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _rows(csv_path):
    with open(csv_path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_basic_grid_sweep_makes_runs_summary_and_plot(tmp_path):
    r = run_cli(CONF, "optim.lr=0.01,0.1", "seed=range(2)", *FAST, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    sweep_dir = Path(r.stdout.strip().splitlines()[-1])
    assert sweep_dir.is_dir()
    assert sweep_dir.parent == (tmp_path / "multirun" / "mlp_synthetic").resolve()
    runs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in runs] == ["0", "1", "2", "3"]
    for run in runs:
        assert (run / "config.yaml").is_file()
        res = json.loads((run / "sweep_result.json").read_text())
        assert res["status"] == "ok" and 0.0 <= res["metric"] <= 1.0
    rows = _rows(sweep_dir / "summary.csv")
    assert len(rows) == 4
    assert {(r["optim.lr"], r["seed"]) for r in rows} == {
        ("0.01", "0"), ("0.01", "1"), ("0.1", "0"), ("0.1", "1")}
    accs = [float(r["val/accuracy"]) for r in rows]
    assert accs == sorted(accs, reverse=True)  # ranked, best first
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    png = sweep_dir / "summary.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ranked by val/accuracy" in r.stdout


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None,
                    reason="hydra-optuna-sweeper not installed (pip install 'ktrain[sweep]')")
def test_optuna_sweep_three_trials(tmp_path):
    r = run_cli(CONF, "optim.lr=interval(0.001,0.5)", "optim=choice(sgd,adam)", *FAST,
                "--sweeper", "optuna", "--n-trials", "3", "--mode", "max", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    sweep_dir = Path(r.stdout.strip().splitlines()[-1])
    rows = _rows(sweep_dir / "summary.csv")
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    assert all(0.001 <= float(r["optim.lr"]) <= 0.5 for r in rows)
    assert {r["optim"] for r in rows} <= {"sgd", "adam"}
    assert (sweep_dir / "optimization_results.yaml").is_file()  # the optuna sweeper's
    assert (sweep_dir / "summary.png").is_file()


def test_every_job_failing_exits_1(tmp_path):
    r = run_cli(CONF, "optim.lr=0.1,0.2", "trainer=fast", "data.n_samples=60",
                "--monitor", "val/nope", "--no-hydra-logging", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "monitored metric 'val/nope' not logged" in r.stderr
    assert "all 2 runs failed" in r.stderr
    rows = _rows(Path(r.stdout.strip().splitlines()[-1]) / "summary.csv")
    assert [r["status"] for r in rows] == ["failed", "failed"]


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    register(a)
    a.command("_noop", hidden=True)(lambda: None)
    return a


def _err(r):
    return r.stderr if hasattr(r, "stderr") else r.output


@pytest.mark.parametrize("args, message", [
    (["optim.lrr=0.1,0.2"], "Could not override 'optim.lrr'"),
    (["optim.lr=0.1,("], "bad sweep parameter 'optim.lr=0.1,('"),
    (["optim=sgd,nope"], "Available options in 'optim': adam, sgd"),
    (["optim.lr=0.1,fast"], "optim.lr: expected a float"),
    (["optim.lr=interval(0.1,0.2)"], "needs an optimising sweeper"),
    (["trainer=fast"], "nothing to sweep"),
    (["optim.lr=0.1,0.2", "--sweeper", "grid"], "unknown sweeper 'grid'"),
    (["optim.lr=0.1,0.2", "--mode", "best"], "--mode must be 'max' or 'min'"),
])
def test_user_errors_exit_2(app, tmp_path, args, message):
    r = CliRunner().invoke(app, ["sweep", CONF, *args])
    assert r.exit_code == 2, r.output
    assert message in _err(r)
    assert "Traceback" not in r.output
    assert not (tmp_path / "multirun").exists()  # nothing ran


def test_missing_config_file_exits_2(app):
    r = CliRunner().invoke(app, ["sweep", "nope.yaml", "seed=0,1"])
    assert r.exit_code == 2 and "config file not found" in _err(r)


def test_missing_plugin_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("hydra_plugins.")
                        else real(name, *a))
    with pytest.raises(ConfigError, match=r'pip install "ktrain\[sweep\]"'):
        sweep_lib.run_sweep(CONF, ["seed=0,1"], sweeper="optuna")
    with pytest.raises(ConfigError, match=r'pip install "ktrain\[sweep\]"'):
        sweep_lib.run_sweep(CONF, ["seed=0,1"], launcher="joblib")


def test_summarise_ranks_min_mode_and_puts_failures_last(tmp_path):
    for num, metric, status in [(0, 0.5, "ok"), (1, None, "failed"), (2, 0.2, "ok")]:
        d = tmp_path / str(num)
        d.mkdir()
        (d / "sweep_result.json").write_text(json.dumps({
            "job": num, "run_dir": str(d), "params": {"optim.lr": str(0.1 * (num + 1))},
            "metrics": {"val/loss": metric} if metric is not None else {},
            "metric": metric, "status": status,
            "error": None if status == "ok" else "RuntimeError: boom"}))
    res = sweep_lib.summarise(tmp_path, monitor="val/loss", mode="min")
    assert [r["job"] for r in res.rows] == [2, 0, 1]
    assert res.best["job"] == 2 and res.n_failed == 1
    rows = _rows(res.csv_path)
    assert [r["status"] for r in rows] == ["ok", "ok", "failed"]
    assert rows[2]["error"] == "RuntimeError: boom"
    assert res.plot_path is not None and res.plot_path.is_file()
