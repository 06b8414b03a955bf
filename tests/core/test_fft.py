"""ktrain.fft and stft/istft: values against numpy, exact gradients, PyTorch conventions."""
import ktrain as kt
import numpy as np
import pytest
from ktrain.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def cplx(t):
    a = t.detach().numpy()
    return a[..., 0] + 1j * a[..., 1]


def leaf(a):
    return kt.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


NORMS = [None, "ortho", "forward"]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 6, 13])
def test_transforms_match_numpy(norm, n):
    x = rng.standard_normal((3, 10))
    z = x + 1j * rng.standard_normal((3, 10))
    zt = kt.tensor(np.stack([z.real, z.imag], -1))
    np.testing.assert_allclose(cplx(kt.fft.rfft(kt.tensor(x), n, norm=norm)),
                               np.fft.rfft(x, n, norm=norm), atol=1e-12)
    np.testing.assert_allclose(cplx(kt.fft.fft(zt, n, norm=norm)), np.fft.fft(z, n, norm=norm),
                               atol=1e-12)
    np.testing.assert_allclose(cplx(kt.fft.ifft(zt, n, dim=0, norm=norm)),
                               np.fft.ifft(z, n, axis=0, norm=norm), atol=1e-12)
    np.testing.assert_allclose(kt.fft.irfft(zt, n, norm=norm).numpy(),
                               np.fft.irfft(z, n, norm=norm), atol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 7, 12])
def test_gradcheck(norm, n):
    x = leaf(rng.standard_normal((2, 9)))
    z = leaf(rng.standard_normal((2, 9, 2)))
    assert gradcheck(lambda t: kt.fft.rfft(t, n, norm=norm), (x,))
    assert gradcheck(lambda t: kt.fft.fft(t, n, dim=0, norm=norm), (z,))
    assert gradcheck(lambda t: kt.fft.ifft(t, n, norm=norm), (z,))
    assert gradcheck(lambda t: kt.fft.irfft(t, n, norm=norm), (z,))


def test_double_backward_and_nd():
    x = leaf(rng.standard_normal((4, 6)))
    assert gradgradcheck(lambda t: kt.fft.magnitude(kt.fft.rfft(t), 2.0).sum(-1), (x,))
    np.testing.assert_allclose(cplx(kt.fft.rfft2(x.detach())),
                               np.fft.rfft2(x.detach().numpy()), atol=1e-12)
    z = kt.fft.fft2(kt.fft.complex(x))
    np.testing.assert_allclose(cplx(z), np.fft.fft2(x.detach().numpy()), atol=1e-12)
    np.testing.assert_allclose(kt.fft.irfft2(kt.fft.rfft2(x), s=(4, 6)).detach().numpy(),
                               x.detach().numpy(), atol=1e-12)
    assert gradcheck(lambda t: kt.fft.rfft2(t), (x,))


def test_dtypes_freqs_and_errors():
    x = kt.randn(4, 16)
    assert kt.fft.rfft(x).dtype == kt.float32
    assert kt.fft.fft(kt.fft.complex(x)).dtype == kt.float32
    assert kt.fft.irfft(kt.fft.rfft(x)).dtype == kt.float32
    np.testing.assert_allclose(kt.fft.fftfreq(5, 0.1).numpy(), np.fft.fftfreq(5, 0.1),
                               rtol=1e-6)
    np.testing.assert_allclose(kt.fft.rfftfreq(8).numpy(), np.fft.rfftfreq(8))
    np.testing.assert_allclose(kt.fft.fftshift(kt.fft.fftfreq(6)).numpy(),
                               np.fft.fftshift(np.fft.fftfreq(6)), rtol=1e-6)
    with pytest.raises(ValueError, match="last dimension has size 2"):
        kt.fft.fft(x)
    with pytest.raises(ValueError, match="Invalid normalization"):
        kt.fft.rfft(x, norm="bogus")


def _stft_loop(x, n_fft, hop, window, center=True, mode="reflect", onesided=True,
               normalized=False):
    """Direct DFT of every frame, written with Python loops (the reference)."""
    if center:
        x = np.pad(x, n_fft // 2, mode=mode)
    n_frames = 1 + (len(x) - n_fft) // hop
    n_freq = n_fft // 2 + 1 if onesided else n_fft
    out = np.zeros((n_freq, n_frames), complex)
    for m in range(n_frames):
        seg = x[m * hop:m * hop + n_fft] * window
        for f in range(n_freq):
            out[f, m] = np.sum(seg * np.exp(-2j * np.pi * f * np.arange(n_fft) / n_fft))
    return out / np.sqrt(n_fft) if normalized else out


@pytest.mark.parametrize("n_fft,hop,win_length,center,mode,onesided,normalized", [
    (16, 4, None, True, "reflect", True, False),
    (16, 5, 12, True, "constant", False, True),
    (15, 16, None, False, "reflect", True, False),
    (32, 8, 20, True, "replicate", True, True),
])
def test_stft_matches_direct_dft(n_fft, hop, win_length, center, mode, onesided, normalized):
    x = rng.standard_normal((2, 70))
    wl = win_length or n_fft
    w = kt.hann_window(wl, dtype=kt.float64)
    X = kt.stft(kt.tensor(x), n_fft, hop, win_length, window=w, center=center, pad_mode=mode,
                onesided=onesided, normalized=normalized)
    full = np.zeros(n_fft)
    left = (n_fft - wl) // 2
    full[left:left + wl] = w.numpy()
    for b in range(2):
        ref = _stft_loop(x[b], n_fft, hop, full, center, {"replicate": "edge"}.get(mode, mode),
                         onesided, normalized)
        np.testing.assert_allclose(cplx(X[b]), ref, atol=1e-10)


def test_stft_conventions():
    x = kt.randn(1000)
    X = kt.stft(x, 400, 160, window=kt.hann_window(400))
    assert X.shape == (201, 1 + 1000 // 160, 2)          # center=True: 1 + L // hop frames
    assert kt.stft(x, 400, window=kt.hann_window(400), center=False).shape == \
        (201, 1 + (1000 - 400) // 100, 2)                 # default hop = n_fft // 4
    assert X.dtype == kt.float32
    with pytest.raises(ValueError, match="view_as_real"):
        kt.stft(x, 400, return_complex=True)
    with pytest.raises(RuntimeError, match="win_length"):
        kt.stft(x, 16, window=kt.hann_window(8))
    # periodic Hann as torch.hann_window
    np.testing.assert_allclose(kt.hann_window(4).numpy(), [0, 0.5, 1, 0.5], atol=1e-7)
    np.testing.assert_allclose(kt.hann_window(5, periodic=False).numpy(),
                               np.hanning(5), atol=1e-7)


def test_stft_gradcheck():
    x = leaf(rng.standard_normal((2, 30)))
    w = leaf(np.hanning(12))
    assert gradcheck(lambda a, b: kt.stft(a, 12, 3, window=b), (x, w))
    assert gradcheck(lambda a: kt.stft(a, 12, 5, win_length=8, onesided=False,
                                       normalized=True, pad_mode="constant"), (x,))
    S = leaf(rng.standard_normal((7, 9, 2)))
    assert gradcheck(lambda s: kt.istft(s, 12, 3, window=kt.hann_window(12, dtype=kt.float64)),
                     (S,))


@pytest.mark.parametrize("n_fft,hop,normalized,center", [(64, 16, False, True),
                                                          (50, 25, True, True),
                                                          (32, 8, False, False)])
def test_istft_reconstructs(n_fft, hop, normalized, center):
    x = rng.standard_normal((3, 520))
    w = kt.hann_window(n_fft, dtype=kt.float64)
    if not center:  # the first/last samples have zero window weight: use a flat-topped one
        w = kt.hann_window(n_fft, dtype=kt.float64) * 0.5 + 0.5
    X = kt.stft(kt.tensor(x), n_fft, hop, window=w, normalized=normalized, center=center)
    y = kt.istft(X, n_fft, hop, window=w, normalized=normalized, center=center, length=520)
    assert y.shape == (3, 520)
    np.testing.assert_allclose(y.numpy(), x, atol=1e-10)
    full = kt.stft(kt.tensor(x), n_fft, hop, window=w, onesided=False, center=center)
    y2 = kt.istft(full, n_fft, hop, window=w, center=center, onesided=False, length=520)
    np.testing.assert_allclose(y2.numpy(), x, atol=1e-10)
