"""Shared machinery of the audio datasets: loading with resampling, fixed length, the
transform, variable-length collation with lengths, deterministic splits, downloads."""
from __future__ import annotations

import hashlib
import os
import tarfile
import urllib.error
import urllib.request
import zipfile

import ktrain as kt
import numpy as np

from .. import functional as AF
from ..io import load_numpy

__all__ = [
    "SPLITS",
    "AudioClassificationDataset",
    "check_split",
    "ctc_collate",
    "download_and_extract",
    "pad_collate",
]

SPLITS = ("train", "val", "test")


def check_split(split):
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def _stack_padded(arrays, pad_value=0.0):
    lengths = [a.shape[-1] for a in arrays]
    t = max(lengths)
    out = np.full((len(arrays),) + arrays[0].shape[:-1] + (t,), pad_value, arrays[0].dtype)
    for i, a in enumerate(arrays):  # one copy per sample: the batch has to be assembled
        out[i, ..., :a.shape[-1]] = a
    return out, np.asarray(lengths, dtype=np.int64)


def pad_collate(samples):
    """Collate ``(features, label)`` samples of different lengths (last dim): zero-pad to
    the longest and return ``({"x": batch, "lengths": int64 (B,)}, labels)``; models take
    ``forward(x, lengths=None)``."""
    feats = [np.asarray(s[0]) for s in samples]
    x, lengths = _stack_padded(feats)
    labels = kt.tensor(np.asarray([s[1] for s in samples], dtype=np.int64))
    return {"x": kt.tensor(x), "lengths": kt.tensor(lengths)}, labels


def ctc_collate(samples):
    """Collate ``(features, target_ids)`` for CTC: ``({"x", "lengths"}, {"targets":
    (B, S) int64 zero-padded, "target_lengths": (B,)})``."""
    feats = [np.asarray(s[0]) for s in samples]
    x, lengths = _stack_padded(feats)
    tg = [np.asarray(s[1], dtype=np.int64) for s in samples]
    targets, tlen = _stack_padded(tg, 0)
    return ({"x": kt.tensor(x), "lengths": kt.tensor(lengths)},
            {"targets": kt.tensor(targets), "target_lengths": kt.tensor(tlen)})


class AudioClassificationDataset:
    """Base of the file-list audio datasets: ``self.files`` (paths) and ``self.targets``.

    A sample is ``(features, label)``: the file is read as float32 ``(channels, time)``,
    downmixed to mono when ``mono``, resampled to ``sample_rate`` (when given and
    different), padded/cropped to ``length`` samples (when given), then ``transform``
    (a callable, a transform name/spec dict such as ``{name: mel_spectrogram, ...}`` or a
    list of them) is applied; the result is a float32 numpy array. ``train_transform``
    (the random augmentation, same kinds of spec) runs on the training split only,
    before ``transform``, as in the vision plugin: waveform augmentations such as
    ``random_time_shift`` or ``add_noise`` then the shared feature pipeline; for the
    training split ``self.transform`` is that composition. Without a fixed
    ``length`` the dataset's ``collate_fn`` pads batches and passes ``lengths``.
    ``cache=True`` keeps decoded waveforms in memory (datasets of a few thousand clips);
    ``cache_features=True`` keeps the transformed samples too (only for a deterministic
    ``transform``: random augmentations would be frozen).
    """

    classes: tuple = ()

    def __init__(self, sample_rate=None, length=None, transform=None, target_transform=None,
                 mono=True, cache=True, split="train", train_transform=None):
        from ..transforms import Compose, build_transform

        self.sample_rate = None if sample_rate is None else int(sample_rate)
        self.length = None if length is None else int(length)
        # the training split runs its augmentation first, then the shared pipeline; the
        # others, and ktrain predict, use ``transform`` alone
        shared = build_transform(transform)
        augment = build_transform(train_transform) if split == "train" else None
        self._augmenting = augment is not None
        self.transform = shared if augment is None else (
            augment if shared is None else Compose([augment, shared]))
        self.target_transform = target_transform
        self.mono, self.cache = mono, cache
        self.cache_features = False
        self._cache, self._feature_cache = {}, {}
        self.collate_fn = pad_collate if self.length is None else None

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.files)

    def load_waveform(self, index):
        """The ``(channels, time)`` float32 waveform of sample ``index`` after mono,
        resampling and fixed length (no transform)."""
        if index in self._cache:
            return self._cache[index]
        wav, sr = load_numpy(self.files[index])
        if self.mono and wav.shape[0] > 1:
            wav = wav.mean(0, keepdims=True)
        if self.sample_rate is not None and sr != self.sample_rate:
            with kt.no_grad():
                wav = AF.resample(kt.tensor(wav), sr, self.sample_rate).numpy()
        if self.length is not None:
            wav = _fix_length(wav, self.length)
        wav = np.ascontiguousarray(wav, dtype=np.float32)
        if self.cache:
            self._cache[index] = wav
        return wav

    def features(self, wav):
        """Apply ``transform`` to a waveform array (no autograd), as a float32 array."""
        if self.transform is None:
            return wav
        with kt.no_grad():
            out = self.transform(kt.tensor(wav))
        return np.asarray(out.numpy() if isinstance(out, kt.Tensor) else out,
                          dtype=np.float32)

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            index += len(self)
        y = self.targets[index]
        if self.target_transform is not None:
            y = self.target_transform(y)
        cached = self.cache_features and not self._augmenting  # never freeze augmentation
        x = self._feature_cache.get(index) if cached else None
        if x is None:
            x = self.features(self.load_waveform(index))
            if cached:
                self._feature_cache[index] = x
        return x, y

    def __repr__(self):
        return (f"{type(self).__name__}(split={getattr(self, 'split', None)!r}, "
                f"n={len(self)}, classes={len(self.classes)}, sample_rate={self.sample_rate})")


def _fix_length(wav, length):
    n = wav.shape[-1]
    if n >= length:
        return wav[..., :length]
    return np.pad(wav, [(0, 0)] * (wav.ndim - 1) + [(0, length - n)])


def stratified_split(targets, split, val_fraction, test_fraction, seed):
    """Indices of ``split`` in a per-class seeded shuffle: the first ``test_fraction`` of
    each class is test, the next ``val_fraction`` val, the rest train (deterministic,
    disjoint, independent of the global RNG)."""
    targets = np.asarray(targets)
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(targets):
        idx = np.flatnonzero(targets == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = round(len(idx) * test_fraction)
        n_val = round(len(idx) * val_fraction)
        part = {"test": idx[:n_test], "val": idx[n_test:n_test + n_val],
                "train": idx[n_test + n_val:]}[split]
        picked.append(part)
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


# ---------------------------------------------------------------------- downloads
def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_and_extract(url: str, root: str, sha256: str | None, what: str) -> None:
    """Download ``url`` into ``root`` (checking ``sha256``) and extract it there. Errors
    say what to do offline: put the extracted files at the expected place."""
    os.makedirs(root, exist_ok=True)
    archive = os.path.join(root, os.path.basename(url))
    if not os.path.exists(archive):
        tmp = archive + ".part"
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
                while True:
                    chunk = r.read(1 << 20)
                    if not chunk:
                        break
                    f.write(chunk)
        except (urllib.error.URLError, OSError) as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise RuntimeError(
                f"{what}: cannot download {url} ({e}). Without network access, fetch the "
                f"archive elsewhere and extract it under '{root}'.") from None
        os.replace(tmp, archive)
    if sha256 is not None:
        got = _sha256(archive)
        if got != sha256:
            raise RuntimeError(f"{what}: checksum mismatch for '{archive}': sha256 {got}, "
                               f"expected {sha256}. Delete the file and download again.")
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(root)
    else:
        with tarfile.open(archive) as t:
            t.extractall(root, filter="data")


def missing_error(what, path, url):
    return FileNotFoundError(
        f"{what}: dataset not found at '{path}'. Pass download=True to fetch it from {url}, "
        "or point root at a folder that holds it.")
