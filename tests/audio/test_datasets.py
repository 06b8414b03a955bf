"""Dataset layouts on files the tests write; deterministic splits; collation."""
import ktrain as kt
import ktrain_audio as ka
import numpy as np
import pytest
from ktrain_audio.datasets import (
    FSDD,
    YESNO,
    AudioFolder,
    LibriSpeech,
    SpeechCommands,
    pad_collate,
)


def _write(path, n=400, sr=8000, f=300.0, ext=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(n) / sr
    ka.save(path, (0.3 * np.sin(2 * np.pi * f * t))[None].astype(np.float32), sr)


def test_audio_folder_split_and_transform(tmp_path):
    for c, f in (("cat", 300.0), ("dog", 900.0)):
        for i in range(10):
            _write(tmp_path / c / f"{i}.wav", n=300 + 20 * i, f=f)
    parts = {s: AudioFolder(tmp_path, split=s) for s in ("train", "val", "test")}
    assert parts["train"].classes == ["cat", "dog"]
    assert [len(p) for p in parts.values()] == [16, 2, 2]
    names = [set(p.files) for p in parts.values()]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert AudioFolder(tmp_path, split="val").files == parts["val"].files  # deterministic
    with pytest.raises(ValueError, match="split"):
        AudioFolder(tmp_path, split="dev")
    # variable lengths: the collate pads and returns lengths
    ds = parts["train"]
    x, y = pad_collate([ds[0], ds[5], ds[9]])
    assert x["x"].shape == (3, 1, max(len(ds.load_waveform(i)[0]) for i in (0, 5, 9)))
    assert x["lengths"].dtype == kt.int64 and y.dtype == kt.int64
    # resampling, fixed length and a transform given as config spec
    ds2 = AudioFolder(tmp_path, split="train", sample_rate=16000, length=1000,
                      transform=[{"name": "mel_spectrogram", "sample_rate": 16000,
                                  "n_fft": 128, "hop_length": 64, "n_mels": 16},
                                 {"name": "amplitude_to_db", "top_db": 80}])
    feats, label = ds2[0]
    assert feats.shape == (1, 16, 1000 // 64 + 1) and feats.dtype == np.float32
    assert ds2.collate_fn is None and label in (0, 1)


def test_train_transform_runs_before_transform_on_the_training_split_only(tmp_path):
    """The vision plugin's meaning, in every plugin: ``train_transform`` augments the
    training split and then ``transform`` runs (it used to *replace* ``transform``, so
    an augmentation list silently dropped the features); val/test use ``transform``."""
    for c in ("a", "b"):
        for i in range(10):
            _write(tmp_path / c / f"{i}.wav", n=400)
    seen = []

    def augment(w):
        seen.append(tuple(w.shape))        # the waveform, before the features
        return w * 0.5

    mel = {"name": "mel_spectrogram", "sample_rate": 8000, "n_fft": 128, "hop_length": 64,
           "n_mels": 8}
    kw = dict(length=400, transform=[mel], train_transform=augment, split_seed=0,
              cache_features=True)
    tr = AudioFolder(tmp_path, split="train", **kw)
    plain = AudioFolder(tmp_path, split="train", **{**kw, "train_transform": None})
    x, _ = tr[0]
    assert seen == [(1, 400)] and x.shape == plain[0][0].shape == (1, 8, 400 // 64 + 1)
    np.testing.assert_allclose(x, plain[0][0] * 0.25, rtol=1e-4, atol=1e-7)  # power: 0.5**2
    tr[0]
    assert len(seen) == 2                  # an augmenting split never caches features
    seen.clear()
    va = AudioFolder(tmp_path, split="val", **kw)
    va[0]
    assert seen == []                      # val/test and predict: transform alone
    spec = AudioFolder(tmp_path, split="train", length=400, transform=[mel],
                       train_transform=[{"name": "random_time_shift", "max_shift": 40}])
    assert spec[0][0].shape == (1, 8, 400 // 64 + 1)


def test_audio_folder_presplit(tmp_path):
    for s in ("train", "val", "test"):
        for c in ("a", "b"):
            _write(tmp_path / s / c / "x.flac")
    ds = AudioFolder(tmp_path, split="test")
    assert len(ds) == 2 and ds.classes == ["a", "b"] and "/test/" in ds.files[0]


def test_fsdd_layout_and_splits(tmp_path):
    rec = tmp_path / "recordings"
    for d in range(3):
        for spk in ("jackson", "theo", "nicolas"):
            for i in range(12):
                _write(rec / f"{d}_{spk}_{i}.wav", n=200 + 10 * i)
    (rec / "README.txt").write_text("ignored")
    tr, va, te = (FSDD(tmp_path, split=s) for s in ("train", "val", "test"))
    assert tr.classes == [str(i) for i in range(10)]
    assert len(te) == 3 * 3 * 5 and len(va) == 3 * 3 * 5 and len(tr) == 3 * 3 * 2
    assert all(int(f.rsplit("_", 1)[1][:-4]) < 5 for f in te.files)   # index 0-4 is test
    sp = {s: FSDD(rec, split=s, split_by="speaker") for s in ("train", "val", "test")}
    spk = {s: set(d.speaker_of) for s, d in sp.items()}
    assert len(spk["test"]) == 1 and len(spk["val"]) == 1 and len(spk["train"]) == 1
    assert not spk["test"] & spk["train"] and not spk["val"] & spk["train"]
    held = FSDD(rec, split="test", split_by="speaker", test_speakers=["theo"],
                val_speakers=["jackson"])
    assert set(held.speaker_of) == {"theo"}
    with pytest.raises(ValueError, match="unknown speaker"):
        FSDD(rec, split="test", split_by="speaker", test_speakers=["bob"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no '"):
        FSDD(tmp_path / "empty", split="train")


def test_speech_commands_lists(tmp_path):
    base = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    for w in ("yes", "no"):
        for i in range(4):
            _write(base / w / f"spk{i}_nohash_0.wav", n=8000, sr=16000)
    _write(base / "_background_noise_" / "noise.wav", n=100)
    (base / "validation_list.txt").write_text("yes/spk0_nohash_0.wav\nno/spk0_nohash_0.wav\n")
    (base / "testing_list.txt").write_text("yes/spk1_nohash_0.wav\n")
    tr, va, te = (SpeechCommands(tmp_path, split=s) for s in ("train", "val", "test"))
    assert tr.classes == ["no", "yes"]
    assert (len(tr), len(va), len(te)) == (5, 2, 1)
    x, y = te[0]
    assert x.shape == (1, 16000) and y == 1
    with pytest.raises(FileNotFoundError, match="download=True"):
        SpeechCommands(tmp_path / "nothing", split="train")


def test_yesno_and_librispeech_ctc(tmp_path):
    for i in range(12):
        bits = [(i >> k) & 1 for k in range(8)]
        _write(tmp_path / "waves_yesno" / ("_".join(map(str, bits)) + ".wav"), n=300 + i)
    parts = [YESNO(tmp_path, split=s) for s in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 12
    _, tg = parts[0].collate_fn([parts[0][0], parts[0][1]])
    assert tg["targets"].shape == (2, 8) and set(np.unique(tg["targets"].numpy())) <= {1, 2}
    chap = tmp_path / "LibriSpeech" / "dev-clean" / "84" / "121123"
    _write(chap / "84-121123-0000.flac", sr=16000)
    _write(chap / "84-121123-0001.flac", sr=16000)
    (chap / "84-121123.trans.txt").write_text("84-121123-0000 GO DO\n84-121123-0001 IT'S\n")
    ls = LibriSpeech(tmp_path, split="val")
    assert ls.transcripts == ["GO DO", "IT'S"]
    chars = ka.datasets.CHARS
    assert "".join(chars[i] for i in ls[0][1]) == "go do"
    with pytest.raises(FileNotFoundError, match="openslr.org/resources/12/train-clean-100"):
        LibriSpeech(tmp_path, split="train")
    with pytest.raises(FileNotFoundError, match="waves_yesno.tar.gz"):
        YESNO(tmp_path / "none")


def test_registered():
    from ktrain.registry import CALLBACKS, DATASETS, MODELS, TASKS, TRANSFORMS

    for name in ("audio_folder", "fsdd", "speech_commands", "yesno", "librispeech"):
        assert DATASETS.get(name) is not None
    for name in ("m5", "kws_cnn", "kws_resnet", "ctc_recognizer"):
        assert MODELS.get(name) is not None
    assert TRANSFORMS.get("mel_spectrogram") is not None
    assert CALLBACKS.get("spectrogram_plot") is not None and TASKS.get("ctc") is not None


def test_download_offline_and_checksum_errors(tmp_path, monkeypatch):
    import io
    import urllib.error
    import urllib.request

    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match="cannot download .*waves_yesno.tar.gz"):
        YESNO(tmp_path, download=True)
    assert not list(tmp_path.glob("*.part"))

    class Fake(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Fake(b"not the archive"))
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        YESNO(tmp_path, download=True)
