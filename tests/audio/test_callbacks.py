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
