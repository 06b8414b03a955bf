"""SVHN (Street View House Numbers, cropped digits) from the ``.mat`` files.

    ds = SVHN("~/data", split="train", transform=["to_tensor"])   # (3, 32, 32), labels 0..9

``root`` (or ``root/SVHN``) holds ``train_32x32.mat``, ``test_32x32.mat`` and optionally
``extra_32x32.mat``; read with ``scipy.io.loadmat`` (MATLAB v5 files: plain arrays, no code).
Label 10 in the files means digit 0 and is mapped to 0, as torchvision does.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ._base import (
    ArrayImageDataset,
    DatasetNotFoundError,
    check_fraction,
    check_split,
    split_indices,
)
from ._download import download_url

__all__ = ["SVHN"]


class SVHN(ArrayImageDataset):
    """`SVHN <http://ufldl.stanford.edu/housenumbers/>`_ cropped digits.

    ``split``: ``train`` / ``val`` (``val_fraction`` of the training file, seeded by
    ``split_seed``) / ``test`` / ``extra``. Other arguments as
    :class:`~ktrain_vision.datasets.MNIST`; ``download=True`` fetches the needed ``.mat``
    file (md5-verified).
    """

    base_url = "http://ufldl.stanford.edu/housenumbers/"
    split_list: ClassVar[dict] = {
        "train": ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
        "test": ("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
        "extra": ("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"),
    }
    classes = tuple(str(i) for i in range(10))

    def __init__(self, root, split="train", transform=None, target_transform=None,
                 download=False, *, val_fraction=0.1, split_seed=0, train_transform=None,
                 batch_transform=None):
        self.split = check_split(split, ("train", "val", "test", "extra"), "SVHN")
        super().__init__(root, transform, target_transform,
                         train_data=self.split in ("train", "extra"),
                         train_transform=train_transform, batch_transform=batch_transform)
        self.val_fraction = check_fraction(val_fraction, "val_fraction")
        self.split_seed = split_seed
        self.classes = list(self.classes)
        which = "train" if self.split == "val" else self.split
        filename, md5 = self.split_list[which]
        path = self._find(filename)
        if path is None and download:
            path = download_url(self.base_url + filename, self.root, filename, md5=md5)
        if path is None:
            raise DatasetNotFoundError(
                f"SVHN: {filename} not found in {self.root} or {Path(self.root) / 'SVHN'}. "
                f"Download {self.base_url + filename} (md5 {md5}) into {self.root}, or pass "
                f"download=True.")
        images, labels = self._read(path)
        index = None
        if self.split in ("train", "val"):
            index = split_indices(len(labels), self.split, self.val_fraction, split_seed)
        self._set_arrays(images, labels, index)
        self._finish()

    def _find(self, filename):
        for d in (Path(self.root), Path(self.root) / "SVHN"):
            if (d / filename).is_file():
                return d / filename
        return None

    @staticmethod
    def _read(path):
        try:
            import scipy.io as sio
        except ImportError:
            raise ImportError(
                f"SVHN: reading {path} needs scipy (an optional dependency of "
                f"ktrain-vision): pip install \"ktrain-vision[svhn]\" (or, from a ktrain "
                f"checkout: pip install -e \"src/vision[svhn]\")") from None
        try:
            mat = sio.loadmat(str(path))
        except Exception as e:  # noqa: BLE001 - scipy raises many kinds for bad files
            raise ValueError(f"cannot read {path}: {type(e).__name__}: {e} (corrupted file? "
                             f"delete it and download it again)") from None
        if "X" not in mat or "y" not in mat:
            raise ValueError(f"{path}: expected variables 'X' and 'y', got "
                             f"{sorted(k for k in mat if not k.startswith('__'))}")
        x, y = mat["X"], np.asarray(mat["y"]).reshape(-1).astype(np.int64)
        if x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != len(y):
            raise ValueError(f"{path}: 'X' must be (32, 32, 3, N) with N = len(y) = {len(y)}, "
                             f"got {x.shape}")
        np.place(y, y == 10, 0)
        return np.ascontiguousarray(x.transpose(3, 0, 1, 2)).astype(np.uint8, copy=False), y

    def extra_repr(self):
        return f"Classes: {len(self.classes)}"
