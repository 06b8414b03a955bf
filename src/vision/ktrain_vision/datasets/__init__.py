"""Vision datasets with torchvision's names, plus ktrain's split/transform conventions.

Every dataset gives ``(image, target)`` samples (a PIL image until a transform makes it a
tensor; ``target`` an int) and has ``classes``, ``class_to_idx``, ``targets``,
``num_classes``, ``transform`` (the effective pipeline of its split) and ``collate_fn``.
``split`` is ``train``/``val``/``test`` (deterministic, disjoint); ``transform`` applies to
every split, ``train_transform`` and ``batch_transform`` (MixUp/CutMix) only to training
data. Transforms may be callables or config specs (``["to_tensor", {name: normalize,
mean: [0.5], std: [0.5]}]``). Nothing is ever downloaded unless ``download=True``.

    from ktrain_vision.datasets import Digits
    train = Digits(split="train", transform=["to_tensor"])
    x, y = train[0]                       # (1, 8, 8) float32 tensor, int
"""
from ._base import DatasetNotFoundError, VisionDataset
from ._download import (
    DownloadError,
    check_integrity,
    download_and_extract_archive,
    download_url,
    extract_archive,
)
from .cifar import CIFAR10, CIFAR100, safe_unpickle
from .digits import Digits
from .fakedata import FakeData
from .folder import (
    IMG_EXTENSIONS,
    DatasetFolder,
    ImageFolder,
    default_loader,
    find_classes,
    make_dataset,
    pil_loader,
)
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST, read_idx
from .svhn import SVHN

__all__ = [
    "CIFAR10", "CIFAR100", "EMNIST", "IMG_EXTENSIONS", "KMNIST", "MNIST", "SVHN",
    "DatasetFolder", "DatasetNotFoundError", "Digits", "DownloadError", "FakeData",
    "FashionMNIST", "ImageFolder", "VisionDataset", "check_integrity", "default_loader",
    "download_and_extract_archive", "download_url", "extract_archive", "find_classes",
    "make_dataset", "pil_loader", "read_idx", "safe_unpickle",
]
