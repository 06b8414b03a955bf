"""Audio datasets read from folders of files: AudioFolder and the FSDD layout."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..io import SUPPORTED_EXTENSIONS
from ._base import AudioClassificationDataset, check_split, stratified_split

__all__ = ["FSDD", "AudioFolder"]


def _audio_files(folder: Path, extensions):
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and p.suffix.lower() in extensions)


class AudioFolder(AudioClassificationDataset):
    """Class-per-folder audio dataset (torchvision's ImageFolder for sound)::

        root/dog/xxx.wav
        root/cat/yyy.flac

    ``classes`` are the sorted folder names. When ``root`` has ``train/``, ``val/`` and
    ``test/`` subfolders they are the splits; otherwise the files are split per class
    with a seeded shuffle (``val_fraction``, ``test_fraction``, ``split_seed``):
    deterministic and disjoint. See :class:`AudioClassificationDataset` for
    ``sample_rate``, ``length``, ``transform``.

    Example::

        ds = AudioFolder("data/sounds", split="train", sample_rate=16000, length=16000,
                         transform={"name": "mel_spectrogram", "sample_rate": 16000})
    """

    def __init__(self, root, split: str = "train", sample_rate=None, length=None,
                 transform=None, target_transform=None, extensions=SUPPORTED_EXTENSIONS,
                 val_fraction: float = 0.1, test_fraction: float = 0.1, split_seed: int = 0,
                 mono: bool = True, cache: bool = False, train_transform=None,
                 cache_features: bool = False):
        super().__init__(sample_rate, length, transform, target_transform, mono, cache, split,
                         train_transform)
        self.cache_features = cache_features
        self.root, self.split = Path(os.path.expanduser(os.fspath(root))), check_split(split)
        exts = tuple(e.lower() for e in extensions)
        if not self.root.is_dir():
            raise FileNotFoundError(f"AudioFolder: root '{self.root}' is not a directory")
        base = self.root
        presplit = all((self.root / s).is_dir() for s in ("train", "val", "test"))
        if presplit:
            base = self.root / split
        class_root = self.root / "train" if presplit else self.root
        self.classes = sorted(d.name for d in class_root.iterdir()
                              if d.is_dir() and not d.name.startswith((".", "_")))
        if not self.classes:
            raise FileNotFoundError(f"AudioFolder: no class folders in '{class_root}'")
        files, targets = [], []
        for i, c in enumerate(self.classes):
            fs = _audio_files(base / c, exts) if (base / c).is_dir() else []
            files += fs
            targets += [i] * len(fs)
        if not files and (presplit or split == "train"):
            raise FileNotFoundError(f"AudioFolder: no audio files ({', '.join(exts)}) under "
                                    f"'{base}'")
        if not presplit:
            keep = stratified_split(targets, split, val_fraction, test_fraction, split_seed)
            files = [files[i] for i in keep]
            targets = [targets[i] for i in keep]
        self.files, self.targets = [str(f) for f in files], targets


_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


class FSDD(AudioClassificationDataset):
    """Free Spoken Digit Dataset layout: ``{digit}_{speaker}_{index}.wav`` files in
    ``root`` (or ``root/recordings``), mono 8 kHz; classes ``"0"`` .. ``"9"``.

    ``split_by="index"`` (default, the official split of the FSDD README): recordings
    with index 0-4 are **test**; ``val_indices`` (default 5-9) are **val**; the rest train.
    ``split_by="speaker"``: speaker-held-out splits; ``test_speakers``/``val_speakers``
    name them (default: one each, chosen by ``split_seed`` from the sorted speakers).

    Example::

        ds = FSDD("/data/fsdd", split="test", length=8000,
                  transform=[{"name": "mel_spectrogram", "sample_rate": 8000, "n_fft": 256,
                              "n_mels": 64}, {"name": "amplitude_to_db", "top_db": 80}])
    """

    URL = "https://github.com/Jakobovski/free-spoken-digit-dataset"

    def __init__(self, root, split: str = "train", split_by: str = "index",
                 val_indices=tuple(range(5, 10)), test_indices=tuple(range(5)),
                 test_speakers=None, val_speakers=None, split_seed: int = 0,
                 sample_rate=None, length=None, transform=None, target_transform=None,
                 cache: bool = True, train_transform=None, cache_features: bool = False):
        super().__init__(sample_rate, length, transform, target_transform, True, cache, split,
                         train_transform)
        self.cache_features = cache_features
        self.root, self.split = Path(os.path.expanduser(os.fspath(root))), check_split(split)
        folder = self.root / "recordings" if (self.root / "recordings").is_dir() else self.root
        if not folder.is_dir():
            raise FileNotFoundError(
                f"FSDD: '{self.root}' is not a directory. Clone {self.URL} and set root to "
                "its 'recordings' folder (data.root=... on the command line).")
        entries = []
        for name in sorted(os.listdir(folder)):
            m = _FSDD_NAME.match(name)
            if m:
                entries.append((str(folder / name), int(m.group(1)), m.group(2),
                                int(m.group(3))))
        if not entries:
            raise FileNotFoundError(f"FSDD: no '{{digit}}_{{speaker}}_{{index}}.wav' files in "
                                    f"'{folder}'")
        self.classes = [str(d) for d in range(10)]
        self.speakers = sorted({e[2] for e in entries})
        if split_by == "index":
            test_i, val_i = set(test_indices), set(val_indices)

            def which(e):
                return "test" if e[3] in test_i else "val" if e[3] in val_i else "train"
        elif split_by == "speaker":
            rng = np.random.default_rng(split_seed)
            order = [self.speakers[i] for i in rng.permutation(len(self.speakers))]
            test_s = set(test_speakers) if test_speakers is not None else {order[0]}
            val_s = set(val_speakers) if val_speakers is not None else \
                {order[1 % len(order)]} - test_s
            unknown = (test_s | val_s) - set(self.speakers)
            if unknown:
                raise ValueError(f"FSDD: unknown speaker(s) {sorted(unknown)}; the "
                                 f"recordings have {self.speakers}")
            self.test_speakers, self.val_speakers = sorted(test_s), sorted(val_s)

            def which(e):
                return "test" if e[2] in test_s else "val" if e[2] in val_s else "train"
        else:
            raise ValueError(f"split_by must be 'index' or 'speaker', got {split_by!r}")
        chosen = [e for e in entries if which(e) == split]
        self.files = [e[0] for e in chosen]
        self.targets = [e[1] for e in chosen]
        self.speaker_of = [e[2] for e in chosen]
