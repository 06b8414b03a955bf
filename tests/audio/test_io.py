"""Audio I/O round trips through soundfile, and errors that name the file."""
import ktrain as kt
import ktrain_audio as ka
import numpy as np
import pytest


def _tone(sr, seconds=0.25, channels=1, f=440.0):
    t = np.arange(int(sr * seconds)) / sr
    sig = 0.5 * np.sin(2 * np.pi * f * t)
    return np.stack([sig * (c + 1) / channels for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("ext,sr,channels,atol", [(".wav", 8000, 1, 0.0),
                                                   (".wav", 44100, 2, 1e-4),
                                                   (".flac", 16000, 1, 1e-4),
                                                   (".flac", 22050, 2, 1e-4),
                                                   (".ogg", 16000, 1, 0.1)])
def test_round_trip(tmp_path, ext, sr, channels, atol):
    wav = _tone(sr, channels=channels)
    path = tmp_path / f"a{ext}"
    ka.save(path, kt.tensor(wav), sr)
    got, got_sr = ka.load(path)
    assert got_sr == sr and got.dtype == kt.float32
    assert got.shape[0] == channels
    if ext != ".ogg":  # vorbis is lossy and may pad
        assert got.shape == wav.shape
        np.testing.assert_allclose(got.numpy(), wav, atol=atol)
    i = ka.info(path)
    assert (i.sample_rate, i.num_channels) == (sr, channels)
    if ext != ".ogg":
        assert i.num_frames == wav.shape[1]


def test_slices_int_pcm_and_layout(tmp_path):
    wav = _tone(8000, channels=2)
    path = tmp_path / "s.wav"
    ka.save(path, wav, 8000, bits_per_sample=16)
    part, _ = ka.load(path, frame_offset=100, num_frames=50)
    full, _ = ka.load(path)
    np.testing.assert_array_equal(part.numpy(), full.numpy()[:, 100:150])
    raw, _ = ka.load(path, normalize=False)
    assert raw.dtype == kt.int16
    np.testing.assert_allclose(raw.numpy() / 32768.0, full.numpy(), atol=1e-6)
    t, _ = ka.load(path, channels_first=False)
    assert t.shape == (full.shape[1], 2)
    assert ka.info(path).bits_per_sample == 16


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        ka.load(tmp_path / "missing.wav")
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 4)
    with pytest.raises(RuntimeError, match="corrupt.wav"):
        ka.load(bad)
    txt = tmp_path / "notes.flac"
    txt.write_text("not audio")
    with pytest.raises(RuntimeError, match="notes.flac"):
        ka.info(txt)


def test_mono_stereo():
    from ktrain_audio import functional as AF

    x = kt.tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    np.testing.assert_allclose(AF.to_mono(x).numpy(), [[2.0, 3.0]])
    assert AF.to_stereo(AF.to_mono(x)).shape == (2, 2)
