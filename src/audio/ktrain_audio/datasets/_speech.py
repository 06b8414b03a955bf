"""Speech corpora in their published layouts: SpeechCommands, YESNO, LibriSpeech.

Nothing is downloaded unless ``download=True``; a missing corpus raises an error that
names the expected folder and the canonical URL. Archives are checked against the
sha256 sums torchaudio publishes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._base import (
    AudioClassificationDataset,
    check_split,
    ctc_collate,
    download_and_extract,
    missing_error,
)

__all__ = ["CHARS", "YESNO", "LibriSpeech", "SpeechCommands"]

_SC_URLS = {
    "speech_commands_v0.01": ("http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz",
                              "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d"),
    "speech_commands_v0.02": ("http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
                              "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"),
}


def _root(root):
    return Path(os.path.expanduser(os.fspath(root)))


class SpeechCommands(AudioClassificationDataset):
    """Google Speech Commands (v0.01 / v0.02), 16 kHz one-second keyword clips.

    Layout (torchaudio's): ``root/SpeechCommands/speech_commands_v0.02/<word>/*.wav`` with
    ``validation_list.txt`` and ``testing_list.txt`` (``root`` may also point straight at
    the folder holding them). ``val``/``test`` are the files those lists name; ``train``
    the rest (``_background_noise_`` excluded). ``classes``: the sorted word folders.
    Clips are padded to ``length`` samples (default 16000) so batches stack.
    """

    def __init__(self, root, split: str = "train", url: str = "speech_commands_v0.02",
                 download: bool = False, sample_rate=None, length=16000, transform=None,
                 target_transform=None, cache: bool = False, train_transform=None):
        super().__init__(sample_rate, length, transform, target_transform, True, cache, split,
                         train_transform)
        self.split = check_split(split)
        root = _root(root)
        if url not in _SC_URLS:
            raise ValueError(f"url must be one of {sorted(_SC_URLS)}, got {url!r}")
        if (root / "validation_list.txt").exists():
            folder = root
        else:
            folder = root / "SpeechCommands" / url
            if not (folder / "validation_list.txt").exists():
                if not download:
                    raise missing_error("SpeechCommands", folder, _SC_URLS[url][0])
                download_and_extract(_SC_URLS[url][0], str(folder), _SC_URLS[url][1],
                                     "SpeechCommands")
        self.root = folder

        def read_list(name):
            p = folder / name
            if not p.exists():
                raise FileNotFoundError(f"SpeechCommands: '{p}' is missing")
            return {os.path.normpath(line.strip()) for line in p.read_text().splitlines()
                    if line.strip()}

        val, test = read_list("validation_list.txt"), read_list("testing_list.txt")
        self.classes = sorted(d.name for d in folder.iterdir()
                              if d.is_dir() and not d.name.startswith("_"))
        idx = self.class_to_idx
        files, targets = [], []
        for c in self.classes:
            for p in sorted((folder / c).glob("*.wav")):
                rel = os.path.normpath(f"{c}/{p.name}")
                part = "val" if rel in val else "test" if rel in test else "train"
                if part == split:
                    files.append(str(p))
                    targets.append(idx[c])
        self.files, self.targets = files, targets


_YESNO_URL = "http://www.openslr.org/resources/1/waves_yesno.tar.gz"
_YESNO_SHA = "30301975fd8c5cac4040c261c0852f57cfa8adbbad2ce78e77e4986957445f27"


class YESNO(AudioClassificationDataset):
    """The YESNO corpus (60 clips of 8 Hebrew yes/no words, 8 kHz): files
    ``root/waves_yesno/0_1_0_0_1_0_1_1.wav``. A sample is ``(features, target_ids)`` with
    ``target_ids`` the 8 words as CTC labels (1 = "no", 2 = "yes"; 0 is the blank);
    ``classes = ["<blank>", "no", "yes"]``. Splits: a seeded shuffle (``split_seed``) of
    the 60 clips into 40/10/10. ``collate_fn`` is :func:`~ktrain_audio.datasets.ctc_collate`.
    """

    URL, SHA256 = _YESNO_URL, _YESNO_SHA

    def __init__(self, root, split: str = "train", download: bool = False, sample_rate=None,
                 transform=None, split_seed: int = 0, cache: bool = True,
                 train_transform=None):
        super().__init__(sample_rate, None, transform, None, True, cache, split,
                         train_transform)
        self.split = check_split(split)
        folder = _root(root) / "waves_yesno"
        if not folder.is_dir():
            if not download:
                raise missing_error("YESNO", folder, _YESNO_URL)
            download_and_extract(_YESNO_URL, str(_root(root)), _YESNO_SHA, "YESNO")
        files = sorted(folder.glob("*.wav"))
        if not files:
            raise FileNotFoundError(f"YESNO: no .wav files in '{folder}'")
        order = np.random.default_rng(split_seed).permutation(len(files))
        n_test = n_val = max(1, len(files) // 6)
        part = {"test": order[:n_test], "val": order[n_test:n_test + n_val],
                "train": order[n_test + n_val:]}[split]
        self.files = [str(files[i]) for i in sorted(part)]
        self.targets = [[int(c) + 1 for c in Path(f).stem.split("_")] for f in self.files]
        self.classes = ["<blank>", "no", "yes"]
        self.collate_fn = ctc_collate


_LS_BASE = "http://www.openslr.org/resources/12/"
_LS_SHA = {
    "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
    "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
}
#: CTC alphabet of the character recogniser: index 0 is the blank.
CHARS = ["<blank>", " ", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]


class LibriSpeech(AudioClassificationDataset):
    """LibriSpeech (16 kHz read English) for CTC: ``root/LibriSpeech/<subset>/<spk>/<chap>/
    <spk>-<chap>-<utt>.flac`` with ``<spk>-<chap>.trans.txt`` transcripts.

    ``subsets`` maps the split to a subset (default train-clean-100 / dev-clean /
    test-clean). A sample is ``(features, char_ids)`` over :data:`CHARS` (``classes``);
    ``transcripts[i]`` holds the text. ``collate_fn`` pads and gives lengths.
    """

    def __init__(self, root, split: str = "train", subsets=None, download: bool = False,
                 sample_rate=None, transform=None, cache: bool = False, train_transform=None):
        super().__init__(sample_rate, None, transform, None, True, cache, split,
                         train_transform)
        self.split = check_split(split)
        subsets = {"train": "train-clean-100", "val": "dev-clean", "test": "test-clean",
                   **(subsets or {})}
        subset = subsets[split]
        url = _LS_BASE + subset + ".tar.gz"
        folder = _root(root) / "LibriSpeech" / subset
        if not folder.is_dir():
            if not download:
                raise missing_error("LibriSpeech", folder, url)
            download_and_extract(url, str(_root(root)), _LS_SHA.get(subset), "LibriSpeech")
        files, texts = [], []
        for trans in sorted(folder.rglob("*.trans.txt")):
            for line in trans.read_text().splitlines():
                if not line.strip():
                    continue
                utt, text = line.split(" ", 1)
                audio = trans.parent / (utt + ".flac")
                if audio.exists():
                    files.append(str(audio))
                    texts.append(text.strip())
        if not files:
            raise FileNotFoundError(f"LibriSpeech: no transcribed .flac files under '{folder}'")
        self.classes = list(CHARS)
        lookup = {c: i for i, c in enumerate(CHARS)}
        self.files, self.transcripts = files, texts
        self.targets = [[lookup[c] for c in t.lower() if c in lookup] for t in texts]
        self.collate_fn = ctc_collate
