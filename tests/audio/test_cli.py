"""conf/audio_digits.yaml end to end on an FSDD layout the test writes (synthetic tones):
fit, the spectrogram PNG in the run directory, and ``ktrain predict`` on audio files."""
import json
from pathlib import Path

import ktrain_audio as ka
import numpy as np
import pytest
from ktrain.train import evaluate as ev
from ktrain_audio.predict import (
    AUDIO_EXTENSIONS,
    read_audio_for_predict,
    register_predict,
)

ROOT = Path(__file__).resolve().parents[2]


def _tone(d, n=2000, sr=8000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    return (0.4 * np.sin(2 * np.pi * (300 + 250 * d) * t)
            + 0.01 * rng.standard_normal(n))[None].astype(np.float32)


@pytest.fixture(scope="module")
def fsdd_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdd") / "recordings"
    root.mkdir()
    for d in range(10):
        for i in range(12):
            ka.save(root / f"{d}_synth_{i}.wav", _tone(d, seed=i), 8000)
    return root


@pytest.fixture(scope="module")
def digits_run(fsdd_root, tmp_path_factory):
    from ktrain.config import compose_config, validate
    from ktrain.train.run import new_run_dir, run_from_config

    over = [f"data.root={fsdd_root}", "+data.val_indices=[5]", "+data.test_indices=[0]",
            "trainer.max_epochs=1", "trainer.limit_train_batches=2",
            "trainer.limit_val_batches=1", "trainer.enable_plots=false"]
    run = validate(compose_config(str(ROOT / "conf" / "audio_digits.yaml"), over))
    run_dir = new_run_dir(tmp_path_factory.mktemp("runs"), run.experiment)
    run_from_config(run, run_dir, overrides=over, enable_progress_bar=False)
    return run_dir


def test_fit_writes_spectrogram_png(digits_run):
    png = Path(digits_run) / "spectrograms.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((Path(digits_run) / "metrics.json").read_text())
    assert any(k.startswith("test/") for k in metrics)


def test_reader_matches_the_dataset(fsdd_root, tmp_path):
    register_predict()
    for ext in AUDIO_EXTENSIONS:
        assert ev.PREDICT_READERS[ext] is read_audio_for_predict
    ds = ka.datasets.FSDD(fsdd_root, split="val", length=8000,
                          transform=[{"name": "mel_spectrogram", "sample_rate": 8000,
                                      "n_fft": 256, "hop_length": 128, "n_mels": 40}])
    ctx = ev.PredictContext(dataset=ds)
    x = read_audio_for_predict(ds.files[0], ctx)
    np.testing.assert_allclose(x[0], ds[0][0], rtol=1e-5)
    # a 16 kHz stereo flac is downmixed and resampled to the dataset's rate first
    ka.save(tmp_path / "c.flac", np.repeat(_tone(3, n=4000, sr=16000), 2, 0), 16000)
    ds.sample_rate = 8000
    assert read_audio_for_predict(tmp_path / "c.flac", ctx).shape == (1,) + ds[0][0].shape


def test_cli_predict_audio(digits_run, fsdd_root, tmp_path, monkeypatch):
    from ktrain.cli import app
    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    ka.save(tmp_path / "clip.flac", _tone(7, sr=8000), 8000)
    r = CliRunner().invoke(app, ["predict", str(digits_run), str(fsdd_root / "3_synth_0.wav"),
                                 "clip.flac", "-o", "preds.json"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, (r.output, r.exception)
    recs = json.loads(Path("preds.json").read_text())
    assert len(recs) == 2 and all(x["label"] in [str(c) for c in range(10)] for x in recs)


def test_cli_predict_refuses_empty_audio(digits_run, tmp_path, monkeypatch):
    """A clip with no samples (or a 0-byte file) was padded to the run's length and
    "predicted" as silence: now exit 2, no traceback, the message names the file."""
    from ktrain.cli import app
    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    ka.save(tmp_path / "empty.wav", np.zeros((1, 0), np.float32), 8000)
    (tmp_path / "zero.flac").write_bytes(b"")
    for name, why in (("empty.wav", "no samples"), ("zero.flac", "empty (0 bytes)")):
        r = CliRunner().invoke(app, ["predict", str(digits_run), name],
                               env={"COLUMNS": "200"})
        assert r.exit_code == 2, (r.output, r.exception)
        assert name in r.stderr and why in r.stderr and "Traceback" not in r.output


def test_configs_compose(tmp_path):
    from ktrain.config import compose_config, validate

    run = validate(compose_config(str(ROOT / "conf" / "audio_digits.yaml"),
                                  ["data=audio_folder", f"data.root={tmp_path}",
                                   "task.num_classes=3", "model=kws_resnet"]))
    assert run.data.to_dict()["name"] == "audio_folder" and run.model.to_dict()["num_classes"] == 3
    for data, model in (("speech_commands", "m5"), ("fsdd", "kws_cnn")):
        validate(compose_config(str(ROOT / "conf" / "audio_digits.yaml"),
                                [f"data={data}", f"model={model}", f"data.root={tmp_path}"]))


@pytest.mark.filterwarnings("ignore:CTCTask")
def test_ctc_fit_on_yesno_layout(tmp_path):
    """The ctc task from the TASKS registry, the yesno group and variable-length batches."""
    from ktrain.config import compose_config, validate
    from ktrain.train.run import new_run_dir, run_from_config

    rng = np.random.default_rng(0)
    (tmp_path / "waves_yesno").mkdir()
    for i in range(12):
        bits = [(i >> k) & 1 for k in range(8)]
        wav = np.concatenate([_tone(2 + 5 * b, n=400, seed=k) for k, b in enumerate(bits)], 1)
        name = "_".join(map(str, bits)) + ".wav"
        ka.save(tmp_path / "waves_yesno" / name, wav[:, :3000 + int(rng.integers(0, 200))],
                8000)
    over = ["data=yesno", "model=ctc_recognizer", "task.type=ctc", f"data.root={tmp_path}",
            "model.hidden=16", "model.num_layers=1", "trainer.max_epochs=1",
            "trainer.enable_plots=false", "trainer.callbacks=[]"]
    run = validate(compose_config(str(ROOT / "conf" / "audio_digits.yaml"), over))
    run_dir = new_run_dir(tmp_path / "runs", run.experiment)
    run_from_config(run, run_dir, overrides=over, enable_progress_bar=False)
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    assert "val/cer" in metrics and "train/loss" in metrics
