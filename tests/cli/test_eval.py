"""``ktrain eval`` / ``ktrain predict`` (ktrain.cli.eval_cmd) and ktrain.train.evaluate."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import typer
from ktrain.cli.eval_cmd import register
from ktrain.config import compose_config, validate
from ktrain.train import evaluate as ev
from ktrain.train.run import new_run_dir, run_from_config
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
FAST = ["trainer=fast", "data.n_samples=200"]


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    register(a)
    return a


def _fit(root, overrides=()):
    run = validate(compose_config(CONF, [*FAST, *overrides]))
    run_dir = new_run_dir(root, run.experiment)
    metrics = run_from_config(run, run_dir, overrides=[*FAST, *overrides],
                              enable_progress_bar=False)
    return run_dir, metrics


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One tiny fitted run (shared: the tests only read it, or copy it)."""
    return _fit(tmp_path_factory.mktemp("runs") / "outputs")


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def _err(r):
    return r.stderr if hasattr(r, "stderr") else r.output


def _ok(r):
    assert r.exit_code == 0, (r.output, _err(r), r.exception)
    return r.stdout


# ------------------------------------------------------------------------ eval
def test_eval_reproduces_the_final_validation_metrics(app, fitted):
    run_dir, metrics = fitted
    before = sorted(p.name for p in run_dir.iterdir())
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    out = _ok(invoke(app, "eval", run_dir))
    saved = json.loads((run_dir / "eval_val.json").read_text())
    for k in ("val/accuracy", "val/loss"):
        assert saved["metrics"][k] == pytest.approx(metrics[k], abs=1e-6), k
        assert k in out
    assert saved["split"] == "val" and saved["checkpoint"].endswith("last.ckpt")
    assert "last.ckpt" in out and "eval_val.json" in out
    # nothing else in the run directory changed (no loggers, no new checkpoints)
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(before + ["eval_val.json"])
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ckpts


def test_eval_on_a_checkpoint_path_with_output_and_overrides(app, fitted, tmp_path):
    run_dir, _ = fitted
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    target = tmp_path / "res" / "e.json"
    _ok(invoke(app, "eval", ckpt, "data.batch_size=7", "--output", target))
    saved = json.loads(target.read_text())
    assert Path(saved["checkpoint"]) == ckpt.resolve()
    assert saved["overrides"] == ["data.batch_size=7"]
    # limit_val_batches=2 of batch 7 sees fewer samples: a different (valid) evaluation
    assert 0.0 <= saved["metrics"]["val/accuracy"] <= 1.0


def test_eval_test_split_library_and_cli(app, fitted):
    run_dir, _ = fitted
    res = ev.evaluate_run(run_dir, split="test", write=False)
    assert set(res["metrics"]) == {"test/accuracy", "test/loss"} and res["output"] is None
    out = _ok(invoke(app, "eval", run_dir, "--split", "test", "--quiet"))
    assert out.strip().endswith("eval_test.json")
    saved = json.loads((run_dir / "eval_test.json").read_text())
    assert saved["metrics"] == pytest.approx(res["metrics"], abs=1e-6)


def test_eval_uses_the_best_checkpoint_when_recorded(tmp_path):
    cb = "trainer.callbacks=[{name: model_checkpoint, monitor: val/loss, mode: min}]"
    run_dir, _ = _fit(tmp_path / "outputs", ["trainer.max_epochs=3", cb])
    best = ev.choose_checkpoint(run_dir, "auto")
    assert best.name != "last.ckpt" and best.is_file()
    assert ev.choose_checkpoint(run_dir, "last").name == "last.ckpt"
    res = ev.evaluate_run(run_dir, write=False)
    assert Path(res["checkpoint"]) == best


@pytest.mark.parametrize("args, expected", [
    (["eval", "nope"], "no such run directory or checkpoint"),
    (["eval", "{empty}"], "has no config.yaml"),
    (["eval", "{nockpt}"], "has no checkpoints/last.ckpt"),
    (["eval", "{run}", "--split", "train"], "--split must be 'val' or 'test'"),
    (["eval", "{run}", "optim.nope=1"], "nope"),
    (["predict", "{run}", "x.txt"], "unsupported input extension '.txt'"),
    (["predict", "{run}", "bad.npy"], "does not match the model's input"),
    (["predict", "{run}", "missing.npy"], "no such input file or folder"),
    (["predict", "{nockpt}", "x.txt"], "has no checkpoints/last.ckpt"),
])
def test_user_errors_exit_2(app, fitted, tmp_path, args, expected):
    run_dir, _ = fitted
    (tmp_path / "empty").mkdir()
    nockpt = tmp_path / "nockpt"
    nockpt.mkdir()
    shutil.copy(run_dir / "config.yaml", nockpt / "config.yaml")
    Path("x.txt").write_text("1,2\n")
    np.save("bad.npy", np.zeros((2, 5), np.float32))
    args = [a.format(run=run_dir, empty=tmp_path / "empty", nockpt=nockpt) for a in args]
    r = invoke(app, *args)
    assert r.exit_code == 2, (r.output, r.exception)
    assert expected in _err(r), _err(r)
    assert "Traceback" not in r.output
    assert _err(r).strip().count("\n") == 0


# ------------------------------------------------------------------------ predict
def test_predict_npy_and_csv_prints_classes_and_writes_json(app, fitted):
    run_dir, _ = fitted
    ds = ev._dataset(ev.load_run(run_dir), "val")
    x = np.stack([np.asarray(ds[i][0].numpy()) for i in range(4)])
    np.save("one.npy", x[0])                       # one sample
    np.save("batch.npy", x[1:3])                   # a batch
    with open("rows.csv", "w", newline="") as fh:  # header + rows
        w = csv.writer(fh)
        w.writerow([f"f{i}" for i in range(x.shape[1])])
        w.writerow(x[3].tolist())
    out = _ok(invoke(app, "predict", run_dir, "one.npy", "batch.npy", "rows.csv",
                     "--top-k", "2", "--output", "preds.json"))
    assert "class_" in out and "preds.json" in out
    recs = json.loads(Path("preds.json").read_text())
    assert [(Path(r["input"]).name, r["index"]) for r in recs] == [
        ("one.npy", 0), ("batch.npy", 0), ("batch.npy", 1), ("rows.csv", 0)]
    for r in recs:
        assert r["label"] == f"class_{r['class']}" and len(r["top_k"]) == 2
        assert 0 < r["top_k"][1]["probability"] <= r["probability"] <= 1
        assert f"{r['probability']:.4f}" in out
    # the same as the library on the same rows
    lib = ev.predict_run(run_dir, ["batch.npy"])
    assert [r["class"] for r in lib] == [recs[1]["class"], recs[2]["class"]]


def test_predict_does_not_cut_paths_when_not_a_terminal(app, fitted):
    """Piped or redirected output (CliRunner is not a TTY) keeps whole paths and top-k
    columns: rich used to squeeze the table into 80 columns, cutting or folding them (the
    other tests here pass COLUMNS=200 to get around it)."""
    run_dir, _ = fitted
    deep = Path("a_rather_long_folder_name_for_inputs") / ("subfolder_" * 6) / "sample_0.npy"
    deep.parent.mkdir(parents=True)
    np.save(deep, np.zeros((2, 16), np.float32))
    out = _ok(CliRunner().invoke(app, ["predict", str(run_dir), str(deep), "--top-k", "3"],
                                 env={"COLUMNS": "80"}))
    assert "…" not in out
    lines = [line for line in out.splitlines() if "sample_0.npy" in line]
    assert len(lines) == 2 and all(str(deep) in line for line in lines)
    assert all(line.count("class_") == 4 for line in lines)   # label + 3 top-k entries


def test_predict_folder_and_csv_output(app, fitted):
    run_dir, _ = fitted
    Path("inp").mkdir()
    np.save("inp/a.npy", np.zeros((3, 16), np.float32))
    Path("inp/notes.txt").write_text("ignored in folders")
    _ok(invoke(app, "predict", run_dir, "inp", "--output", "p.csv", "--quiet"))
    rows = list(csv.DictReader(Path("p.csv").read_text().splitlines()))
    assert len(rows) == 3 and set(rows[0]) >= {"input", "index", "class", "label",
                                               "probability"}


def test_predict_reader_registry(fitted):
    run_dir, _ = fitted

    def read_txt(path, ctx):
        assert ctx.sample_shape == (16,)
        return np.full((2,) + ctx.sample_shape, float(Path(path).read_text()), np.float32)

    Path("v.txt").write_text("0.5")
    ev.register_reader(".txt", read_txt)
    try:
        with pytest.raises(ValueError, match="already registered"):
            ev.register_reader("txt", lambda p, c: None)
        recs = ev.predict_run(run_dir, ["v.txt"])
        assert len(recs) == 2 and recs[0]["class"] == recs[1]["class"]
    finally:
        ev.PREDICT_READERS.unregister(".txt")


def test_predict_regression_outputs(app, tmp_path):
    reg = ["data.name=synthetic_regression", "task.num_classes=null", "model.num_classes=1",
           "~data.n_classes", "task.type=regression", "task.loss=mse", "task.metrics=[mse]"]
    run_dir, metrics = _fit(tmp_path / "outputs", reg)
    res = ev.evaluate_run(run_dir, write=False)
    assert res["metrics"]["val/mse"] == pytest.approx(metrics["val/mse"], abs=1e-6)
    np.save("r.npy", np.zeros((2, 16), np.float32))
    out = _ok(invoke(app, "predict", run_dir, "r.npy", "-o", "r.csv"))
    rows = list(csv.DictReader(Path("r.csv").read_text().splitlines()))
    assert len(rows) == 2 and f"{float(rows[0]['output_0']):.6g}" in out
