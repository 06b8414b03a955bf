"""CIFAR-10 and CIFAR-100 from the binary distribution or, safely, the python one.

    ds = CIFAR10("~/data", split="train", transform=["to_tensor"])  # 45,000 (3, 32, 32)

``root`` holds ``cifar-10-batches-bin/`` (binary: ``data_batch_1.bin`` ... ``test_batch.bin``)
or ``cifar-10-batches-py/`` (pickled python dicts); for CIFAR-100 ``cifar-100-binary/``
(``train.bin``, ``test.bin``) or ``cifar-100-python/`` (``train``, ``test``, ``meta``).
The binary files are preferred. Pickles are read with :func:`safe_unpickle`, which builds
only dicts, lists, strings, bytes, numbers and plain numpy arrays: any other global (a
function, a class) is refused before anything runs. ``download=True`` fetches the binary
distribution.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from ._base import (
    ArrayImageDataset,
    DatasetNotFoundError,
    check_fraction,
    resolve_split,
    split_indices,
)
from ._download import download_and_extract_archive

__all__ = ["CIFAR10", "CIFAR100", "safe_unpickle"]


# ----------------------------------------------------------------------------- safe pickle
def _no_object(dt):
    dt = np.dtype(dt)
    if dt.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dt


def _reconstruct(subtype, shape, dtype_code):
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError("only plain numpy arrays are allowed")
    return np.ndarray.__new__(np.ndarray, shape, _no_object(dtype_code))


class _SafeDType:
    """Stands in for ``numpy.dtype`` in a pickle: builds a dtype, refusing object dtypes
    (whose arrays would unpickle arbitrary objects)."""

    def __new__(cls, obj, align=False, copy=False):
        return _no_object(np.dtype(obj, align, copy))


def _frombuffer(buf, dtype, shape, order):
    return np.frombuffer(buf, _no_object(dtype)).reshape(shape, order=order).copy()


def _scalar(dtype, data=None):
    dt = _no_object(dtype)
    return np.frombuffer(data if isinstance(data, bytes) else data.encode("latin1"), dt)[0]


def _encode(text, encoding="utf-8"):
    """``_codecs.encode``: how python 3 pickles bytes at protocol 2 (str -> bytes only)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError("only str -> bytes encoding is allowed")
    return text.encode(encoding)


_ALLOWED = {
    ("_codecs", "encode"): _encode,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _SafeDType,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f, source):
        super().__init__(f, encoding="latin1")
        self._source = source

    def find_class(self, module, name):
        fn = _ALLOWED.get((module, name))
        if fn is None:
            raise pickle.UnpicklingError(
                f"{self._source}: refusing to load global {module}.{name} (only plain "
                f"containers and numpy arrays are allowed in dataset pickles)")
        return fn

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(f"{self._source}: persistent ids are not allowed")


def safe_unpickle(path):
    """Load a pickle that may hold only dicts, lists, tuples, str, bytes, numbers and plain
    numpy arrays; anything else raises ``pickle.UnpicklingError`` naming the file."""
    data = Path(path).read_bytes()
    try:
        return _RestrictedUnpickler(io.BytesIO(data), str(path)).load()
    except pickle.UnpicklingError as e:
        if str(path) in str(e):
            raise
        raise pickle.UnpicklingError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - truncated/corrupted data, bad array states ...
        raise pickle.UnpicklingError(f"{path}: not a valid dataset pickle ({type(e).__name__}: "
                                     f"{e})") from None


# ----------------------------------------------------------------------------- datasets
def _read_binary(path, label_bytes):
    rec = label_bytes + 3072
    raw = np.fromfile(path, np.uint8)
    if raw.size == 0 or raw.size % rec:
        raise ValueError(f"{path}: size {raw.size} bytes is not a multiple of the CIFAR record "
                         f"size {rec} (truncated or corrupted file)")
    raw = raw.reshape(-1, rec)
    labels = raw[:, label_bytes - 1].astype(np.int64)  # the fine label is the last label byte
    images = raw[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def _read_pickle(path, label_key):
    d = safe_unpickle(path)
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a dict, got {type(d).__name__}")  # noqa: TRY004
    d = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or label_key not in d:
        raise ValueError(f"{path}: expected keys 'data' and {label_key!r}, got {sorted(d)}")
    data = np.asarray(d["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: 'data' must be uint8 (N, 3072), got {data.dtype} "
                         f"{data.shape}")
    labels = np.asarray(d[label_key], dtype=np.int64)
    if labels.shape != (len(data),):
        raise ValueError(f"{path}: {len(data)} images but {labels.size} labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


class CIFAR10(ArrayImageDataset):
    """`CIFAR-10 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 60,000 32x32 RGB images,
    10 classes. Arguments as :class:`~ktrain_vision.datasets.MNIST` (``train``, ``split``,
    ``val_fraction``, ``split_seed``, ``transform``, ``train_transform``, ...)."""

    bin_folder = "cifar-10-batches-bin"
    py_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    train_bin = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    test_bin = ("test_batch.bin",)
    train_py = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_py = ("test_batch",)
    label_bytes = 1
    label_key = "labels"
    meta = ("batches.meta.txt", "batches.meta", "label_names")
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False, *, split=None, val_fraction=0.1, split_seed=0,
                 train_transform=None, batch_transform=None):
        self.split, is_train, which = resolve_split(split, train, type(self).__name__)
        self.train = which == "train"
        super().__init__(root, transform, target_transform, train_data=is_train,
                         train_transform=train_transform, batch_transform=batch_transform)
        self.val_fraction = check_fraction(val_fraction, "val_fraction")
        self.split_seed = split_seed
        if download:
            self.download()
        images, labels, folder, kind = self._load(which)
        self.classes = self._read_classes(folder, kind)
        index = None
        if self.split in ("train", "val"):
            index = split_indices(len(labels), self.split, self.val_fraction, split_seed)
        self._set_arrays(images, labels, index)
        self._finish()

    def _folders(self):
        r = Path(self.root)
        return [(r / self.bin_folder, "bin"), (r / self.py_folder, "py"), (r, "bin"), (r, "py")]

    def _load(self, which):
        for folder, kind in self._folders():
            names = (self.train_bin if which == "train" else self.test_bin) if kind == "bin" \
                else (self.train_py if which == "train" else self.test_py)
            paths = [folder / n for n in names]
            if not all(p.is_file() for p in paths):
                continue
            parts = [_read_binary(p, self.label_bytes) if kind == "bin"
                     else _read_pickle(p, self.label_key) for p in paths]
            return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    folder, kind)
        names = list(self.train_bin) + list(self.test_bin)
        raise DatasetNotFoundError(
            f"{type(self).__name__}: dataset files not found under {self.root}: expected "
            f"{Path(self.root) / self.bin_folder}/{{{','.join(names)}}} (binary version) or "
            f"{Path(self.root) / self.py_folder}/ (python version). Download {self.url} "
            f"(md5 {self.tgz_md5}) and extract it into {self.root}, or pass download=True.")

    def _read_classes(self, folder, kind):
        txt, pkl, key = self.meta
        try:
            if kind == "bin" and (folder / txt).is_file():
                names = [ln.strip() for ln in (folder / txt).read_text().splitlines()
                         if ln.strip()]
            elif kind == "py" and (folder / pkl).is_file():
                d = safe_unpickle(folder / pkl)
                names = [n.decode() if isinstance(n, bytes) else str(n)
                         for n in d.get(key, d.get(key.encode(), []))]
            else:
                names = []
        except (OSError, pickle.UnpicklingError, AttributeError):
            names = []
        return names if len(names) == len(type(self).classes) else list(type(self).classes)

    def download(self):
        """Fetch and extract the binary distribution into ``root`` (md5-verified)."""
        try:
            self._load("train")
            self._load("test")
            return
        except DatasetNotFoundError:
            pass
        download_and_extract_archive(self.url, self.root, md5=self.tgz_md5)

    def extra_repr(self):
        return f"Classes: {len(self.classes)}"


class CIFAR100(CIFAR10):
    """`CIFAR-100 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 100 fine classes
    (targets are the fine labels)."""

    bin_folder = "cifar-100-binary"
    py_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    tgz_md5 = "03b5dce01913d631647c71ecec9e9cb8"
    train_bin = ("train.bin",)
    test_bin = ("test.bin",)
    train_py = ("train",)
    test_py = ("test",)
    label_bytes = 2
    label_key = "fine_labels"
    meta = ("fine_label_names.txt", "meta", "fine_label_names")
    classes = (
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
        "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel",
        "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
        "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
        "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard",
        "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
        "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
        "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit",
        "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew",
        "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
        "sunflower", "sweet_pepper", "table", "tank", "telephone", "television",
        "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
        "willow_tree", "wolf", "woman", "worm",
    )
