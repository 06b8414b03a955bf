"""MNIST, FashionMNIST, KMNIST and EMNIST from IDX files (raw or gzip-compressed).

    ds = MNIST("~/data", split="train", transform=["to_tensor"])   # 54,000 images
    val = MNIST("~/data", split="val", transform=["to_tensor"])    # 6,000 (split_seed=0)
    x, y = ds[0]                                                    # (1, 28, 28) float32, int

Files are looked up in ``root/<ClassName>/raw/``, ``root/<ClassName>/`` and ``root/``,
each name with or without ``.gz`` (so ``root`` may be the folder holding the files).
"""
from __future__ import annotations

import gzip
import string
from pathlib import Path
from typing import ClassVar

import numpy as np

from ._base import (
    ArrayImageDataset,
    DatasetNotFoundError,
    check_fraction,
    first_existing,
    resolve_split,
    split_indices,
    stratified_split,
)
from ._download import DownloadError, download_and_extract_archive, download_url

__all__ = ["EMNIST", "KMNIST", "MNIST", "FashionMNIST", "read_idx"]

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
               0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a numpy array; a clear error names the file
    when it is truncated, not IDX, or not gzip although named ``.gz``."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read IDX file {path}: {e} (corrupted download? delete it "
                         f"and fetch it again)") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number "
                         f"{data[:4].hex() if data else 'empty file'})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(data, ">u4", ndim, 4))
    dt = np.dtype(_IDX_DTYPES[data[2]])
    need = int(np.prod(shape)) * dt.itemsize
    if len(data) - header != need:
        raise ValueError(f"{path}: IDX header says shape {shape} ({need} bytes of data) but the "
                         f"file holds {len(data) - header} bytes (truncated or corrupted)")
    arr = np.frombuffer(data, dt, offset=header).reshape(shape)
    return arr.astype(dt.newbyteorder("="), copy=False) if dt.byteorder == ">" else arr


class MNIST(ArrayImageDataset):
    """`MNIST <http://yann.lecun.com/exdb/mnist/>`_: 70,000 28x28 grey digits.

    Args:
        root: folder with the IDX files (see module docstring for where they may lie).
        train: without ``split``: the 60k training file (True) or the 10k test file.
        transform / target_transform: callable or config spec, applied to every split.
        download: fetch the four ``.gz`` files into ``root/<ClassName>/raw`` (verified by
            md5). Never happens unless True.
        split: ``train``/``val``/``test``: val is ``val_fraction`` of the training file
            (seeded by ``split_seed``), train the rest; overrides ``train``.
        train_transform: augmentation for training data only, run before ``transform``.
        batch_transform: MixUp/CutMix spec(s) for training batches (``collate_fn``).
        source: ``"train+test"`` (default, as above) or ``"test"``: only the test file is
            read and ``train``/``val``/``test`` are carved from it, stratified, with
            ``val_fraction`` and ``test_fraction`` (for a machine that has only the test
            file, e.g. a quick experiment on the 10k MNIST test images).
    """

    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    resources = (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))
    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False, *, split=None, val_fraction=0.1, split_seed=0,
                 train_transform=None, batch_transform=None, source="train+test",
                 test_fraction=0.2):
        self.split, is_train, which = resolve_split(split, train, type(self).__name__)
        if source not in ("train+test", "test"):
            raise ValueError(f"{type(self).__name__}: source must be 'train+test' or 'test', "
                             f"got {source!r}")
        if source == "test" and self.split is None:
            raise ValueError(f"{type(self).__name__}: source='test' needs split= (train, val "
                             f"or test)")
        self.source = source
        if source == "test":
            which = "test"
        self.train = which == "train"
        super().__init__(root, transform, target_transform, train_data=is_train,
                         train_transform=train_transform, batch_transform=batch_transform)
        self.val_fraction = check_fraction(val_fraction, "val_fraction")
        self.split_seed = split_seed
        self.classes = self._class_names()
        if download:
            self.download()
        images, labels = self._load(which)
        index = None
        if source == "test":
            fraction = check_fraction(test_fraction, "test_fraction")
            index = stratified_split(labels, self.val_fraction, fraction, split_seed)[self.split]
        elif self.split in ("train", "val"):
            index = split_indices(len(labels), self.split, self.val_fraction, split_seed)
        self._set_arrays(images, labels, index)
        self._finish()

    def _class_names(self):
        return list(type(self).classes)

    # ------------------------------------------------------------------ files
    @property
    def raw_folder(self) -> Path:
        return Path(self.root) / type(self).__name__ / "raw"

    def _file_names(self, which):
        prefix = "train" if which == "train" else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _search_dirs(self):
        r = Path(self.root)
        return [self.raw_folder, r / type(self).__name__, r]

    def _find(self, name):
        return first_existing(d / (name + ext) for d in self._search_dirs()
                              for ext in ("", ".gz"))

    def _missing_message(self, names):
        urls = ", ".join(self.mirrors[0] + n + ".gz" for n in names)
        return (f"{type(self).__name__}: dataset files not found: "
                f"{', '.join(n + '(.gz)' for n in names)}. Looked in: "
                f"{', '.join(str(d) for d in self._search_dirs())}. Place the files in "
                f"{self.raw_folder} (download them from {urls}) or pass download=True.")

    def _load(self, which):
        names = self._file_names(which)
        paths = [self._find(n) for n in names]
        missing = [n for n, p in zip(names, paths) if p is None]
        if missing:
            raise DatasetNotFoundError(self._missing_message(missing))
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{paths[0]}: expected uint8 images (N, H, W), got {images.dtype} "
                             f"{images.shape}")
        if labels.ndim != 1:
            raise ValueError(f"{paths[1]}: expected labels (N,), got shape {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{paths[0]} has {len(images)} images but {paths[1]} has "
                             f"{len(labels)} labels")
        return images, labels

    def download(self):
        """Fetch the ``.gz`` files (first working mirror) into :attr:`raw_folder`."""
        for filename, md5 in self.resources:
            if self._find(filename[:-3]) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                try:
                    download_url(mirror + filename, self.raw_folder, filename, md5=md5)
                    break
                except DownloadError as e:
                    errors.append(e)
            else:
                raise DownloadError(f"{type(self).__name__}: every mirror failed for {filename} "
                                    f"({', '.join(self.mirrors)}). Last error: {errors[-1]}")

    def extra_repr(self):
        return f"Classes: {len(self.classes)}"


class FashionMNIST(MNIST):
    """`Fashion-MNIST <https://github.com/zalandoresearch/fashion-mnist>`_ (same layout as
    :class:`MNIST`)."""

    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    resources = (("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


class KMNIST(MNIST):
    """`Kuzushiji-MNIST <https://github.com/rois-codh/kmnist>`_ (same layout as
    :class:`MNIST`)."""

    mirrors = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)
    resources = (("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
                 ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
                 ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
                 ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"))
    classes = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


_MERGED = set("cijklmopsuvwxyz")
_ALL = set(string.digits + string.ascii_letters)


class EMNIST(MNIST):
    """`EMNIST <https://www.nist.gov/itl/products-and-services/emnist-dataset>`_: the
    variants byclass (62 classes), bymerge/balanced (47), letters (26, labels 1..26 with a
    'N/A' class 0), digits and mnist (10).

    The torchvision argument ``split`` names the variant; here the variant is
    ``variant=`` and ``split`` is the train/val/test split of the fit contract. A variant
    name given as ``split`` (``EMNIST(root, "letters")``) is accepted for torchvision
    compatibility. Files: ``emnist-<variant>-{train,test}-{images-idx3,labels-idx1}-ubyte``
    (raw or .gz) in ``root/EMNIST/raw`` (or ``.../raw/gzip``, ``root/EMNIST``, ``root``).
    Images are stored transposed in EMNIST and kept as they are (as torchvision does).
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    variants = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    classes_split_dict: ClassVar[dict] = {
        "byclass": sorted(_ALL),
        "bymerge": sorted(_ALL - _MERGED),
        "balanced": sorted(_ALL - _MERGED),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split=None, *, variant="balanced", train=True, transform=None,
                 target_transform=None, download=False, val_fraction=0.1, split_seed=0,
                 train_transform=None, batch_transform=None, source="train+test",
                 test_fraction=0.2):
        if split in self.variants:
            variant, split = split, None
        if variant not in self.variants:
            raise ValueError(f"EMNIST: unknown variant {variant!r}; one of: "
                             f"{', '.join(self.variants)}")
        self.variant = variant
        super().__init__(root, train, transform, target_transform, download, split=split,
                         val_fraction=val_fraction, split_seed=split_seed,
                         train_transform=train_transform, batch_transform=batch_transform,
                         source=source, test_fraction=test_fraction)

    def _class_names(self):
        return list(self.classes_split_dict[self.variant])

    def _file_names(self, which):
        p = f"emnist-{self.variant}-{'train' if which == 'train' else 'test'}"
        return f"{p}-images-idx3-ubyte", f"{p}-labels-idx1-ubyte"

    def _search_dirs(self):
        r = Path(self.root)
        return [self.raw_folder, self.raw_folder / "gzip", r / "EMNIST", r / "EMNIST" / "gzip",
                r, r / "gzip"]

    def _missing_message(self, names):
        return (f"EMNIST: dataset files not found: {', '.join(n + '(.gz)' for n in names)}. "
                f"Looked in: {', '.join(str(d) for d in self._search_dirs())}. Download "
                f"{self.url} (md5 {self.md5}), unzip it into {self.raw_folder} (the gzip/ "
                f"folder may stay), or pass download=True.")

    def download(self):
        names = self._file_names("train") + self._file_names("test")
        if all(self._find(n) is not None for n in names):
            return
        download_and_extract_archive(self.url, self.raw_folder, filename="gzip.zip",
                                     md5=self.md5)

    def extra_repr(self):
        return f"Variant: {self.variant}\nClasses: {len(self.classes)}"
