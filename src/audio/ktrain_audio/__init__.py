"""ktrain-audio: audio I/O, transforms, datasets and models for ktrain (torchaudio's names).

    import ktrain_audio as ka
    from ktrain_audio import transforms as AT
    wav, sr = ka.load("clip.wav")                              # (channels, frames), Hz
    mel = AT.MelSpectrogram(sr, n_fft=256, n_mels=64)(wav)    # (channels, 64, frames')
    ds = ka.datasets.FSDD("/data/fsdd", split="train", length=8000)
    model = ka.models.kws_cnn(num_classes=10)

Complex spectrograms use ktrain's layout (a trailing dimension of size 2 holding
``(real, imag)``, as ``torch.view_as_real``); see :mod:`ktrain.fft`.

Installing the distribution registers the components below with ktrain's registries
through the ``ktrain.plugins`` entry point (``audio.kws_cnn``, or ``kws_cnn`` when
unique), the audio readers of ``ktrain predict`` and the ``ctc`` task. Importing this
package is cheap: submodules load lazily.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("io", "functional", "transforms", "datasets", "models", "predict", "callbacks",
               "ctc")

DATASETS = {
    "audio_folder": "ktrain_audio.datasets:AudioFolder",
    "fsdd": "ktrain_audio.datasets:FSDD",
    "speech_commands": "ktrain_audio.datasets:SpeechCommands",
    "yesno": "ktrain_audio.datasets:YESNO",
    "librispeech": "ktrain_audio.datasets:LibriSpeech",
}

_T = "ktrain_audio.transforms:"
TRANSFORMS = {
    "spectrogram": _T + "Spectrogram",
    "inverse_spectrogram": _T + "InverseSpectrogram",
    "griffin_lim": _T + "GriffinLim",
    "mel_scale": _T + "MelScale",
    "mel_spectrogram": _T + "MelSpectrogram",
    "mfcc": _T + "MFCC",
    "amplitude_to_db": _T + "AmplitudeToDB",
    "resample": _T + "Resample",
    "frequency_masking": _T + "FrequencyMasking",
    "time_masking": _T + "TimeMasking",
    "add_noise": _T + "AddNoise",
    "vol": _T + "Vol",
    "gain": _T + "Gain",
    "fade": _T + "Fade",
    "random_time_shift": _T + "RandomTimeShift",
    "pad_trim": _T + "PadTrim",
    "downmix_mono": _T + "DownmixMono",
}

_M = "ktrain_audio.models:"
MODELS = {
    "m5": _M + "m5",
    "kws_cnn": _M + "kws_cnn",
    "kws_resnet": _M + "kws_resnet",
    "ctc_recognizer": _M + "ctc_recognizer",
}

CALLBACKS = {"spectrogram_plot": "ktrain_audio.callbacks:SpectrogramPlot"}
TASKS = {"ctc": "ktrain_audio.ctc:CTCTask"}


def register(registries) -> None:
    """The ``ktrain.plugins`` entry point: add the audio components to ktrain's registries
    (namespaced ``audio.*`` by the plugin loader) and the audio readers of predict."""
    registries.register_tables(datasets=DATASETS, transforms=TRANSFORMS, models=MODELS,
                               callbacks=CALLBACKS, tasks=TASKS)
    from .predict import register_predict

    register_predict(registries)


def load(*args, **kwargs):
    """:func:`ktrain_audio.io.load`."""
    from .io import load as _load

    return _load(*args, **kwargs)


def save(*args, **kwargs):
    """:func:`ktrain_audio.io.save`."""
    from .io import save as _save

    return _save(*args, **kwargs)


def info(*args, **kwargs):
    """:func:`ktrain_audio.io.info`."""
    from .io import info as _info

    return _info(*args, **kwargs)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
