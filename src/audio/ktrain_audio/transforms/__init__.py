"""Audio transforms as ``ktrain.nn.Module`` s on batched tensors (torchaudio.transforms' names).

    from ktrain_audio import transforms as AT
    feats = AT.AmplitudeToDB(top_db=80)(AT.MelSpectrogram(8000, n_fft=256, n_mels=64)(wav))

Complex spectrograms (``Spectrogram(power=None)``) use ktrain's layout: a trailing
dimension of size 2 holding ``(real, imag)``.
"""
from ._augment import *
from ._augment import __all__ as _a
from ._spectral import *
from ._spectral import __all__ as _s

__all__ = list(_s) + list(_a) + ["build_transform"]


def build_transform(spec):
    """A transform from a config spec: None, a callable, a registry name, a dict
    ``{name: mel_spectrogram, n_mels: 64, ...}`` or a list of those (composed in order)."""
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, (list, tuple)):
        return Compose([build_transform(s) for s in spec])
    from ktrain.registry import TRANSFORMS

    if isinstance(spec, str):
        spec = {"name": spec}
    if hasattr(spec, "to_dict"):
        spec = spec.to_dict()
    return TRANSFORMS.build(dict(spec))
