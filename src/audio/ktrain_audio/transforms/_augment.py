"""Augmentations and shape fixes for waveforms and spectrograms (ktrain's RNG throughout)."""
from __future__ import annotations

import ktrain as kt
from ktrain import nn

from .. import functional as AF

__all__ = [
    "AddNoise",
    "Compose",
    "DownmixMono",
    "Fade",
    "FrequencyMasking",
    "Gain",
    "PadTrim",
    "RandomTimeShift",
    "TimeMasking",
    "Vol",
]


class _AxisMasking(nn.Module):
    def __init__(self, mask_param: int, axis: int, iid_masks: bool, p: float = 1.0):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
        self.mask_param, self.axis, self.iid_masks, self.p = mask_param, axis, iid_masks, p

    def forward(self, specgram, mask_value: float = 0.0):
        if self.iid_masks and specgram.dim() == 4:
            return AF.mask_along_axis_iid(specgram, self.mask_param, mask_value,
                                          self.axis + 1, p=self.p)
        nd = specgram.dim()
        return AF.mask_along_axis(specgram, self.mask_param, mask_value,
                                  nd - 2 if self.axis == 1 else nd - 1, p=self.p)


class FrequencyMasking(_AxisMasking):
    """SpecAugment frequency mask of ``(..., freq, time)``: a band of ``U(0,
    freq_mask_param)`` bins set to ``mask_value``; ``iid_masks`` draws one per example and
    channel of a 4-D batch (torchaudio's semantics).

    Example::

        masked = FrequencyMasking(8, iid_masks=True)(spec)   # spec: (B, C, F, T)
    """

    def __init__(self, freq_mask_param: int, iid_masks: bool = False):
        super().__init__(freq_mask_param, 1, iid_masks)


class TimeMasking(_AxisMasking):
    """SpecAugment time mask (``U(0, min(time_mask_param, p * time))`` frames)."""

    def __init__(self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0):
        super().__init__(time_mask_param, 2, iid_masks, p)


class AddNoise(nn.Module):
    """Add noise at a signal-to-noise ratio in dB: ``forward(waveform, noise=None,
    snr=None, lengths=None)``. Without ``noise``, Gaussian noise is drawn; without ``snr``,
    the module's ``snr`` (a float, or a ``(low, high)`` range drawn per example)."""

    def __init__(self, snr=None):
        super().__init__()
        self.snr = snr

    def forward(self, waveform, noise=None, snr=None, lengths=None):
        if noise is None:
            noise = kt.randn(tuple(waveform.shape), dtype=waveform.dtype,
                             device=waveform.device)
        snr = self.snr if snr is None else snr
        if snr is None:
            raise ValueError("AddNoise: give snr (dB) to the constructor or to forward")
        if isinstance(snr, (tuple, list)):
            lo, hi = snr
            snr = lo + (hi - lo) * kt.rand(tuple(waveform.shape[:-1]), dtype=waveform.dtype,
                                           device=waveform.device)
        return AF.add_noise(waveform, noise, snr, lengths)


class Vol(nn.Module):
    """Scale the volume: ``gain_type`` 'amplitude' (factor), 'power' (factor of power,
    ``10 log10``) or 'db'; the result is clamped to [-1, 1] (torchaudio's ``Vol``)."""

    def __init__(self, gain: float, gain_type: str = "amplitude"):
        super().__init__()
        if gain_type not in ("amplitude", "power", "db"):
            raise ValueError(f"gain_type must be 'amplitude', 'power' or 'db', got {gain_type!r}")
        if gain_type in ("amplitude", "power") and gain < 0:
            raise ValueError("If gain_type = amplitude or power, gain must be positive.")
        self.gain, self.gain_type = gain, gain_type

    def forward(self, waveform):
        import math

        if self.gain_type == "amplitude":
            waveform = waveform * self.gain
        elif self.gain_type == "db":
            waveform = AF.gain(waveform, self.gain)
        else:
            waveform = AF.gain(waveform, 10 * math.log10(self.gain))
        return kt.clamp(waveform, -1, 1)


class Gain(nn.Module):
    """Amplify by ``gain_db`` dB, or by a gain drawn uniformly from ``(low, high)`` dB per
    example when a range is given (no clamping)."""

    def __init__(self, gain_db=1.0):
        super().__init__()
        self.gain_db = gain_db

    def forward(self, waveform):
        if isinstance(self.gain_db, (tuple, list)):
            lo, hi = self.gain_db
            shape = (waveform.shape[0],) + (1,) * (waveform.dim() - 1)
            db = lo + (hi - lo) * kt.rand(shape, dtype=waveform.dtype, device=waveform.device)
            return waveform * 10 ** (db / 20.0)
        return AF.gain(waveform, self.gain_db)


class Fade(nn.Module):
    """Fade in/out over ``fade_in_len``/``fade_out_len`` samples; ``fade_shape`` one of
    linear, exponential, logarithmic, quarter_sine, half_sine (torchaudio's ``Fade``)."""

    def __init__(self, fade_in_len: int = 0, fade_out_len: int = 0,
                 fade_shape: str = "linear"):
        super().__init__()
        AF.fade_curves(max(fade_in_len + fade_out_len, 1), 0, 0, fade_shape)  # validate
        self.fade_in_len, self.fade_out_len, self.fade_shape = fade_in_len, fade_out_len, \
            fade_shape

    def forward(self, waveform):
        env = AF.fade_curves(waveform.shape[-1], self.fade_in_len, self.fade_out_len,
                             self.fade_shape, dtype=waveform.dtype, device=waveform.device)
        return waveform * env


class RandomTimeShift(nn.Module):
    """Shift each example of a batch ``(B, ..., time)`` by an integer drawn uniformly from
    ``[-max_shift, max_shift]`` samples (zeros fill the gap); a single clip ``(C, time)``
    or ``(time,)`` gets one shift."""

    def __init__(self, max_shift: int):
        super().__init__()
        self.max_shift = int(max_shift)

    def forward(self, waveform):
        if self.max_shift == 0:
            return waveform
        single = waveform.dim() < 3
        x = waveform.unsqueeze(0) if single else waveform
        shifts = kt.randint(-self.max_shift, self.max_shift + 1, (x.shape[0],),
                            device=x.device)
        y = AF.time_shift(x, shifts)
        return y.squeeze(0) if single else y


class PadTrim(nn.Module):
    """Pad with ``pad_value`` or crop the last dim to ``length`` samples; ``mode``
    'right' (default), 'center' or 'random' (random crop / placement, ktrain's RNG)."""

    def __init__(self, length: int, pad_value: float = 0.0, mode: str = "right"):
        super().__init__()
        if mode not in ("right", "center", "random"):
            raise ValueError(f"mode must be 'right', 'center' or 'random', got {mode!r}")
        self.length, self.pad_value, self.mode = int(length), pad_value, mode

    def forward(self, waveform):
        offset = None
        if self.mode == "random":
            diff = abs(self.length - waveform.shape[-1])
            offset = int(kt.randint(0, diff + 1, (1,)).item()) if diff else 0
        return AF.pad_trim(waveform, self.length, self.pad_value, self.mode, offset)


class DownmixMono(nn.Module):
    """Average the channels ``(..., C, time)`` -> ``(..., 1, time)``."""

    def __init__(self, channels_first: bool = True):
        super().__init__()
        self.channels_first = channels_first

    def forward(self, waveform):
        return AF.to_mono(waveform, self.channels_first)


class Compose(nn.Module):
    """Apply transforms in order (modules or callables); configs give a list of specs."""

    def __init__(self, transforms):
        super().__init__()
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if isinstance(t, nn.Module):
                self.add_module(str(i), t)

    def forward(self, x):
        for t in self.transforms:
            x = t(x)
        return x
