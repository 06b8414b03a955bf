"""Resampling, mel filterbank, DCT, dB and masking against closed forms."""
import math

import ktrain as kt
import numpy as np
import pytest
from ktrain.autograd import gradcheck
from ktrain_audio import functional as AF
from ktrain_audio import transforms as AT


def _peak_hz(x, sr):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * sr / len(x)


@pytest.mark.parametrize("orig,new", [(16000, 8000), (8000, 16000), (44100, 16000),
                                      (16000, 22050)])
def test_resample_preserves_sine(orig, new):
    f = 440.0
    t = np.arange(orig) / orig
    x = kt.tensor(np.sin(2 * np.pi * f * t).astype(np.float32))
    y = AF.resample(x, orig, new)
    assert y.shape == (math.ceil(new * orig / orig),) and y.dtype == kt.float32
    assert abs(_peak_hz(y.numpy(), new) - f) < 2.0
    # the interior matches the ideal resampled sine
    ref = np.sin(2 * np.pi * f * np.arange(new) / new)
    np.testing.assert_allclose(y.numpy()[200:-200], ref[200:-200], atol=2e-2)


def test_resample_suppresses_aliasing():
    sr, new = 16000, 8000
    t = np.arange(sr) / sr
    x = kt.tensor(np.sin(2 * np.pi * 6000 * t))   # above the new Nyquist (4 kHz)
    y = AF.resample(x, sr, new).numpy()
    assert np.sqrt(np.mean(y[100:-100] ** 2)) < 0.01   # naive decimation: 0.707
    assert np.sqrt(np.mean(x.numpy()[::2] ** 2)) > 0.5


def test_resample_batched_module_and_grad():
    x = kt.randn(2, 3, 400)
    y = AT.Resample(16000, 12000)(x)
    assert y.shape == (2, 3, 300)
    np.testing.assert_allclose(y[1, 2].numpy(), AF.resample(x[1, 2], 16000, 12000).numpy(),
                               atol=1e-6)
    xx = kt.tensor(np.random.default_rng(0).standard_normal(40), requires_grad=True)
    assert gradcheck(lambda a: AF.resample(a, 4, 3, lowpass_filter_width=3), (xx,))


def _mel_htk(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def test_mel_scales_closed_form():
    f = np.array([0.0, 500.0, 1000.0, 4000.0])
    np.testing.assert_allclose(AF.hz_to_mel(f), _mel_htk(f))
    np.testing.assert_allclose(AF.mel_to_hz(AF.hz_to_mel(f)), f, atol=1e-9)
    sl = AF.hz_to_mel(f, "slaney")
    np.testing.assert_allclose(sl[:3], [0.0, 7.5, 15.0])
    assert sl[3] == pytest.approx(15 + math.log(4.0) / (math.log(6.4) / 27))
    np.testing.assert_allclose(AF.mel_to_hz(sl, "slaney"), f, atol=1e-9)


@pytest.mark.parametrize("norm,scale", [(None, "htk"), ("slaney", "slaney"), (None, "slaney")])
def test_melscale_fbanks_closed_form(norm, scale):
    n_freqs, n_mels, sr = 65, 10, 8000
    fb = AF.melscale_fbanks(n_freqs, 50.0, 3800.0, n_mels, sr, norm, scale,
                            dtype=kt.float64).numpy()
    assert fb.shape == (n_freqs, n_mels)
    freqs = np.linspace(0, sr // 2, n_freqs)
    pts = AF.mel_to_hz(np.linspace(AF.hz_to_mel(50.0, scale), AF.hz_to_mel(3800.0, scale),
                                   n_mels + 2), scale)
    for m in range(n_mels):  # each filter is a triangle on (pts[m], pts[m+1], pts[m+2])
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        tri = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
        if norm == "slaney":
            tri *= 2.0 / (hi - lo)
        np.testing.assert_allclose(fb[:, m], tri, atol=1e-12)


def test_create_dct_orthonormal():
    d = AF.create_dct(13, 40, "ortho", dtype=kt.float64).numpy()
    assert d.shape == (40, 13)
    np.testing.assert_allclose(d.T @ d, np.eye(13), atol=1e-12)
    n = np.arange(40)
    np.testing.assert_allclose(d[:, 3], math.sqrt(2 / 40) * np.cos(math.pi / 40 * (n + 0.5) * 3))
    d2 = AF.create_dct(5, 8, None, dtype=kt.float64).numpy()
    np.testing.assert_allclose(d2[:, 0], 2.0)


def test_amplitude_to_db_values():
    x = kt.tensor(np.array([[[1.0, 10.0], [100.0, 1e-12]]]))
    db = AT.AmplitudeToDB("power")(x).numpy()
    np.testing.assert_allclose(db, [[[0.0, 10.0], [20.0, -100.0]]], atol=1e-9)
    db = AT.AmplitudeToDB("power", top_db=15)(x).numpy()
    np.testing.assert_allclose(db, [[[5.0, 10.0], [20.0, 5.0]]], atol=1e-9)
    mag = AT.AmplitudeToDB("magnitude")(kt.tensor([[10.0]])).numpy()
    np.testing.assert_allclose(mag, [[20.0]])
    # top_db is per example of a batch (the last three dims)
    b = kt.tensor(np.array([1.0, 1e4]).reshape(2, 1, 1, 1) * np.ones((2, 1, 2, 2)))
    b[0, 0, 0, 0] = 1e-8
    out = AT.AmplitudeToDB(top_db=20)(b).numpy()
    assert out[0].min() == pytest.approx(-20.0) and out[1].min() == pytest.approx(40.0)


def test_mfcc_matches_manual_pipeline():
    x = kt.tensor(np.random.default_rng(1).standard_normal((2, 4000)), dtype=kt.float64)
    mk = {"n_fft": 256, "hop_length": 128, "n_mels": 32}
    mf = AT.MFCC(8000, n_mfcc=12, melkwargs=mk)
    mf = mf.to(kt.float64) if hasattr(mf, "to") else mf
    out = mf(x).numpy()
    mel = AT.MelSpectrogram(8000, **mk)(x)
    db = AT.AmplitudeToDB("power", 80.0)(mel).numpy()
    dct = AF.create_dct(12, 32, "ortho", dtype=kt.float64).numpy()
    ref = np.einsum("bmt,mk->bkt", db, dct)
    assert out.shape == (2, 12, 4000 // 128 + 1)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    lm = AT.MFCC(8000, n_mfcc=12, log_mels=True, melkwargs=mk)(x).numpy()
    np.testing.assert_allclose(lm, np.einsum("bmt,mk->bkt", np.log(mel.numpy() + 1e-6), dct),
                               atol=1e-4)


def test_masking_statistics():
    kt.manual_seed(0)
    spec = kt.ones(200, 2, 40, 50)
    out = AT.FrequencyMasking(10, iid_masks=True)(spec).numpy()
    masked_rows = (out == 0).all(-1).sum(-1)            # (B, C) masked bands
    assert masked_rows.max() <= 10
    # width ~ floor(U(0, 10)): mean 4.5; independent per example and channel
    assert 3.8 < masked_rows.mean() < 5.2
    assert len({tuple(np.flatnonzero(out[b, 0, :, 0] == 0)) for b in range(200)}) > 30
    assert (masked_rows[:, 0] != masked_rows[:, 1]).any()
    t = AT.TimeMasking(20, iid_masks=True, p=0.2)(spec).numpy()
    cols = (t == 0).all(-2).sum(-1)
    assert cols.max() <= 10                               # p caps it at 0.2 * 50
    shared = AT.TimeMasking(20)(spec).numpy()           # one mask for the whole batch
    assert all(np.array_equal(shared[0], shared[b]) for b in range(200))
    kt.manual_seed(3)
    a = AT.FrequencyMasking(10, True)(spec).numpy()
    kt.manual_seed(3)
    assert np.array_equal(a, AT.FrequencyMasking(10, True)(spec).numpy())


def test_add_noise_snr_and_effects():
    kt.manual_seed(0)
    x = kt.tensor(np.sin(np.linspace(0, 200, 8000)).reshape(1, 8000).repeat(3, 0)
                  .astype(np.float32))
    snr = kt.tensor([0.0, 10.0, 20.0])
    y = AT.AddNoise()(x, snr=snr)
    noise = (y - x).numpy()
    got = 10 * np.log10((x.numpy() ** 2).sum(-1) / (noise ** 2).sum(-1))
    np.testing.assert_allclose(got, [0, 10, 20], atol=1e-3)
    np.testing.assert_allclose(AT.Vol(2.0)(kt.tensor([0.3, 0.7])).numpy(), [0.6, 1.0])
    np.testing.assert_allclose(AT.Vol(20, "db")(kt.tensor([0.01])).numpy(), [0.1], rtol=1e-6)
    np.testing.assert_allclose(AF.gain(kt.tensor([1.0]), -20).numpy(), [0.1], rtol=1e-6)
    f = AT.Fade(4, 4, "linear")(kt.ones(10)).numpy()
    np.testing.assert_allclose(f, [0, 1 / 3, 2 / 3, 1, 1, 1, 1, 2 / 3, 1 / 3, 0], atol=1e-6)
    for shape in ("exponential", "logarithmic", "quarter_sine", "half_sine"):
        assert AT.Fade(3, 3, shape)(kt.ones(8)).shape == (8,)


def test_time_shift_and_pad_trim():
    x = kt.arange(1, 6, dtype=kt.float32).reshape(1, 1, 5).repeat(2, 1, 1)
    y = AF.time_shift(x, kt.tensor([2, -1])).numpy()
    np.testing.assert_allclose(y[0, 0], [0, 0, 1, 2, 3])
    np.testing.assert_allclose(y[1, 0], [2, 3, 4, 5, 0])
    kt.manual_seed(0)
    r = AT.RandomTimeShift(2)(kt.ones(50, 1, 10)).numpy()
    assert len({int(row.sum()) for row in r[:, 0]}) > 1
    assert AT.PadTrim(8)(kt.ones(2, 5)).shape == (2, 8)
    np.testing.assert_allclose(AT.PadTrim(3, mode="center")(kt.arange(5.0)).numpy(), [1, 2, 3])
    assert AT.PadTrim(4, mode="random")(kt.ones(9)).shape == (4,)
