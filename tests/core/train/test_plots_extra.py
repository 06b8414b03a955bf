"""matplotlib is the optional ``plots`` extra: without it runs, confusion matrices and sweep
summaries write everything but their PNGs, with one notice naming the install command."""
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from ktrain.train import _matplotlib
from ktrain.train import sweep as sweep_lib
from ktrain.train.confusion import write_confusion_matrix

ROOT = Path(__file__).resolve().parents[3]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
HINT = 'pip install "ktrain[plots]"'
NOTICE = "matplotlib is not installed"


@pytest.fixture
def no_matplotlib(monkeypatch):
    """matplotlib (and any of its modules already imported) cannot be imported; the
    once-per-process notices start afresh."""
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(_matplotlib, "_seen", set())


def test_matplotlib_is_an_extra_not_a_dependency():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("matplotlib") for d in meta["dependencies"])
    extras = meta["optional-dependencies"]
    assert any(d.startswith("matplotlib") for d in extras["plots"])
    assert any(d.startswith("matplotlib") for d in extras["test"])   # tests cover the plots


def test_agg_figure_error_names_the_extra(no_matplotlib):
    assert not _matplotlib.have_plots()
    with pytest.raises(ImportError, match=r'pip install "ktrain\[plots\]"'):
        _matplotlib.agg_figure("the plots")


def test_notice_once_per_key(no_matplotlib, capsys):
    assert _matplotlib.notify_skipped(["a.png", "b.png"], key=("run", "x"))
    assert not _matplotlib.notify_skipped(["a.png"])        # the run's notice covers it
    assert not _matplotlib.notify_skipped(["a.png"], key=("run", "x"))
    err = capsys.readouterr().err
    assert err.count(NOTICE) == 1 and "a.png, b.png are not drawn" in err and HINT in err


def test_confusion_matrix_csv_without_matplotlib(no_matplotlib, tmp_path, capsys):
    paths = write_confusion_matrix([[3, 1], [0, 4]], tmp_path, classes=["a", "b"])
    assert paths == [tmp_path / "confusion_matrix.csv"]
    assert (tmp_path / "confusion_matrix.csv").read_text().splitlines()[1] == "a,3,1"
    write_confusion_matrix([[3, 1], [0, 4]], tmp_path / "again")
    err = capsys.readouterr().err
    assert err.count(NOTICE) == 1 and "confusion_matrix.png" in err and HINT in err
    assert not list(tmp_path.rglob("*.png"))


def test_sweep_summary_without_matplotlib(no_matplotlib, tmp_path, capsys):
    for num, metric in [(0, 0.5), (1, 0.7)]:
        d = tmp_path / str(num)
        d.mkdir()
        (d / sweep_lib.RESULT_FILE).write_text(json.dumps({
            "job": num, "run_dir": str(d), "params": {"optim.lr": str(0.1 * (num + 1))},
            "metrics": {"val/accuracy": metric}, "metric": metric, "status": "ok",
            "error": None}))
    res = sweep_lib.summarise(tmp_path, monitor="val/accuracy", mode="max")
    assert res.plot_path is None and res.csv_path.is_file()
    assert [r["job"] for r in res.rows] == [1, 0]
    assert not (tmp_path / "summary.png").exists()
    err = capsys.readouterr().err
    assert err.count(NOTICE) == 1 and "summary.png is not drawn" in err and HINT in err


def test_fit_without_matplotlib_subprocess(tmp_path):
    """A fresh process in which matplotlib cannot be imported: ``ktrain fit`` trains,
    writes metrics, checkpoints and confusion_matrix.csv, no PNG, and says so once."""
    args = ["fit", CONF, "trainer.max_epochs=2", "data.n_samples=120",
            "trainer.limit_train_batches=3", "trainer.enable_progress_bar=false",
            "trainer.log_every_n_steps=1", "--output-dir", "run"]
    code = ("import sys; sys.modules['matplotlib'] = None; "
            f"sys.argv = ['ktrain', *{args!r}]; from ktrain.cli import main; main()")
    env = dict(os.environ, KTRAIN_DISABLE_PLUGIN_AUTOLOAD="1")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr, r.stderr
    assert r.stderr.count(NOTICE) == 1 and HINT in r.stderr, r.stderr
    for png in ("loss.png", "metrics.png", "confusion_matrix.png"):
        assert png in r.stderr
    run = tmp_path / r.stdout.strip().splitlines()[-1]
    for name in ("config.yaml", "metrics.csv", "metrics.jsonl", "metrics.json",
                 "confusion_matrix.csv", "checkpoints/last.ckpt"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert not list(run.rglob("*.png"))
    assert (run / "run.log").read_text().count(NOTICE) == 1
