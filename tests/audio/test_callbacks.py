"""spectrogram_plot: a PNG from waveform batches (variable length) or feature batches."""
from types import SimpleNamespace

import ktrain as kt
from ktrain_audio.callbacks import SpectrogramPlot


def test_png_from_waveforms_and_features(tmp_path):
    trainer = SimpleNamespace(log_dir=str(tmp_path), default_root_dir=str(tmp_path))
    wave_batches = [({"x": kt.randn(2, 1, 3000 + 500 * i), "lengths": kt.tensor([3000, 2000])},
                     kt.tensor([i, 0])) for i in range(3)]
    feat_batches = [(kt.randn(2, 1, 40, 30), kt.tensor([i, 1])) for i in range(3)]
    for name, batches in (("w.png", wave_batches), ("f.png", feat_batches)):
        cb = SpectrogramPlot(num_clips=2, filename=name, sample_rate=8000, n_mels=32)
        cb.on_validation_epoch_start(trainer, None)
        for i, b in enumerate(batches):
            cb.on_validation_batch_end(trainer, None, None, b, i)
        cb.on_fit_end(trainer, None)
        assert len(cb._clips) == 2 and cb._labels == [0, 1]
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_titles_use_the_validation_datasets_class_names(tmp_path):
    ds = SimpleNamespace(classes=["yes", "no"])
    trainer = SimpleNamespace(log_dir=str(tmp_path), default_root_dir=str(tmp_path),
                              val_dataloaders=SimpleNamespace(dataset=ds))
    cb = SpectrogramPlot(num_clips=2, sample_rate=8000, n_mels=16)
    cb.on_validation_epoch_start(trainer, None)
    for i in range(2):
        cb.on_validation_batch_end(trainer, None, None, (kt.randn(1, 2000), kt.tensor([1 - i])), i)
    cb.on_fit_end(trainer, None)
    assert cb.titles == ["label no", "label yes"]


def _block_matplotlib(monkeypatch):
    import sys

    from ktrain.train import _matplotlib

    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(_matplotlib, "_seen", set())


def test_without_matplotlib_the_callback_is_not_built(monkeypatch):
    """Asked for by name, the spectrograms need the 'plots' extra: an error up front."""
    import pytest

    _block_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match=r'pip install "ktrain\[plots\]"'):
        SpectrogramPlot()


def test_without_matplotlib_fit_exits_2_before_training(monkeypatch, tmp_path):
    from pathlib import Path

    from ktrain.cli import app
    from typer.testing import CliRunner

    _block_matplotlib(monkeypatch)
    monkeypatch.chdir(tmp_path)
    conf = Path(__file__).resolve().parents[2] / "conf" / "mlp_synthetic.yaml"
    r = CliRunner().invoke(app, ["fit", str(conf), "trainer=fast",
                                 "trainer.callbacks=[{name: spectrogram_plot}]"])
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert r.exit_code == 2, (r.output, r.exception)
    assert "spectrogram_plot" in err and 'pip install "ktrain[plots]"' in err
    assert "Traceback" not in err
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]   # nothing trained
