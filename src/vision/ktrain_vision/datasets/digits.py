"""Digits: the 8x8 handwritten digits (UCI optdigits test set, as bundled with
scikit-learn), embedded in the package: no download, no network.

    ds = Digits(split="train", transform=["to_tensor"])   # 1,257 images (1, 8, 8) float32
    Digits(split="val"), Digits(split="test")              # 270 each, disjoint

Pixel values 0..16 are scaled to 0..255 (``round(v * 255 / 16)``), so images are ordinary
8-bit 'L' PIL images. The split is stratified per class and seeded (``split_seed``):
``val_fraction`` and ``test_fraction`` of each class (default 15% each), the rest train.
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from ._base import ArrayImageDataset, check_fraction, check_split, stratified_split

__all__ = ["Digits", "load_digits_arrays"]

_DATA = Path(__file__).resolve().parent.parent / "data" / "digits.csv.gz"


@functools.lru_cache(maxsize=4)
def load_digits_arrays(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (1797, 8, 8) in 0..255, labels int64 (1797,))`` from the CSV (64
    pixel columns 0..16, then the label)."""
    p = Path(path) if path is not None else _DATA
    try:
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"cannot read the digits CSV {p}: {e}") from None
    if table.shape[1] != 65:
        raise ValueError(f"{p}: expected 65 columns (64 pixels + label), got {table.shape[1]}")
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16:
        raise ValueError(f"{p}: pixel values must be in 0..16")
    images = np.rint(pixels * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 8, 8)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


class Digits(ArrayImageDataset):
    """8x8 grey digits, 10 classes ``"0"``..``"9"``, 1,797 images in all.

    Args:
        root: ignored unless it holds a ``digits.csv(.gz)`` to use instead of the
            embedded copy (kept for the common dataset signature).
        split: ``train`` (70%), ``val`` (15%) or ``test`` (15%) by default.
        transform / target_transform / train_transform / batch_transform: as for every
            vision dataset (callables or config specs; train_* only on the train split).
        download: accepted and ignored: the data ships with the package.
        val_fraction, test_fraction, split_seed: the stratified split.
    """

    classes = tuple(str(i) for i in range(10))

    def __init__(self, root=None, split="train", transform=None, target_transform=None,
                 download=False, *, val_fraction=0.15, test_fraction=0.15, split_seed=0,
                 train_transform=None, batch_transform=None):
        self.split = check_split(split, ("train", "val", "test", "all"), "Digits")
        super().__init__(root, transform, target_transform, train_data=self.split == "train",
                         train_transform=train_transform, batch_transform=batch_transform)
        self.val_fraction = check_fraction(val_fraction, "val_fraction")
        self.test_fraction = check_fraction(test_fraction, "test_fraction")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be below 1")
        self.split_seed = split_seed
        csv = None
        if root is not None:
            for name in ("digits.csv.gz", "digits.csv"):
                if (Path(self.root) / name).is_file():
                    csv = str(Path(self.root) / name)
                    break
        images, labels = load_digits_arrays(csv)
        self.classes = list(self.classes)
        index = None
        if self.split != "all":
            index = stratified_split(labels, self.val_fraction, self.test_fraction,
                                     split_seed)[self.split]
        self._set_arrays(images, labels, index)
        self._finish()

    def extra_repr(self):
        return "Classes: 10 (8x8 grey)"
