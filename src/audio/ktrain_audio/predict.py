"""``ktrain predict`` on audio files: readers for .wav/.flac/.ogg.

    ktrain predict outputs/audio_digits/<run> 7_theo_3.wav clips/

A clip is read, downmixed to mono, resampled to the run dataset's ``sample_rate``,
padded/cropped to its ``length`` (when it has one) and passed through its ``transform``
(``context.dataset``), so the model sees what it was trained on. Registered by
:func:`register_predict`, which the plugin's ``register()`` calls.
"""
from __future__ import annotations

import numpy as np

__all__ = ["AUDIO_EXTENSIONS", "read_audio_for_predict", "register_predict"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


def read_audio_for_predict(path, context) -> np.ndarray:
    """A batch ``(1, *features)`` for the audio file ``path`` (see the module doc)."""
    import ktrain as kt

    from . import functional as AF
    from .datasets._base import _fix_length
    from .io import load_numpy

    try:
        wav, sr = load_numpy(path)
    except (RuntimeError, FileNotFoundError) as e:
        from ktrain.config import ConfigError

        raise ConfigError(str(e)) from None
    if wav.shape[-1] == 0:  # padding it to the run's length would "predict" silence
        from ktrain.config import ConfigError

        raise ConfigError(f"audio file '{path}' has no samples (0 frames): nothing to "
                          "predict")
    ds = getattr(context, "dataset", None)
    if wav.shape[0] > 1:
        wav = wav.mean(0, keepdims=True)
    target_sr = getattr(ds, "sample_rate", None)
    if target_sr and target_sr != sr:
        with kt.no_grad():
            wav = AF.resample(kt.tensor(wav), sr, int(target_sr)).numpy()
    length = getattr(ds, "length", None)
    if length:
        wav = _fix_length(wav, int(length))
    wav = np.ascontiguousarray(wav, dtype=np.float32)
    if ds is not None and hasattr(ds, "features"):
        feats = ds.features(wav)
    elif ds is not None and getattr(ds, "transform", None) is not None:
        with kt.no_grad():
            feats = np.asarray(ds.transform(kt.tensor(wav)).numpy(), dtype=np.float32)
    else:
        feats = wav
    return feats[None]


def register_predict(registries=None) -> None:
    """Register the audio readers of ``ktrain predict`` (ready batches) in the core's
    ``predict_readers`` registry (``registries``: what the plugin entry point receives;
    default ``ktrain.registry.registries``)."""
    if registries is None:
        from ktrain.registry import registries
    readers = registries.predict_readers
    for ext in AUDIO_EXTENSIONS:
        readers.register(ext, read_audio_for_predict, override=True, tags=("batched",))
