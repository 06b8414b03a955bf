"""Metric loggers (CSV, JSONL, TensorBoard), default_loggers and the PNG plots."""
from __future__ import annotations

import csv
import json
import math
import struct
import sys

import pytest

import ktrain
from ktrain.train.loggers import (CSVLogger, JSONLLogger, Logger, TensorBoardLogger,
                                  default_loggers, plot_metrics, read_jsonl, read_metrics,
                                  tensorboard_available)

PNG = b"\x89PNG\r\n\x1a\n"


def read_csv(path):
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


# ----------------------------------------------------------------------------- CSV
def test_csv_rows_columns_grow_and_merge(tmp_path):
    lg = CSVLogger(tmp_path)
    assert isinstance(lg, Logger) and lg.log_dir == tmp_path
    lg.log_metrics({"train/loss": ktrain.tensor(0.5), "epoch": 0}, step=1)
    lg.log_metrics({"lr-SGD": 0.1}, step=1)  # same step: same row
    lg.log_metrics({"train/loss": 0.25, "epoch": 0}, step=2)
    lg.save()
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert header == ["step", "epoch", "train/loss", "lr-SGD"]
    assert rows == [{"step": "1", "epoch": "0", "train/loss": "0.5", "lr-SGD": "0.1"},
                    {"step": "2", "epoch": "0", "train/loss": "0.25", "lr-SGD": ""}]
    # a new metric after rows were written: the header widens, old rows stay
    lg.log_metrics({"val/loss": float("nan"), "val/acc": math.inf, "epoch": 0}, step=2)
    lg.log_metrics({"train/loss": 0.125, "epoch": 1}, step=3)
    lg.finalize("success")
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert header == ["step", "epoch", "train/loss", "lr-SGD", "val/loss", "val/acc"]
    # the step-2 row on disk was reopened for the validation values of step 2
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert rows[1]["val/loss"] == "nan" and rows[1]["val/acc"] == "inf"
    assert rows[1]["train/loss"] == "0.25" and rows[2]["train/loss"] == "0.125"
    lg.log_metrics({"val/loss": 0.5, "epoch": 1}, step=3)
    lg.save()
    lg.log_metrics({"lr-SGD": 0.2, "epoch": 1}, step=3)
    lg.log_metrics({"lr-SGD": 0.3, "epoch": 1}, step=3)  # logged twice: a new row
    lg.save()
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert [(r["step"], r["train/loss"], r["val/loss"], r["lr-SGD"]) for r in rows[2:]] == [
        ("3", "0.125", "0.5", "0.2"), ("3", "", "", "0.3")]
    assert rows[0]["lr-SGD"] == "0.1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]  # no temp files


def test_csv_flush_every_and_resume_appends(tmp_path):
    lg = CSVLogger(tmp_path, flush_every_n_rows=2)
    lg.log_metrics({"a": 1.0}, step=1)
    assert not (tmp_path / "metrics.csv").exists()
    lg.log_metrics({"a": 2.0}, step=2)
    assert len(read_csv(tmp_path / "metrics.csv")[1]) == 2  # written without save()
    lg.save()
    # a resumed run: a new logger on the same directory appends, then widens
    lg2 = CSVLogger()
    lg2.log_dir = tmp_path
    lg2.log_metrics({"a": 3.0}, step=3)
    lg2.save()
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert header == ["step", "epoch", "a"] and [r["a"] for r in rows] == ["1.0", "2.0", "3.0"]
    lg2.log_metrics({"b": 4}, step=4)
    lg2.save()
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert header == ["step", "epoch", "a", "b"] and rows[-1]["b"] == "4"
    orphan = CSVLogger()
    orphan.log_metrics({"a": 1}, 1)
    with pytest.raises(RuntimeError, match="no log_dir"):
        orphan.save()


def test_hparams_file(tmp_path):
    CSVLogger(tmp_path).log_hyperparams({"optim": {"lr": 0.1}, "path": tmp_path})
    got = json.loads((tmp_path / "hparams.json").read_text())
    assert got == {"optim": {"lr": 0.1}, "path": str(tmp_path)}


# ----------------------------------------------------------------------------- JSONL
def test_jsonl_lines_flushed_and_read_back(tmp_path):
    lg = JSONLLogger(tmp_path)
    lg.log_metrics({"train/loss": ktrain.tensor(0.5), "epoch": 0}, step=1)
    # flushed at once: readable before save/finalize
    recs = read_jsonl(tmp_path / "metrics.jsonl")
    assert recs[0]["step"] == 1 and recs[0]["train/loss"] == 0.5 and recs[0]["epoch"] == 0
    assert isinstance(recs[0]["time"], float)
    lg.log_metrics({"val/loss": float("nan"), "n": 3}, step=2)
    lg.finalize("success")
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    second = json.loads(lines[1])  # strict JSON: NaN became null
    assert second["val/loss"] is None and second["n"] == 3
    # reopening appends; a torn last line (crash) is skipped by the reader
    lg.log_metrics({"a": 1.0}, step=3)
    lg.finalize("success")
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 4, "a"')
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [1, 2, 3]


# ----------------------------------------------------------------------------- TensorBoard
def read_events(path):
    """Scalars (tag, step, value) of a TensorBoard event file (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    out = []
    data = path.read_bytes()
    pos = 0
    while pos + 12 <= len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        rec = data[pos + 12:pos + 12 + n]
        pos += 12 + n + 4
        ev = event_pb2.Event.FromString(rec)
        for v in ev.summary.value:
            if v.HasField("simple_value"):
                out.append((v.tag, ev.step, v.simple_value))
    return out


@pytest.mark.skipif(not tensorboard_available(), reason="tensorboardX not installed")
def test_tensorboard_scalars_and_hparams(tmp_path):
    lg = TensorBoardLogger(tmp_path)
    lg.log_hyperparams({"optim": {"lr": 0.1, "betas": (0.9, 0.99)}, "model": "mlp"})
    lg.log_metrics({"train/loss": 0.5, "epoch": 0}, step=1)
    lg.log_metrics({"train/loss": ktrain.tensor(0.25), "val/acc": 0.75}, step=2)
    lg.save()
    lg.finalize("success")
    lg.finalize("success")  # idempotent
    # a second writer in the same second (fit, then test) must not clobber the first file
    lg.log_metrics({"test/acc": 0.5}, step=3)
    lg.finalize("success")
    files = sorted((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 2 and ("test/acc", 3, 0.5) in read_events(files[1])
    files = sorted((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    scalars = read_events(files[0])
    assert ("train/loss", 1, 0.5) in scalars and ("train/loss", 2, 0.25) in scalars
    assert ("val/acc", 2, 0.75) in scalars and ("epoch", 1, 0.0) in scalars
    hp = list((tmp_path / "tensorboard" / "hparams").glob("events.out.tfevents.*"))
    assert hp and ("hparam/val/acc", 0, 0.75) in [(t, s or 0, v) for t, s, v in
                                                    read_events(hp[0])]


def test_tensorboard_missing_dependency(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    assert not tensorboard_available()
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoardLogger(tmp_path)
    assert [type(lg) for lg in default_loggers(tmp_path)] == [CSVLogger, JSONLLogger]
    with pytest.raises(ImportError):
        default_loggers(tmp_path, tensorboard=True)


def test_default_loggers(tmp_path):
    lgs = default_loggers(tmp_path, tensorboard=False)
    assert [type(lg) for lg in lgs] == [CSVLogger, JSONLLogger]
    assert all(lg.log_dir == tmp_path for lg in lgs)
    if tensorboard_available():
        assert type(default_loggers(tmp_path)[-1]) is TensorBoardLogger


# ----------------------------------------------------------------------------- plots
def write_run(lg, steps=30, with_lr=True):
    for s in range(1, steps + 1):
        m = {"train/loss_step": 2.0 / s, "epoch": (s - 1) // 10}
        if with_lr:
            m.update({"lr-SGD": 0.1 * 0.5 ** ((s - 1) // 10), "lr-SGD-momentum": 0.9})
        lg.log_metrics(m, s)
        if s % 10 == 0:
            e = s // 10
            lg.log_metrics({"val/loss": 1.5 / e, "val/accuracy": 0.5 + 0.1 * e,
                            "train/accuracy_epoch": 0.55 + 0.1 * e, "epoch": e - 1}, s)
    lg.finalize("success")


def png_size(path):
    Image = pytest.importorskip("PIL.Image")

    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.size


def test_plot_metrics_from_jsonl(tmp_path):
    pytest.importorskip("matplotlib")
    write_run(JSONLLogger(tmp_path))
    paths = plot_metrics(tmp_path)
    assert [p.name for p in paths] == ["loss.png", "metrics.png", "lr.png"]
    for p in paths:
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 5000
    w, h = png_size(tmp_path / "metrics.png")
    assert w > h > 100  # two panels side by side: accuracy, loss-free
    assert png_size(tmp_path / "lr.png")[0] > png_size(tmp_path / "loss.png")[0]  # 2 panels


def test_plot_axes_have_labels(tmp_path, monkeypatch):
    """Every panel names its y axis (the loss plot had none) and its x axis (step)."""
    pytest.importorskip("matplotlib")
    from ktrain.train.loggers import plots

    figures = {}
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.setdefault(
        path.name, fig) and save(fig, path))
    write_run(JSONLLogger(tmp_path))
    plot_metrics(tmp_path)
    labels = {name: [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes
                     if ax.get_visible()] for name, fig in figures.items()}
    assert labels["loss.png"] == [("step", "loss")]
    assert labels["metrics.png"] == [("step", "accuracy")]
    assert labels["lr.png"] == [("step", "learning rate"), ("step", "momentum")]


def test_plot_metrics_from_csv_skips_absent(tmp_path):
    pytest.importorskip("matplotlib")
    write_run(CSVLogger(tmp_path), with_lr=False)
    out = tmp_path / "plots"
    paths = plot_metrics(tmp_path, out_dir=out)
    assert sorted(p.name for p in paths) == ["loss.png", "metrics.png"]
    assert all(p.parent == out for p in paths)
    recs = read_metrics(tmp_path)
    assert recs[0]["train/loss_step"] == 2.0 and recs[0]["val/loss"] is None
    assert plot_metrics(tmp_path / "empty") == []


def test_plot_metrics_without_matplotlib(tmp_path, monkeypatch):
    write_run(JSONLLogger(tmp_path), steps=2)
    for mod in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r'pip install "ktrain\[plots\]"'):
        plot_metrics(tmp_path)


# ----------------------------------------------------------------------------- resume
def _resumed(cls, tmp_path, state):
    lg = cls()
    lg.log_dir = tmp_path
    lg.load_state_dict(state)
    return lg


def test_csv_resume_cuts_back_to_the_checkpoint(tmp_path):
    lg = CSVLogger(tmp_path)
    lg.log_metrics({"a": 1.0, "epoch": 0}, step=1)
    lg.log_metrics({"a": 2.0, "epoch": 0}, step=2)
    lg.save()
    state = lg.state_dict()                      # the checkpoint, at step 2
    assert state["rows"] == 2 and state["last"] == {"step": 2, "a": 2.0, "epoch": 0}
    lg.log_metrics({"b": 5.0, "epoch": 0}, step=2)  # merged into the checkpoint's row ...
    lg.log_metrics({"a": 3.0, "epoch": 1}, step=3)  # ... and a later row, then a kill
    lg.save()
    assert read_csv(tmp_path / "metrics.csv")[0] == ["step", "epoch", "a", "b"]
    lg2 = _resumed(CSVLogger, tmp_path, state)
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert header == ["step", "epoch", "a"] and [(r["step"], r["a"]) for r in rows] == \
        [("1", "1.0"), ("2", "2.0")]
    lg2.log_metrics({"b": 5.0, "epoch": 0}, step=2)   # logged again: merged as before
    lg2.log_metrics({"a": 3.0, "epoch": 1}, step=3)
    lg2.finalize("success")
    lg.log_metrics({"x": 1.0}, step=9)  # (the killed logger is gone; keep it from flushing)
    lg._pending.clear()
    header, rows = read_csv(tmp_path / "metrics.csv")
    assert header == ["step", "epoch", "a", "b"]
    assert [(r["step"], r["a"], r["b"]) for r in rows] == \
        [("1", "1.0", ""), ("2", "2.0", "5.0"), ("3", "3.0", "")]
    # a file that is not the checkpoint's (fewer rows) is left as it is, with a warning
    with pytest.warns(UserWarning, match="does not hold the 7 rows"):
        _resumed(CSVLogger, tmp_path, dict(state, rows=7))
    assert len(read_csv(tmp_path / "metrics.csv")[1]) == 3
    _resumed(CSVLogger, tmp_path, {})      # resumed with nothing logged before: starts anew
    assert not (tmp_path / "metrics.csv").exists()


def test_jsonl_resume_cuts_back_and_drops_a_torn_line(tmp_path):
    lg = JSONLLogger(tmp_path)
    lg.log_metrics({"a": 1.0}, step=1)
    state = lg.state_dict()
    lg.log_metrics({"a": 2.0}, step=2)
    lg.finalize("success")
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 3, "a"')                  # a write a kill cut short
    lg2 = _resumed(JSONLLogger, tmp_path, state)
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [1]
    lg2.log_metrics({"a": 2.5}, step=2)
    lg2.finalize("success")
    assert [r["a"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [1.0, 2.5]
    # appending after a torn line (no resume state) cuts the torn line first
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 3, "a"')
    lg3 = JSONLLogger(tmp_path)
    lg3.log_metrics({"a": 4.0}, step=4)
    lg3.finalize("success")
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [1, 2, 4]
    assert JSONLLogger(tmp_path).state_dict()["lines"] == 3
    with pytest.warns(UserWarning, match="does not hold the 1 lines"):
        _resumed(JSONLLogger, tmp_path, {"lines": 1, "last": "something else"})


@pytest.mark.skipif(not tensorboard_available(), reason="tensorboardX not installed")
def test_tensorboard_resume_rewrites_the_checkpoint_scalars(tmp_path):
    from ktrain.train.loggers import read_scalars

    lg = TensorBoardLogger(tmp_path)
    lg.log_hyperparams({"lr": 0.1})
    lg.log_metrics({"train/loss": 0.5, "epoch": 0}, step=1)
    lg.save()
    state = lg.state_dict()                    # 2 scalars on disk
    assert state["scalars"] == 2
    assert read_scalars(tmp_path / "tensorboard") == [("train/loss", 1, 0.5), ("epoch", 1, 0.0)]
    lg.log_metrics({"train/loss": 0.25}, step=2)   # after the checkpoint ...
    lg.finalize("interrupted")                     # ... and an hparams sub-run
    lg.log_metrics({"test/acc": 0.5}, step=3)      # a second file
    lg.finalize("success")
    d = tmp_path / "tensorboard"
    assert len(list(d.glob("*tfevents*"))) == 2 and (d / "hparams").is_dir()
    lg2 = _resumed(TensorBoardLogger, tmp_path, state)
    assert len(list(d.glob("*tfevents*"))) == 1 and not (d / "hparams").exists()
    assert read_scalars(d) == [("train/loss", 1, 0.5), ("epoch", 1, 0.0)]
    lg2.log_hyperparams({"lr": 0.1})
    lg2.log_metrics({"train/loss": 0.75}, step=2)
    lg2.finalize("success")
    assert read_scalars(d)[:3] == [("train/loss", 1, 0.5), ("epoch", 1, 0.0),
                                   ("train/loss", 2, 0.75)]
    assert ("hparam/train/loss", 0, 0.75) in read_scalars(d / "hparams")
    # a rewrite killed after its file was complete is finished by the next resume
    from ktrain.train.loggers.tensorboard import _event_files

    (d / ".ktrain-resume.ready").write_bytes(b"".join(p.read_bytes() for p in _event_files(d)))
    for p in list(d.glob("*tfevents*")):
        p.rename(p.with_name(p.name + ".x"))     # still 'tfevents' files, to be replaced
    _resumed(TensorBoardLogger, tmp_path, {"scalars": 3, "last": {}})
    assert read_scalars(d)[:3] == [("train/loss", 1, 0.5), ("epoch", 1, 0.0),
                                   ("train/loss", 2, 0.75)]
    assert len(list(d.glob("*tfevents*"))) == 1 and not (d / ".ktrain-resume.ready").exists()
