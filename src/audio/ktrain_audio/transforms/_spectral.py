"""Spectral transforms (torchaudio.transforms' names, arguments and defaults)."""
from __future__ import annotations

import math

import ktrain as kt
from ktrain import nn

from .. import functional as AF

__all__ = [
    "MFCC",
    "AmplitudeToDB",
    "GriffinLim",
    "InverseSpectrogram",
    "MelScale",
    "MelSpectrogram",
    "Resample",
    "Spectrogram",
]


def _make_window(window_fn, win_length, wkwargs):
    fn = kt.hann_window if window_fn is None else window_fn
    if isinstance(fn, str):
        fn = getattr(kt, fn if fn.endswith("_window") else fn + "_window")
    return fn(win_length, **(wkwargs or {}))


class Spectrogram(nn.Module):
    """``|STFT(waveform)| ** power``: ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)``.

    Defaults as torchaudio: ``n_fft=400``, ``win_length=n_fft``, ``hop_length=win_length //
    2``, Hann window, ``power=2`` (``None``: the complex layout ``(..., freq, frames, 2)``
    of :mod:`ktrain.fft`), ``normalized`` True/'window' divides by the window's L2 norm,
    'frame_length' uses the orthonormal STFT.

    Example::

        spec = Spectrogram(n_fft=256, hop_length=128)(kt.randn(4, 1, 8000))  # (4,1,129,63)
    """

    def __init__(self, n_fft: int = 400, win_length=None, hop_length=None, pad: int = 0,
                 window_fn=None, power: float | None = 2.0, normalized=False, wkwargs=None,
                 center: bool = True, pad_mode: str = "reflect", onesided: bool = True,
                 return_complex=None):
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", _make_window(window_fn, self.win_length, wkwargs))
        self.pad, self.power, self.normalized = pad, power, normalized
        self.center, self.pad_mode, self.onesided = center, pad_mode, onesided

    def forward(self, waveform):
        return AF.spectrogram(waveform, self.pad, self.window.to(waveform.dtype), self.n_fft,
                              self.hop_length, self.win_length, self.power, self.normalized,
                              self.center, self.pad_mode, self.onesided)


class InverseSpectrogram(nn.Module):
    """Waveform from a complex-layout spectrogram ``(..., freq, frames, 2)`` (torchaudio's
    ``InverseSpectrogram``; ``forward(spectrogram, length=None)``)."""

    def __init__(self, n_fft: int = 400, win_length=None, hop_length=None, pad: int = 0,
                 window_fn=None, normalized=False, wkwargs=None, center: bool = True,
                 pad_mode: str = "reflect", onesided: bool = True):
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", _make_window(window_fn, self.win_length, wkwargs))
        self.pad, self.normalized = pad, normalized
        self.center, self.pad_mode, self.onesided = center, pad_mode, onesided

    def forward(self, spectrogram, length=None):
        return AF.inverse_spectrogram(spectrogram, length, self.pad,
                                      self.window.to(spectrogram.dtype), self.n_fft,
                                      self.hop_length, self.win_length, self.normalized,
                                      self.center, self.pad_mode, self.onesided)


class GriffinLim(nn.Module):
    """Waveform from a magnitude spectrogram ``(..., n_fft // 2 + 1, frames)`` by the
    Griffin-Lim algorithm with momentum (torchaudio's defaults: 32 iterations, 0.99)."""

    def __init__(self, n_fft: int = 400, n_iter: int = 32, win_length=None, hop_length=None,
                 window_fn=None, power: float = 2.0, wkwargs=None, momentum: float = 0.99,
                 length=None, rand_init: bool = True):
        super().__init__()
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in the range [0, 1), got {momentum}")
        self.n_fft, self.n_iter = n_fft, n_iter
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", _make_window(window_fn, self.win_length, wkwargs))
        self.power, self.momentum, self.length, self.rand_init = power, momentum, length, \
            rand_init

    def forward(self, specgram):
        return AF.griffinlim(specgram, self.window.to(specgram.dtype), self.n_fft,
                             self.hop_length, self.win_length, self.power, self.n_iter,
                             self.momentum, self.length, self.rand_init)


class MelScale(nn.Module):
    """Spectrogram ``(..., n_stft, time)`` -> mel spectrogram ``(..., n_mels, time)`` with
    :func:`~ktrain_audio.functional.melscale_fbanks` (buffer ``fb``, ``(n_stft, n_mels)``)."""

    def __init__(self, n_mels: int = 128, sample_rate: int = 16000, f_min: float = 0.0,
                 f_max: float | None = None, n_stft: int = 201, norm: str | None = None,
                 mel_scale: str = "htk"):
        super().__init__()
        self.n_mels, self.sample_rate = n_mels, sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min, self.norm, self.mel_scale = f_min, norm, mel_scale
        if f_min > self.f_max:
            raise ValueError(f"Require f_min: {f_min} <= f_max: {self.f_max}")
        self.register_buffer("fb", AF.melscale_fbanks(n_stft, f_min, self.f_max, n_mels,
                                                       sample_rate, norm, mel_scale))

    def forward(self, specgram):
        fb = self.fb.to(specgram.dtype)
        return (specgram.transpose(-1, -2) @ fb).transpose(-1, -2)


class MelSpectrogram(nn.Module):
    """:class:`Spectrogram` then :class:`MelScale` (torchaudio's defaults: 16 kHz,
    ``n_fft=400``, 128 mels, power 2, htk scale, no norm).

    Example::

        mel = MelSpectrogram(8000, n_fft=256, hop_length=128, n_mels=64)
        feats = AmplitudeToDB(top_db=80)(mel(kt.randn(8, 1, 8000)))   # (8, 1, 64, 63)
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, win_length=None,
                 hop_length=None, f_min: float = 0.0, f_max: float | None = None,
                 pad: int = 0, n_mels: int = 128, window_fn=None, power: float = 2.0,
                 normalized=False, wkwargs=None, center: bool = True,
                 pad_mode: str = "reflect", onesided=None, norm=None, mel_scale: str = "htk"):
        super().__init__()
        self.sample_rate, self.n_fft, self.n_mels = sample_rate, n_fft, n_mels
        self.spectrogram = Spectrogram(n_fft, win_length, hop_length, pad, window_fn, power,
                                       normalized, wkwargs, center, pad_mode, True)
        self.win_length, self.hop_length = self.spectrogram.win_length, \
            self.spectrogram.hop_length
        self.mel_scale = MelScale(n_mels, sample_rate, f_min, f_max, n_fft // 2 + 1, norm,
                                  mel_scale)

    def forward(self, waveform):
        return self.mel_scale(self.spectrogram(waveform))


class AmplitudeToDB(nn.Module):
    """Power (``stype='power'``, 10 log10) or amplitude ('magnitude', 20 log10) to dB,
    clamped at ``amin=1e-10`` and, with ``top_db``, at ``max - top_db``."""

    def __init__(self, stype: str = "power", top_db: float | None = None):
        super().__init__()
        if stype not in ("power", "magnitude"):
            raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
        if top_db is not None and top_db < 0:
            raise ValueError("top_db must be positive value")
        self.stype, self.top_db = stype, top_db
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin, self.ref_value = 1e-10, 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x):
        return AF.amplitude_to_DB(x, self.multiplier, self.amin, self.db_multiplier,
                                  self.top_db)


class MFCC(nn.Module):
    """Mel-frequency cepstral coefficients ``(..., n_mfcc, time)``: DCT-II (``norm='ortho'``)
    of the dB mel spectrogram (``log_mels=True``: of ``log(mel + 1e-6)``); ``melkwargs``
    go to :class:`MelSpectrogram`."""

    def __init__(self, sample_rate: int = 16000, n_mfcc: int = 40, dct_type: int = 2,
                 norm: str = "ortho", log_mels: bool = False, melkwargs: dict | None = None):
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"DCT type not supported: {dct_type}")
        self.sample_rate, self.n_mfcc, self.log_mels = sample_rate, n_mfcc, log_mels
        self.amplitude_to_DB = AmplitudeToDB("power", 80.0)
        self.MelSpectrogram = MelSpectrogram(sample_rate=sample_rate, **(melkwargs or {}))
        if n_mfcc > self.MelSpectrogram.n_mels:
            raise ValueError("Cannot select more MFCC coefficients than # mel bins")
        self.register_buffer("dct_mat", AF.create_dct(n_mfcc, self.MelSpectrogram.n_mels,
                                                      norm))

    def forward(self, waveform):
        mel = self.MelSpectrogram(waveform)
        mel = kt.log(mel + 1e-6) if self.log_mels else self.amplitude_to_DB(mel)
        return (mel.transpose(-1, -2) @ self.dct_mat.to(mel.dtype)).transpose(-1, -2)


class Resample(nn.Module):
    """Resample ``(..., time)`` from ``orig_freq`` to ``new_freq`` Hz with a windowed-sinc
    polyphase filter (the kernel is computed once per rate pair and cached; one strided
    conv1d per call).

    Example::

        y = Resample(16000, 8000)(kt.randn(2, 16000))   # (2, 8000)
    """

    def __init__(self, orig_freq: int = 16000, new_freq: int = 16000,
                 resampling_method: str = "sinc_interp_hann", lowpass_filter_width: int = 6,
                 rolloff: float = 0.99, beta: float | None = None, *, dtype=None):
        super().__init__()
        self.orig_freq, self.new_freq = int(orig_freq), int(new_freq)
        self.gcd = math.gcd(self.orig_freq, self.new_freq)
        self.resampling_method, self.lowpass_filter_width = resampling_method, \
            lowpass_filter_width
        self.rolloff, self.beta = rolloff, beta
        if self.orig_freq != self.new_freq:  # validate the arguments now
            AF._sinc_kernel(self.orig_freq // self.gcd, self.new_freq // self.gcd,
                            lowpass_filter_width, rolloff, resampling_method, beta)

    def forward(self, waveform):
        return AF.resample(waveform, self.orig_freq, self.new_freq, self.lowpass_filter_width,
                           self.rolloff, self.resampling_method, self.beta)
