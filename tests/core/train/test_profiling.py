"""Trainer(profiler=...) and ``ktrain fit ... trainer.profiler=...``."""
import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import ktrain as kt
from ktrain import nn
from ktrain.autograd import profiler as aprof
from ktrain.train import ClassificationTask, Trainer
from ktrain.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[3]


def fit(tmp_path, profiler, batches=8, **kw):
    rs = np.random.RandomState(0)
    x = kt.tensor(rs.randn(batches * 4, 6).astype(np.float32))
    y = kt.tensor(rs.randint(0, 3, batches * 4))
    task = ClassificationTask(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
                              optimizer=partial(kt.optim.SGD, lr=0.1))
    tr = Trainer(default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
                 enable_checkpointing=False, enable_plots=False, max_epochs=1,
                 profiler=profiler, **kw)
    tr.fit(task, DataLoader(TensorDataset(x, y), batch_size=4))
    return tmp_path / "profile"


def test_simple_profile_writes_the_phases_of_three_steps(tmp_path, capfd):
    out = fit(tmp_path, "simple")
    assert sorted(p.name for p in out.iterdir()) == ["phases.txt", "trace.json"]
    text = (out / "phases.txt").read_text()
    for phase in ("Trainer.training_step", "Trainer.backward", "Trainer.optimizer_step",
                  "Trainer.train_dataloader_next"):
        row = [ln for ln in text.splitlines() if phase in ln]
        assert row and row[0].split()[-1] == "3", (phase, text)
    assert "steps 2, 3, 4" in text.replace("step(s) (", "steps ")
    names = {e["name"] for e in json.loads((out / "trace.json").read_text())["traceEvents"]}
    assert {"ProfilerStep#2", "ProfilerStep#4"} <= names and "Linear" not in names
    assert "profile of 3 step(s) written to" in capfd.readouterr().err
    assert aprof._active[0] is None and aprof._ranges[0] is None


def test_advanced_profile_writes_ops_with_shapes_and_memory(tmp_path):
    out = fit(tmp_path, "advanced")
    assert sorted(p.name for p in out.iterdir()) == ["ops.txt", "ops_by_shape.txt",
                                                    "phases.txt", "trace.json"]
    ops = (out / "ops.txt").read_text()
    for name in ("Linear", "LinearBackward0", "Optimizer.step#SGD.step", "nn.Module: Linear",
                 "CPU Mem"):
        assert name in ops, name
    assert "[4, 6]" in (out / "ops_by_shape.txt").read_text()


def test_a_fit_shorter_than_the_window_writes_what_it_ran(tmp_path):
    out = fit(tmp_path, "simple", batches=3)
    text = (out / "phases.txt").read_text()
    assert "ProfilerStep#2" in text and "ProfilerStep#3" not in text


def test_a_failing_fit_leaves_no_profiler_running(tmp_path):
    class Boom(kt.utils.data.Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            if i == 12:
                raise ValueError("bad sample")
            return kt.zeros(6), 0

    task = ClassificationTask(nn.Linear(6, 3), optimizer=partial(kt.optim.SGD, lr=0.1))
    tr = Trainer(default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
                 enable_checkpointing=False, enable_plots=False, max_epochs=1,
                 profiler="advanced")
    with pytest.raises(ValueError, match="bad sample"):
        tr.fit(task, DataLoader(Boom(), batch_size=4))
    assert aprof._active[0] is None and aprof._ranges[0] is None
    assert not (tmp_path / "profile").exists()


def test_bad_profiler_value_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="'simple' or 'advanced'"):
        Trainer(default_root_dir=tmp_path, profiler="fancy")


def test_cli_fit_with_profiler(tmp_path, monkeypatch):
    from ktrain.cli.fit_cmd import register

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KTRAIN_DISABLE_PLUGIN_AUTOLOAD", "1")
    app = typer.Typer()
    register(app)
    conf = str(ROOT / "conf" / "mlp_synthetic.yaml")
    r = CliRunner().invoke(app, ["fit", conf, "trainer=fast", "data.n_samples=200",
                                 "trainer.profiler=advanced"])
    assert r.exit_code == 0, (r.output, r.exception)
    run_dir = Path(r.stdout.strip().splitlines()[-1])
    assert (run_dir / "profile" / "ops.txt").is_file()
    assert (run_dir / "profile" / "trace.json").is_file()
    r = CliRunner().invoke(app, ["fit", conf, "trainer=fast", "trainer.profiler=fancy"])
    assert r.exit_code == 2
    assert "profiler" in (r.output + getattr(r, "stderr", ""))
