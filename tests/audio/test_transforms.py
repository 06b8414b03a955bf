"""Spectral transforms: shapes, values, gradients and inversions."""
import ktrain as kt
import numpy as np
import pytest
from ktrain.autograd import gradcheck
from ktrain_audio import transforms as AT


def test_spectrogram_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 1000))
    spec = AT.Spectrogram(n_fft=128, hop_length=32)(kt.tensor(x)).numpy()
    assert spec.shape == (2, 1, 65, 1000 // 32 + 1)
    w = np.hanning(129)[:-1]                     # periodic Hann
    xp = np.pad(x[0, 0], 64, mode="reflect")
    ref = np.abs(np.fft.rfft(xp[32 * 5:32 * 5 + 128] * w)) ** 2
    np.testing.assert_allclose(spec[0, 0, :, 5], ref, rtol=1e-6, atol=1e-8)
    cplx = AT.Spectrogram(128, hop_length=32, power=None)(kt.tensor(x))
    assert cplx.shape == (2, 1, 65, 32, 2)
    mag = AT.Spectrogram(128, hop_length=32, power=1.0, normalized=True)(kt.tensor(x)).numpy()
    np.testing.assert_allclose(mag, np.sqrt(spec) / np.sqrt((w ** 2).sum()), rtol=1e-6)
    f32 = AT.Spectrogram(128)(kt.randn(3, 500))
    assert f32.dtype == kt.float32


def test_gradcheck_spectrogram_and_melspectrogram():
    x = kt.tensor(np.random.default_rng(1).standard_normal((2, 40)), requires_grad=True)
    spec = AT.Spectrogram(16, hop_length=4)
    spec.window = spec.window.to(kt.float64)
    assert gradcheck(lambda a: spec(a), (x,))
    mel = AT.MelSpectrogram(800, n_fft=16, hop_length=4, n_mels=4)
    assert gradcheck(lambda a: mel(a), (x,))
    assert gradcheck(lambda a: AT.AmplitudeToDB(top_db=40)(mel(a) + 1.0), (x,))


def test_mel_spectrogram_and_scale():
    x = kt.randn(3, 2, 4000)
    m = AT.MelSpectrogram(8000, n_fft=256, hop_length=100, n_mels=40, norm="slaney",
                          mel_scale="slaney")
    out = m(x)
    assert out.shape == (3, 2, 40, 41)
    spec = AT.Spectrogram(256, hop_length=100)(x)
    ref = np.einsum("...ft,fm->...mt", spec.numpy(), m.mel_scale.fb.numpy())
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-5)


def test_inverse_spectrogram_and_griffinlim():
    rng = np.random.default_rng(2)
    x = kt.tensor(rng.standard_normal((2, 2000)))
    S = AT.Spectrogram(256, hop_length=64, power=None)(x)
    y = AT.InverseSpectrogram(256, hop_length=64)(S, length=2000)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-8)
    # Griffin-Lim recovers a waveform whose magnitude spectrogram matches the target
    t = np.arange(4000) / 8000
    sig = kt.tensor((np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1000 * t))[None])
    target = AT.Spectrogram(256, hop_length=64)(sig)
    kt.manual_seed(0)
    rec = AT.GriffinLim(256, n_iter=32, hop_length=64, length=4000)(target)
    assert rec.shape == (1, 4000)
    got = AT.Spectrogram(256, hop_length=64)(rec)
    err = np.linalg.norm(got.numpy()[..., 4:-4] - target.numpy()[..., 4:-4])
    assert err / np.linalg.norm(target.numpy()[..., 4:-4]) < 0.15


def test_complex_layout_documented_error():
    with pytest.raises(ValueError, match="view_as_real"):
        kt.stft(kt.randn(100), 16, return_complex=True)
