"""Audio file I/O through soundfile (libsndfile): wav, flac, ogg/vorbis and more.

    wav, sr = ktrain_audio.load("clip.flac")              # (channels, frames) float32
    ktrain_audio.save("out.wav", wav, sr)
    ktrain_audio.info("clip.flac").num_frames

Errors name the file: a missing file, an unsupported format or a corrupted one raise
``RuntimeError("... 'path' ...")``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import ktrain as kt
import numpy as np

__all__ = ["SUPPORTED_EXTENSIONS", "AudioMetaData", "info", "load", "load_numpy", "save"]

SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg")
_INT_DTYPES = {"PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16", "PCM_24": "int32",
               "PCM_32": "int32"}


def _sf():
    try:
        import soundfile
    except ImportError as e:  # pragma: no cover - a dependency of the distribution
        raise ImportError("ktrain-audio needs the 'soundfile' package: pip install soundfile"
                          ) from e
    return soundfile


def _open_error(path, e):
    if not os.path.exists(path):
        return FileNotFoundError(f"audio file not found: '{path}'")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        return RuntimeError(f"cannot read audio file '{path}': the file is empty (0 bytes)")
    return RuntimeError(f"cannot read audio file '{path}': {e} (unsupported format or "
                        "corrupted file; supported: wav, flac, ogg and the other formats of "
                        "libsndfile)")


@dataclass
class AudioMetaData:
    """What :func:`info` returns (torchaudio's field names)."""

    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str
    format: str = ""


_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32,
         "DOUBLE": 64}


def info(path) -> AudioMetaData:
    """Sample rate, frames, channels, bits per sample and encoding of an audio file."""
    path = os.fspath(path)
    sf = _sf()
    try:
        i = sf.info(path)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise _open_error(path, e) from None
    return AudioMetaData(int(i.samplerate), int(i.frames), int(i.channels),
                         _BITS.get(i.subtype, 0), str(i.subtype), str(i.format))


def load_numpy(path, frame_offset: int = 0, num_frames: int = -1, normalize: bool = True,
               channels_first: bool = True):
    """Like :func:`load` but returns ``(numpy array, sample_rate)`` (used by datasets)."""
    path = os.fspath(path)
    sf = _sf()
    try:
        with sf.SoundFile(path) as f:
            dtype = "float32" if normalize else _INT_DTYPES.get(f.subtype, "float32")
            if frame_offset:
                f.seek(int(frame_offset))
            data = f.read(frames=int(num_frames), dtype=dtype, always_2d=True)
            sr = int(f.samplerate)
    except Exception as e:  # noqa: BLE001
        raise _open_error(path, e) from None
    if channels_first:
        data = np.ascontiguousarray(data.T)
    return data, sr


def load(path, frame_offset: int = 0, num_frames: int = -1, normalize: bool = True,
         channels_first: bool = True):
    """Read an audio file: ``(waveform, sample_rate)`` with ``waveform`` of shape
    ``(channels, frames)`` (``(frames, channels)`` when not ``channels_first``).

    ``normalize=True`` gives float32 in [-1, 1]; ``False`` keeps integer PCM as int16 /
    int32 (float files stay float). ``frame_offset``/``num_frames`` read a slice without
    decoding the rest (``num_frames=-1``: to the end).

    Example::

        wav, sr = load("0_jackson_0.wav")    # (1, 4096) float32, 8000
    """
    data, sr = load_numpy(path, frame_offset, num_frames, normalize, channels_first)
    return kt.from_numpy(data) if hasattr(kt, "from_numpy") else kt.tensor(data), sr


def save(path, src, sample_rate: int, channels_first: bool = True, format: str | None = None,
         encoding: str | None = None, bits_per_sample: int | None = None) -> None:
    """Write ``src`` (``(channels, frames)`` Tensor or array, float in [-1, 1] or integer
    PCM) to ``path``; the format follows the extension (wav, flac, ogg ...) unless given.
    Float samples go to wav as 32-bit float and to flac as 16-bit PCM; integer arrays keep
    their width; ``bits_per_sample`` 8/16/24/32 picks the PCM subtype; ogg is vorbis."""
    path = os.fspath(path)
    sf = _sf()
    arr = src.detach().cpu().numpy() if isinstance(src, kt.Tensor) else np.asarray(src)
    if arr.ndim == 1:
        arr = arr[None, :] if channels_first else arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"save '{path}': expected a 1-D or 2-D waveform, got shape "
                         f"{list(arr.shape)}")
    if channels_first:
        arr = arr.T
    fmt = format.upper() if format else None
    ext = os.path.splitext(path)[1].lower()
    subtype = None
    if (fmt or ext.lstrip(".").upper()) == "OGG":
        subtype = "VORBIS"
    elif bits_per_sample is not None:
        subtype = {8: "PCM_U8" if ext == ".wav" else "PCM_S8", 16: "PCM_16", 24: "PCM_24",
                   32: "FLOAT" if encoding in (None, "PCM_F") and arr.dtype.kind == "f"
                   else "PCM_32"}.get(int(bits_per_sample))
    elif arr.dtype.kind == "f" and (fmt or ext.lstrip(".").upper()) in ("WAV", "W64", "RF64"):
        subtype = "FLOAT"  # float samples stay 32-bit float, as torchaudio.save writes them
    elif arr.dtype == np.int16:
        subtype = "PCM_16"
    elif arr.dtype == np.int32:
        subtype = "PCM_32"
    if arr.dtype.kind == "f" and arr.dtype != np.float64:
        arr = arr.astype(np.float32)
    try:
        sf.write(path, arr, int(sample_rate), subtype=subtype, format=fmt)
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(f"cannot write audio file '{path}': {e}") from None
