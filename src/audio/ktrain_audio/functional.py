"""Audio functions on ktrain tensors (torchaudio.functional's names, formulas and defaults).

Everything works on batched tensors ``(..., time)`` (spectrograms ``(..., freq, time)``),
runs through ktrain ops (so CPU and GPU alike) and is differentiable where torchaudio's
is. Complex spectrograms use ktrain's layout: a trailing dimension of size 2 holding
``(real, imag)`` (see :mod:`ktrain.fft`).

    import ktrain_audio.functional as AF
    fb = AF.melscale_fbanks(201, 0.0, 8000.0, 64, 16000)     # (201, 64)
    y = AF.resample(x, 16000, 8000)                           # anti-aliased, via conv1d
"""
from __future__ import annotations

import functools
import math

import ktrain as kt
import ktrain.nn.functional as F
import numpy as np

__all__ = [
    "DB_to_amplitude",
    "add_noise",
    "amplitude_to_DB",
    "create_dct",
    "fade_curves",
    "gain",
    "griffinlim",
    "hz_to_mel",
    "inverse_spectrogram",
    "mask_along_axis",
    "mask_along_axis_iid",
    "mel_to_hz",
    "melscale_fbanks",
    "pad_trim",
    "resample",
    "spectrogram",
    "time_shift",
    "to_mono",
    "to_stereo",
]


# ---------------------------------------------------------------------- mel / dct
def hz_to_mel(freq, mel_scale: str = "htk"):
    """Hz -> mel. htk: ``2595 log10(1 + f / 700)``; slaney: linear ``3 f / 200`` below 1 kHz,
    logarithmic above (``15 + log(f / 1000) / (log(6.4) / 27)``). Works on floats and
    numpy arrays."""
    f = np.asarray(freq, dtype=np.float64)
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f'mel_scale should be one of "htk" or "slaney", got {mel_scale!r}')
    if mel_scale == "htk":
        out = 2595.0 * np.log10(1.0 + f / 700.0)
    else:
        f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0
        out = f / f_sp
        log_part = min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep
        out = np.where(f >= min_log_hz, log_part, out)
    return float(out) if np.ndim(freq) == 0 else out


def mel_to_hz(mels, mel_scale: str = "htk"):
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f'mel_scale should be one of "htk" or "slaney", got {mel_scale!r}')
    if mel_scale == "htk":
        out = 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    else:
        f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0
        out = np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                       f_sp * m)
    return float(out) if np.ndim(mels) == 0 else out


def melscale_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                    norm: str | None = None, mel_scale: str = "htk", *, dtype=None,
                    device=None) -> kt.Tensor:
    """Triangular mel filterbank ``(n_freqs, n_mels)`` (torchaudio's definition).

    STFT bin ``i`` sits at ``i * (sample_rate // 2) / (n_freqs - 1)`` Hz; ``n_mels + 2``
    points equally spaced in mel between ``f_min`` and ``f_max`` give the corners of the
    triangles; ``norm='slaney'`` divides each by its width in Hz (``2 / (f[m+2] - f[m])``).
    Use as ``mel = (spec.transpose(-1, -2) @ fb).transpose(-1, -2)``.
    """
    if norm is not None and norm != "slaney":
        raise ValueError(f'norm must be one of None or "slaney", got {norm!r}')
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    m_pts = np.linspace(hz_to_mel(f_min, mel_scale), hz_to_mel(f_max, mel_scale), n_mels + 2)
    f_pts = mel_to_hz(m_pts, mel_scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    if norm == "slaney":
        fb *= 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])
    if (fb.max(axis=0) == 0.0).any():
        import warnings

        warnings.warn(f"At least one mel filterbank has all zero values: n_mels ({n_mels}) "
                      f"may be set too high or n_freqs ({n_freqs}) too low.", stacklevel=2)
    return kt.tensor(fb, dtype=dtype or kt.get_default_dtype(), device=device)


def create_dct(n_mfcc: int, n_mels: int, norm: str | None = "ortho", *, dtype=None,
               device=None) -> kt.Tensor:
    """DCT-II matrix ``(n_mels, n_mfcc)``: ``cos(pi / n_mels * (n + 0.5) * k)``, scaled to
    be orthonormal with ``norm='ortho'`` (else times 2), as torchaudio's ``create_dct``."""
    if norm not in (None, "ortho"):
        raise ValueError(f'norm must be either None or "ortho", got {norm!r}')
    n = np.arange(n_mels, dtype=np.float64)
    k = np.arange(n_mfcc, dtype=np.float64)[:, None]
    dct = np.cos(math.pi / n_mels * (n + 0.5) * k)
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / n_mels)
    return kt.tensor(dct.T.copy(), dtype=dtype or kt.get_default_dtype(), device=device)


# ---------------------------------------------------------------------- spectrograms
def _window_norm(normalized):
    """torchaudio's ``normalized``: True/'window' -> by the window; 'frame_length' -> stft."""
    if isinstance(normalized, str):
        if normalized not in ("window", "frame_length"):
            raise ValueError(f"normalized must be a bool, 'window' or 'frame_length', got "
                             f"{normalized!r}")
        return normalized == "window", normalized == "frame_length"
    return bool(normalized), False


def spectrogram(waveform, pad, window, n_fft, hop_length, win_length, power, normalized,
                center=True, pad_mode="reflect", onesided=True):
    """|STFT|**power of ``(..., time)`` -> ``(..., n_freq, n_frames)``; ``power=None`` gives
    the complex layout ``(..., n_freq, n_frames, 2)``."""
    if pad > 0:
        waveform = F.pad(waveform, (pad, pad), "constant")
    win_norm, frame_norm = _window_norm(normalized)
    shape = waveform.shape
    x = waveform.reshape(-1, shape[-1])
    spec = kt.stft(x, n_fft, hop_length, win_length, window, center, pad_mode, frame_norm,
                   onesided)
    spec = spec.reshape(tuple(shape[:-1]) + tuple(spec.shape[-3:]))
    if win_norm:
        spec = spec / (window * window).sum().sqrt()
    if power is None:
        return spec
    if power == 2.0:
        return kt.fft.magnitude(spec, 2.0)
    return kt.fft.magnitude(spec, float(power))


def inverse_spectrogram(spectrogram, length, pad, window, n_fft, hop_length, win_length,
                        normalized, center=True, pad_mode="reflect", onesided=True):
    """Waveform ``(..., time)`` from a complex-layout spectrogram ``(..., freq, frames, 2)``."""
    win_norm, frame_norm = _window_norm(normalized)
    if win_norm:
        spectrogram = spectrogram * (window * window).sum().sqrt()
    shape = spectrogram.shape
    spec = spectrogram.reshape((-1,) + tuple(shape[-3:]))
    full = None if length is None else length + 2 * pad
    wav = kt.istft(spec, n_fft, hop_length, win_length, window, center, frame_norm, onesided,
                   full)
    if pad > 0:
        wav = wav[..., pad:wav.shape[-1] - pad]
    return wav.reshape(tuple(shape[:-3]) + (wav.shape[-1],))


def griffinlim(specgram, window, n_fft, hop_length, win_length, power, n_iter, momentum,
               length=None, rand_init=True, generator=None):
    """Waveform from a magnitude spectrogram ``(..., freq, frames)`` by Griffin-Lim with
    fast momentum (Perraudin et al. 2013), as torchaudio's ``griffinlim``."""
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in the range [0, 1), got {momentum}")
    momentum = momentum / (1 + momentum)
    shape = specgram.shape
    mag = specgram.reshape((-1,) + tuple(shape[-2:])) ** (1.0 / power)
    if rand_init:
        angles = kt.rand(tuple(mag.shape) + (2,), generator=generator, dtype=mag.dtype,
                         device=mag.device)
    else:
        angles = kt.ones(tuple(mag.shape) + (2,), dtype=mag.dtype, device=mag.device)
        angles = angles * kt.tensor([1.0, 0.0], dtype=mag.dtype, device=mag.device)
    tprev = None
    mag2 = mag.unsqueeze(-1)

    def _istft(ang, n=None):
        return kt.istft(mag2 * ang, n_fft, hop_length, win_length, window, length=n)

    for _ in range(n_iter):
        inverse = _istft(angles, length)
        rebuilt = kt.stft(inverse, n_fft, hop_length, win_length, window, True, "reflect")
        angles = rebuilt if tprev is None or not momentum else rebuilt - tprev * momentum
        angles = angles / (kt.fft.magnitude(angles).unsqueeze(-1) + 1e-16)
        tprev = rebuilt
    wav = _istft(angles, length)
    return wav.reshape(tuple(shape[:-2]) + (wav.shape[-1],))


def amplitude_to_DB(x, multiplier: float, amin: float, db_multiplier: float,
                    top_db: float | None = None):
    """``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``, floored at
    ``top_db`` below the maximum of each spectrogram (the last 3 dims of a batch, or the
    whole of a 2-D input), as torchaudio's ``amplitude_to_DB``."""
    x_db = multiplier * kt.log10(kt.clamp(x, min=amin))
    x_db = x_db - multiplier * db_multiplier
    if top_db is not None:
        shape = x_db.shape
        packed = x_db.reshape((-1,) + tuple(shape[-3:])) if x_db.dim() > 2 else x_db
        dims = tuple(range(1, packed.dim())) if x_db.dim() > 2 else tuple(range(packed.dim()))
        floor = packed.detach().amax(dim=dims, keepdim=True) - top_db
        x_db = kt.maximum(packed, floor).reshape(shape)
    return x_db


def DB_to_amplitude(x, ref: float, power: float):
    """Inverse of :func:`amplitude_to_DB`: ``ref * 10 ** (x / 10) ** power``."""
    return ref * (10.0 ** (x * 0.1)) ** power


# ---------------------------------------------------------------------- resampling
@functools.lru_cache(maxsize=32)
def _sinc_kernel(orig, new, lowpass_filter_width, rolloff, method, beta):
    if lowpass_filter_width <= 0:
        raise ValueError("Low pass filter width should be positive.")
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = (-np.arange(new, dtype=np.float64)[:, None] / new + idx) * base
    t = np.clip(t, -lowpass_filter_width, lowpass_filter_width)
    if method == "sinc_interp_hann":
        window = np.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    elif method == "sinc_interp_kaiser":
        beta = 14.769656459379492 if beta is None else beta
        window = np.i0(beta * np.sqrt(np.maximum(0.0, 1 - (t / lowpass_filter_width) ** 2)))
        window = window / np.i0(beta)
    else:
        raise ValueError(f"Invalid resampling method: {method!r} (sinc_interp_hann or "
                         "sinc_interp_kaiser)")
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t))
    kernel = (sinc * window * (base / orig))[:, None, :]
    kernel.setflags(write=False)  # cached: shared by every call with these rates
    return kernel, width


def resample(waveform, orig_freq: int, new_freq: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99, resampling_method: str = "sinc_interp_hann",
             beta: float | None = None):
    """Band-limited (windowed-sinc, polyphase) resampling of ``(..., time)``.

    Both rates are divided by their gcd; the ``new`` polyphase filters (cut-off
    ``rolloff * min(orig, new) / 2``, ``lowpass_filter_width`` zero crossings, Hann or
    Kaiser window) run as one strided ``conv1d``, so it is differentiable and runs on
    the GPU. Output length ``ceil(new * time / orig)``. Semantics of torchaudio's
    ``resample``.
    """
    if orig_freq <= 0 or new_freq <= 0:
        raise ValueError(f"Original frequency and desired frequency should be positive, got "
                         f"{orig_freq} and {new_freq}")
    if orig_freq == new_freq:
        return waveform
    g = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // g, int(new_freq) // g
    kern, width = _sinc_kernel(orig, new, lowpass_filter_width, rolloff, resampling_method,
                               beta)
    shape = waveform.shape
    length = shape[-1]
    x = waveform.reshape(-1, 1, length)
    kernel = kt.tensor(kern, dtype=x.dtype, device=x.device)
    x = F.pad(x, (width, width + orig))
    y = F.conv1d(x, kernel, stride=orig)              # (n, new, frames): phase-major
    y = y.transpose(1, 2).reshape(x.shape[0], -1)
    target = math.ceil(new * length / orig)
    return y[..., :target].reshape(tuple(shape[:-1]) + (target,))


# ---------------------------------------------------------------------- masking
def _mask_bounds(value, min_value, size, axis_len_shape, device):
    start = min_value.floor()
    end = start + value.floor()
    ar = kt.arange(size, device=device, dtype=value.dtype).reshape(axis_len_shape)
    return (ar >= start) & (ar < end)


def mask_along_axis_iid(specgrams, mask_param: int, mask_value: float, axis: int,
                        p: float = 1.0, generator=None):
    """SpecAugment mask of width ``U(0, mask_param)`` at a random start, drawn
    independently for every example and channel of ``(batch, channel, freq, time)``;
    ``axis`` 2 (frequency) or 3 (time)."""
    if axis not in (2, 3):
        raise ValueError("Only Frequency and Time masking are supported (axis 2 or 3)")
    if specgrams.dim() != 4:
        raise ValueError(f"mask_along_axis_iid expects (batch, channel, freq, time), got "
                         f"shape {list(specgrams.shape)}")
    size = specgrams.shape[axis]
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
    mask_param = min(mask_param, int(size * p))
    if mask_param < 1:
        return specgrams
    b, c = specgrams.shape[:2]
    dev = specgrams.device
    value = kt.rand(b, c, generator=generator, device=dev) * mask_param
    min_value = kt.rand(b, c, generator=generator, device=dev) * (size - value)
    shape = (1, 1, size, 1) if axis == 2 else (1, 1, 1, size)
    value, min_value = value.reshape(b, c, 1, 1), min_value.reshape(b, c, 1, 1)
    mask = _mask_bounds(value, min_value, size, shape, dev)
    return specgrams.masked_fill(mask, mask_value)


def mask_along_axis(specgram, mask_param: int, mask_value: float, axis: int, p: float = 1.0,
                    generator=None):
    """One mask shared by all leading dims of ``(..., freq, time)`` (``axis`` counts in
    the full shape: the frequency axis is ``dim - 2``, time ``dim - 1``)."""
    nd = specgram.dim()
    axis = axis % nd
    if axis not in (nd - 2, nd - 1):
        raise ValueError("Only Frequency and Time masking are supported")
    size = specgram.shape[axis]
    mask_param = min(mask_param, int(size * p))
    if mask_param < 1:
        return specgram
    dev = specgram.device
    value = kt.rand(1, generator=generator, device=dev) * mask_param
    min_value = kt.rand(1, generator=generator, device=dev) * (size - value)
    shape = (size, 1) if axis == nd - 2 else (1, size)
    mask = _mask_bounds(value.reshape(1, 1), min_value.reshape(1, 1), size, shape, dev)
    return specgram.masked_fill(mask, mask_value)


# ---------------------------------------------------------------------- waveform effects
def add_noise(waveform, noise, snr, lengths=None):
    """``waveform + scale * noise`` with ``scale`` chosen so the signal-to-noise ratio is
    ``snr`` dB (per example: ``snr`` broadcasts over the leading dims), torchaudio's
    ``add_noise``. ``lengths`` (valid samples per example) restricts the energies."""
    if waveform.shape != noise.shape:
        raise ValueError(f"waveform {list(waveform.shape)} and noise {list(noise.shape)} must "
                         "have the same shape")
    if not isinstance(snr, kt.Tensor):
        snr = kt.tensor(snr, dtype=waveform.dtype, device=waveform.device)
    if lengths is not None:
        t = waveform.shape[-1]
        ar = kt.arange(t, device=waveform.device)
        mask = (ar < lengths.unsqueeze(-1)).to(waveform.dtype)
        masked_w, masked_n = waveform * mask, noise * mask
    else:
        masked_w, masked_n = waveform, noise
    e_sig = (masked_w * masked_w).sum(-1)
    e_noise = (masked_n * masked_n).sum(-1)
    original_snr_db = 10 * (kt.log10(e_sig) - kt.log10(e_noise))
    scale = 10 ** ((original_snr_db - snr) / 20.0)
    return waveform + scale.unsqueeze(-1) * noise


def gain(waveform, gain_db: float = 1.0):
    """Amplify by ``gain_db`` decibels: ``waveform * 10 ** (gain_db / 20)``."""
    if gain_db == 0:
        return waveform
    return waveform * (10 ** (gain_db / 20.0))


def to_mono(waveform, channels_first: bool = True):
    """Average the channels: ``(..., channels, time)`` -> ``(..., 1, time)``."""
    dim = -2 if channels_first else -1
    return waveform.mean(dim, keepdim=True)


def to_stereo(waveform, channels_first: bool = True):
    """Duplicate a mono signal ``(..., 1, time)`` into 2 channels; stereo stays as is."""
    dim = -2 if channels_first else -1
    c = waveform.shape[dim]
    if c == 2:
        return waveform
    if c != 1:
        raise ValueError(f"to_stereo expects 1 or 2 channels, got {c} (shape "
                         f"{list(waveform.shape)})")
    return kt.cat([waveform, waveform], dim)


def pad_trim(waveform, length: int, pad_value: float = 0.0, mode: str = "right", offset=None):
    """Zero-pad or crop the last dim to ``length`` samples. ``mode``: 'right' (keep the
    start, pad at the end), 'center' (crop/pad symmetrically), or 'random' with
    ``offset`` (the crop start / pad-left amount, e.g. drawn by the caller)."""
    n = waveform.shape[-1]
    if n == length:
        return waveform
    if mode not in ("right", "center", "random"):
        raise ValueError(f"mode must be 'right', 'center' or 'random', got {mode!r}")
    diff = abs(length - n)
    start = 0 if mode == "right" else diff // 2 if mode == "center" else int(offset or 0)
    if n > length:
        return waveform[..., start:start + length]
    return F.pad(waveform, (start, diff - start), value=pad_value)


def fade_curves(length: int, fade_in_len: int, fade_out_len: int, fade_shape: str,
                dtype=None, device=None):
    """The fade envelope of torchaudio's ``Fade``: ones with a rising ramp of
    ``fade_in_len`` and a falling one of ``fade_out_len`` samples."""
    shapes = {
        "linear": (lambda f: f, lambda f: 1 - f),
        "exponential": (lambda f: 2 ** ((f - 1) * 5), lambda f: 2 ** (-f * 5)),
        "logarithmic": (lambda f: np.log10(0.1 + f) + 1, lambda f: np.log10(1.1 - f) + 1),
        "quarter_sine": (lambda f: np.sin(f * np.pi / 2),
                         lambda f: np.sin(f * np.pi / 2 + np.pi / 2)),
        "half_sine": (lambda f: np.sin(f * np.pi - np.pi / 2) / 2 + 0.5,
                      lambda f: np.sin(f * np.pi + np.pi / 2) / 2 + 0.5),
    }
    if fade_shape not in shapes:
        raise ValueError(f"fade_shape must be one of {sorted(shapes)}, got {fade_shape!r}")
    rise, fall = shapes[fade_shape]
    env = np.ones(length)
    if fade_in_len > 0:
        env[:fade_in_len] *= rise(np.linspace(0, 1, fade_in_len))
    if fade_out_len > 0:
        env[length - fade_out_len:] *= fall(np.linspace(0, 1, fade_out_len))
    return kt.tensor(env, dtype=dtype or kt.get_default_dtype(), device=device)


def time_shift(waveform, shifts):
    """Shift each example of ``(batch, ..., time)`` by ``shifts[b]`` samples (positive:
    later), filling with zeros; differentiable in ``waveform``."""
    t = waveform.shape[-1]
    b = waveform.shape[0]
    shifts = shifts.reshape((b,) + (1,) * (waveform.dim() - 1))
    src = kt.arange(t, device=waveform.device).reshape((1,) * (waveform.dim() - 1) + (t,))
    src = src - shifts
    valid = (src >= 0) & (src < t)
    idx = src.clamp(0, t - 1).expand(tuple(waveform.shape))
    return waveform.gather(-1, idx).masked_fill(~valid, 0.0)
