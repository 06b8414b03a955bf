"""``ktrain export`` (ktrain.cli.export_cmd, ktrain.app.export): a fitted run to ONNX and to
a ktrain.jit graph, with the sidecar JSON and the parity check; the user errors exit 2."""
import json

import numpy as np
import pytest
import typer
from ktrain.cli.export_cmd import register
from typer.testing import CliRunner

from .test_eval import _fit


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    register(a)
    a.command("noop")(lambda: None)   # a second command: typer keeps "export" as a name
    return a


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    return _fit(tmp_path_factory.mktemp("runs") / "outputs")


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_export_onnx_with_sidecar_and_parity(app, fitted):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    run_dir, _ = fitted
    r = invoke(app, "export", run_dir)
    assert r.exit_code == 0, (r.output, r.exception)
    out = run_dir / "export" / "model.onnx"
    assert f"written: {out}" in r.stdout and "opset 17" in r.stdout
    assert "onnxruntime max abs diff" in r.stdout
    meta = json.loads((run_dir / "export" / "model.onnx.json").read_text())
    assert meta["format"] == "onnx" and meta["inputs"][0]["shape"][0] == "batch"
    assert meta["parity"]["onnxruntime_max_abs_diff"] <= 1e-4
    assert meta["parity"]["reloaded_max_abs_diff"] <= 1e-4
    assert meta["checkpoint"].endswith(".ckpt") and meta["data"]["name"]
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    feat = meta["inputs"][0]["shape"][1]
    y = sess.run(None, {meta["inputs"][0]["name"]: np.zeros((3, feat), np.float32)})[0]
    assert y.shape[0] == 3


def test_export_ktrain_format_static_batch(app, fitted, tmp_path):
    import ktrain

    run_dir, _ = fitted
    target = tmp_path / "m.kt"
    r = invoke(app, "export", run_dir, "--format", "ktrain", "-o", target, "--static-batch")
    assert r.exit_code == 0, (r.output, r.exception)
    meta = json.loads((tmp_path / "m.kt.json").read_text())
    assert meta["format"] == "ktrain" and isinstance(meta["inputs"][0]["shape"][0], int)
    m = ktrain.jit.load(target)
    assert m.graph.batch is None


@pytest.mark.parametrize("args,match", [
    (["export", "no/such/run"], "no such run directory"),
    (["export", "{run}", "--format", "tflite"], "--format must be onnx or ktrain"),
    (["export", "{run}", "--checkpoint", "nope.ckpt"], "checkpoint not found"),
])
def test_export_user_errors_exit_2(app, fitted, args, match):
    run_dir, _ = fitted
    r = invoke(app, *[a.format(run=run_dir) for a in args])
    assert r.exit_code == 2
    assert match in (r.stderr if hasattr(r, "stderr") else r.output)
