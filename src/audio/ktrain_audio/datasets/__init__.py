"""Audio datasets (registered by name): AudioFolder, FSDD, SpeechCommands, YESNO, LibriSpeech.

All accept ``split in {"train", "val", "test"}`` with deterministic, disjoint splits,
expose ``classes``, take a ``transform`` (callable or config spec) and carry a
``collate_fn`` for variable-length clips (``{"x", "lengths"}`` inputs).
"""
from ._base import AudioClassificationDataset, ctc_collate, pad_collate
from ._folder import FSDD, AudioFolder
from ._speech import CHARS, YESNO, LibriSpeech, SpeechCommands

__all__ = [
           "CHARS",
           "FSDD",
           "YESNO",
           "AudioClassificationDataset",
           "AudioFolder",
           "LibriSpeech",
           "SpeechCommands",
           "ctc_collate",
           "pad_collate",
]
